// dialog.js: one modal dialog for everything that needs a second step: a
// reason, a password asked again, a corrected value. The action runs from
// the dialog; if the server refuses, its message shows next to the field it
// names and the dialog stays open with what was typed.
import { h, clear, uid } from "./dom.js";
import { away } from "./downtime.js";
import { moreReasons } from "./errors.js";

// fields: [{name, label, type ("text", "password", "textarea", "number"),
// required, hint, value, autocomplete, input (a ready element)}].
// action(values) runs on submit; its result resolves the promise. Escape or
// Cancel resolves null.
// detail: an element shown under the text (what a signature attests).
// patient: the patient the action is for, named in the title (X9: a dialog
// left open across a page change must say whose it is).
export function ask({ title, patient, text, detail, fields, submit, danger, action }) {
  const dlg = document.getElementById("dialog");
  clear(dlg);
  const errors = {};
  const inputs = {};
  const general = h("p", { class: "error", role: "alert", hidden: true });
  // novalidate: a required field left empty is said at the field (below), in
  // words, not by the browser's bubble alone (W13).
  const form = h("form", { method: "dialog", class: "dialog-form", novalidate: true },
    h("h2", { id: "dialog-title" }, title, patient ? h("span", { class: "dialog-patient" }, ` \u2014 ${patient}`) : null),
    text ? h("p", {}, text) : null,
    detail || null,
    fields.map((f) => {
      const id = uid("dlg");
      const errId = id + "-err";
      const hintId = f.hint ? id + "-hint" : null;
      const input = f.input || (f.type === "textarea"
        ? h("textarea", { id, name: f.name, required: f.required, rows: 3 })
        : h("input", { id, name: f.name, type: f.type || "text", required: f.required, autocomplete: f.autocomplete || "off", step: f.type === "number" ? "any" : null }));
      input.id = input.id || id;
      if (f.value !== undefined && !f.input) input.value = f.value;
      input.setAttribute("aria-describedby", [hintId, errId].filter(Boolean).join(" "));
      inputs[f.name] = input;
      errors[f.name] = h("p", { class: "error", id: errId, hidden: true });
      return h("div", { class: "field" },
        h("label", { for: input.id }, f.label),
        hintId ? h("p", { class: "hint", id: hintId }, f.hint) : null,
        input, errors[f.name]);
    }),
    general,
    h("div", { class: "actions" },
      h("button", { type: "button", class: "quiet", value: "cancel", onclick: () => dlg.close("cancel") }, "Cancel"),
      h("button", { type: "submit", class: danger ? "danger" : "primary" }, submit || "OK")));
  dlg.append(form);
  return new Promise((resolve) => {
    let result = null;
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      for (const el of Object.values(errors)) el.hidden = true;
      general.hidden = true;
      const values = {};
      for (const [name, input] of Object.entries(inputs)) values[name] = input.value;
      const empty = fields.find((f) => f.required && !String(values[f.name]).trim());
      if (empty) {
        errors[empty.name].textContent = `${empty.label} is required.`;
        errors[empty.name].hidden = false;
        inputs[empty.name].setAttribute("aria-invalid", "true");
        inputs[empty.name].focus();
        return;
      }
      const busy = form.querySelector("button[type=submit]");
      busy.disabled = true;
      try {
        result = action ? await action(values) : values;
        // Not another dialog opened since (this one was closed by a page change).
        if (form.isConnected) dlg.close("ok");
      } catch (err) {
        const target = err.field && (errors[err.field] || errors[Object.keys(errors).find((n) => err.field.endsWith(n))]);
        const shown = target || general;
        shown.textContent = err.message + moreReasons(err);
        shown.hidden = false;
        const input = target && inputs[Object.keys(errors).find((n) => errors[n] === target)];
        if (input) {
          input.setAttribute("aria-invalid", "true");
          input.focus();
        }
      } finally {
        // The server went away meanwhile: the button waits for it (downtime.js).
        if (away()) busy.dataset.downtime = "1";
        else busy.disabled = false;
      }
    });
    dlg.addEventListener("close", () => resolve(dlg.returnValue === "ok" ? result : null), { once: true });
    dlg.showModal();
    const first = form.querySelector("input, textarea, select");
    if (first) first.focus();
  });
}

// A page change (the Back button, a link, the page drawn for another visit)
// closes an open dialog as Cancel does, sending nothing: its action was for
// what the page showed when it was opened (X9).
export function dismiss() {
  const dlg = document.getElementById("dialog");
  if (dlg.open) dlg.close("cancel");
}

// A failure with nowhere better to go: a dismissable message at the top of
// the page.
export function showError(err) {
  const main = document.getElementById("main");
  let box = document.getElementById("page-error");
  if (!box) {
    box = h("div", { id: "page-error", class: "page-error", role: "alert" });
    main.prepend(box);
  }
  clear(box).append(h("span", {}, err.message || String(err)),
    h("button", { type: "button", class: "quiet", onclick: () => box.remove() }, "Dismiss"));
}
