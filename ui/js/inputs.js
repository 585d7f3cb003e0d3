// inputs.js: the input that fits each kind of item, and reading it back as
// the value the API takes. Every input carries data-field as the API names
// it ("dose", "baseline.sbp") so that a refusal lands next to it.
import { h, uid } from "./dom.js";
import { fieldName, unit } from "./format.js";
import { errorSlot } from "./errors.js";

// A row of big buttons (radios underneath: arrow keys move between them).
function buttons(name, field, options, legend, hideLegend) {
  const errId = uid("err");
  return h("fieldset", { class: "buttons", "aria-describedby": errId },
    h("legend", { class: hideLegend ? "visually-hidden" : null }, legend),
    h("div", { class: "button-row" },
      options.map((o, i) => {
        const id = uid("opt");
        return h("span", { class: "option" },
          h("input", { type: "radio", id, name, value: String(o.value), dataset: i === 0 ? { field } : {} }),
          h("label", { for: id }, o.label));
      })),
    errorSlot(h, field, errId));
}

function numberInput(field, spec, label, hideLabel) {
  const id = uid("num");
  const errId = id + "-err";
  const hintId = id + "-hint";
  const range = spec.range ? `${spec.range[0]}\u2013${spec.range[1]}` : "";
  return h("div", { class: "field number" },
    h("label", { for: id, class: hideLabel ? "visually-hidden" : null }, label),
    h("div", { class: "with-unit" },
      h("input", { id, type: "number", inputmode: "decimal", step: "any", dataset: { field }, "aria-describedby": `${hintId} ${errId}`,
        min: spec.range ? spec.range[0] : null, max: spec.range ? spec.range[1] : null }),
      spec.unit && unit(spec.unit) ? h("span", { class: "unit" }, unit(spec.unit)) : null),
    h("p", { class: "hint", id: hintId }, range ? `plausible ${range}` : ""),
    errorSlot(h, field, errId));
}

// A score's point, and what it means when the protocol says ("2", "moves 4
// extremities"): the number stays the button's first word.
function pointLabel(p) {
  return p.label ? [h("b", {}, String(p.value)), h("span", { class: "point-label" }, p.label)] : String(p.value);
}

// A score's total is computed by the server, never entered.
function entered(item) {
  return item.kind === "score" ? item.fields.filter((f) => f.name !== "total") : item.fields;
}

// The controls of an item (not signatures: they are signed in a dialog).
export function controls(item) {
  const f0 = item.fields[0];
  const name = uid(item.id);
  switch (item.kind) {
    case "check":
      return buttons(name, item.id, [{ value: true, label: "Yes" }, { value: false, label: "No" }], item.title, true);
    case "choice":
      return buttons(name, item.id, f0.options.map((o) => ({ value: o, label: o })), item.title, true);
    case "number":
      return numberInput(item.id, f0, item.title, true);
    case "text": {
      const id = uid("text");
      return h("div", { class: "field" }, h("label", { for: id, class: "visually-hidden" }, item.title),
        h("textarea", { id, rows: 2, dataset: { field: item.id }, "aria-describedby": id + "-err" }), errorSlot(h, item.id, id + "-err"));
    }
    case "vitals":
      return h("fieldset", { class: "vitals-form" }, h("legend", { class: "visually-hidden" }, item.title),
        h("div", { class: "vitals-grid" }, item.fields.map((f) => numberInput(`${item.id}.${f.name}`, f, fieldName(f.name)))));
    case "score": {
      const total = h("output", { class: "score-total", "aria-live": "polite" });
      const box = h("fieldset", { class: "score-form" }, h("legend", { class: "visually-hidden" }, item.title),
        entered(item).map((f) => {
          const values = (f.points || []).map((p) => ({ value: p.value, label: pointLabel(p) }));
          const legend = f.title || fieldName(f.name);
          return values.length > 1 && values.length <= 11
            ? buttons(uid(`${item.id}-${f.name}`), `${item.id}.${f.name}`, values, legend)
            : numberInput(`${item.id}.${f.name}`, f, legend);
        }),
        h("p", {}, "Total: ", total));
      box.addEventListener("change", () => {
        const v = read(item, box);
        total.textContent = Object.values(v).reduce((s, x) => s + (typeof x === "number" ? x : 0), 0);
      });
      return box;
    }
    default:
      return null;
  }
}

function readOne(root, field, kind) {
  const radio = root.querySelector(`[data-field="${CSS.escape(field)}"]`);
  if (!radio) return undefined;
  if (radio.type === "radio") {
    const checked = root.querySelector(`input[name="${CSS.escape(radio.name)}"]:checked`);
    if (!checked) return undefined;
    if (kind === "check") return checked.value === "true";
    return kind === "number" ? Number(checked.value) : checked.value;
  }
  const raw = radio.value.trim();
  if (raw === "") return undefined;
  return kind === "number" ? Number(raw) : raw;
}

// The item's value from its controls: undefined when nothing is entered; a
// partial vitals object when some fields are (the server names what is
// missing).
export function read(item, root) {
  if (item.kind === "vitals" || item.kind === "score") {
    const v = {};
    for (const f of entered(item)) {
      const x = readOne(root, `${item.id}.${f.name}`, f.kind);
      if (x !== undefined) v[f.name] = x;
    }
    return Object.keys(v).length ? v : undefined;
  }
  return readOne(root, item.id, item.kind === "check" ? "check" : item.fields[0].kind);
}

// Puts a value into the controls (amending starts from the current value).
export function fill(item, root, value) {
  const put = (field, x) => {
    const el = root.querySelector(`[data-field="${CSS.escape(field)}"]`);
    if (!el) return;
    if (el.type === "radio") {
      for (const r of root.querySelectorAll(`input[name="${CSS.escape(el.name)}"]`)) r.checked = r.value === String(x);
    } else {
      el.value = x === undefined ? "" : String(x);
    }
  };
  if (value && typeof value === "object") for (const f of item.fields) put(`${item.id}.${f.name}`, value[f.name]);
  else put(item.id, value);
}
