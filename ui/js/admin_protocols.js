// admin_protocols.js: the protocol versions the server holds, for an admin:
// which are approved (by their installation, or by whom and when) and which
// wait; approving one is a signature (the password again) after which new
// visits may start on it. The approval shows what the version changes from
// the newest approved one of its protocol, in clinical terms (vigil protocol
// diff), and asks the approver to confirm each change to the prescription
// (docs/safety.md, F7), and that they have read each safety control it
// removes or weakens (K6). Whoever uploaded a version does not approve it
// (V5): a second person does.
import { get, post } from "./api.js";
import { h, clear } from "./dom.js";
import { dateTime } from "./format.js";
import { load } from "./protocols.js";
import { ask, showError } from "./dialog.js";
import { current } from "./session.js";

function approval(p) {
  if (!p.approved)
    return [h("span", { class: "badge badge-now" }, "Waiting for approval"),
      p.uploaded_by ? h("span", { class: "muted" }, ` uploaded by ${p.uploaded_by}`) : null];
  if (p.approved.by === "installation") return "Installed with the server";
  return `Approved by ${p.approved.by}, ${dateTime(new Date(p.approved.at_ms).toISOString())}`;
}

// The clinical diff as a block: the prescription's changes first, each to
// be confirmed, then the whole report.
function diffDetail(d) {
  const weakened = d.weakened || [];
  const code = d.code_changed || [];
  return h("div", { class: "protocol-diff" },
    weakened.length
      ? h("div", { class: "weakened-controls", role: "note" },
          h("p", {}, h("strong", {}, `It removes or weakens safety controls (${weakened.length}):`)),
          h("ul", {}, weakened.map((l) => h("li", {}, l.replace(/^\s*!\s*/, "")))))
      : null,
    code.length
      ? h("div", { class: "code-changed", role: "note" },
          h("p", {}, h("strong", {}, `It changes code that no case of the diff may show weaker (${code.length}): `),
            "a gate or a rule can read what the diff does not vary (the visit, another answer, the time of day). Read each change below."),
          h("ul", {}, code.map((l) => h("li", {}, l.trim()))))
      : null,
    d.prescribed.length
      ? h("div", { class: "prescribed-changes", role: "note" },
          h("p", {}, h("strong", {}, `It changes the prescription (${d.prescribed.length}):`)),
          h("ul", {}, d.prescribed.map((l) => h("li", {}, l.trim()))))
      : h("p", {}, "It changes no prescribed param."),
    d.against
      ? h("details", { open: d.lines.length <= 40 }, h("summary", {}, `Every change from ${d.against} (the newest approved)`),
          h("pre", { class: "diff", tabindex: "0" }, d.lines.join("\n")))
      : h("p", {}, `No approved version of ${d.ref.split("@")[0]} before it: everything in it is new.`));
}

// The diff of a version. One not computed yet while the server computes
// another is 503 busy with Retry-After, and past a user's share of costly
// reads 429 too_many_reads with Retry-After (docs/http.md): asked again
// after it, for up to a minute, not shown as an error (X8). An approval
// whose diff the server does not hold (it restarted since the dialog read
// it) is 503 diff_pending while the server computes it (AM2): asked again
// the same way.
const DIFF_WAIT_MS = 60000;
const ASK_AGAIN = { 503: ["busy", "diff_pending"], 429: ["too_many_reads"] };
async function askedAgain(request) {
  const until = Date.now() + DIFF_WAIT_MS;
  for (;;) {
    try {
      return await request();
    } catch (err) {
      const again = (ASK_AGAIN[err.status] || []).includes(err.code);
      if (!again || Date.now() > until) throw err;
      await new Promise((resolve) => setTimeout(resolve, (err.retryAfter || 1) * 1000));
    }
  }
}
const diffOf = (ref) => askedAgain(() => get(`/protocols/${ref}/diff`));

// refused: the server's 422 confirmation_required on confirm_weakened or
// confirm_code_changed ({field, reasons}), when the diff read before did
// not list them.
async function approve(main, p, refusedBefore) {
  let d;
  try {
    d = await diffOf(p.ref);
  } catch (err) {
    showError(err);
    return;
  }
  if (refusedBefore && refusedBefore.field === "confirm_weakened") d.weakened = refusedBefore.reasons;
  if (refusedBefore && refusedBefore.field === "confirm_code_changed") d.code_changed = refusedBefore.reasons;
  const confirm = d.prescribed.length ? h("input", { type: "checkbox", name: "confirm_prescribed" }) : null;
  const confirmWeak = d.weakened && d.weakened.length ? h("input", { type: "checkbox", name: "confirm_weakened" }) : null;
  const confirmCode = d.code_changed && d.code_changed.length
    ? h("input", { type: "checkbox", name: "confirm_code_changed" }) : null;
  let refused = null;
  await ask({
    title: `Approve ${p.title} ${p.version}`,
    text: `Fingerprint ${p.sha256}. Once approved, new visits on ${p.id} start on it.`,
    detail: diffDetail(d),
    fields: [
      ...(confirm ? [{ name: "confirm_prescribed", label: "I have checked each change to the prescription above", input: confirm }] : []),
      ...(confirmWeak ? [{ name: "confirm_weakened", label: "I have read these removed or weakened safety controls", input: confirmWeak }] : []),
      ...(confirmCode ? [{ name: "confirm_code_changed", label: "I have read each changed gate, rule and condition above", input: confirmCode }] : []),
      { name: "password", label: "Your password (asked again to sign)", type: "password", required: true, autocomplete: "current-password" },
    ],
    submit: "Sign the approval",
    action: async (v) => {
      if (confirm && !confirm.checked)
        throw Object.assign(new Error("Confirm the changes to the prescription first"), { field: "confirm_prescribed" });
      if (confirmWeak && !confirmWeak.checked)
        throw Object.assign(new Error("Confirm that you have read the removed or weakened safety controls first"), { field: "confirm_weakened" });
      if (confirmCode && !confirmCode.checked)
        throw Object.assign(new Error("Confirm that you have read each changed gate, rule and condition first"), { field: "confirm_code_changed" });
      try {
        return await askedAgain(() => post(`/protocols/${p.ref}/approve`, { password: v.password,
          ...(confirm ? { confirm_prescribed: true } : {}), ...(confirmWeak ? { confirm_weakened: true } : {}),
          ...(confirmCode ? { confirm_code_changed: true } : {}) }));
      } catch (err) {
        // What the dialog did not show: shown again with it, to confirm.
        if (err.code === "confirmation_required" &&
            ((err.field === "confirm_weakened" && !confirmWeak) || (err.field === "confirm_code_changed" && !confirmCode))) {
          refused = { field: err.field, reasons: err.reasons };
          return null;
        }
        throw err;
      }
    },
  });
  if (refused) return approve(main, p, refused);
  draw(main);
}

async function draw(main) {
  let list;
  try {
    list = await load(true);
  } catch (err) {
    showError(err);
    return;
  }
  clear(main).append(h("h1", {}, "Protocols"),
    h("table", { class: "protocols-table" },
      h("caption", {}, "Protocol versions on this server"),
      h("thead", {}, h("tr", {}, ["Protocol", "Version", "Approval", ""].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, list.map((p) => h("tr", { dataset: { ref: p.ref } },
        h("th", { scope: "row" }, p.title, h("span", { class: "muted" }, ` ${p.id}`)),
        h("td", {}, p.version),
        h("td", {}, approval(p)),
        h("td", {}, p.approved ? null : approveCell(main, p)))))));
}

// Two people (docs/security.md V5): whoever uploaded a version does not
// approve it; the server refuses it too (409 uploader_approves).
function approveCell(main, p) {
  const me = current();
  if (p.uploaded_by && me && me.name === p.uploaded_by)
    return h("span", { class: "muted uploader-approves" }, "You uploaded it: another admin approves it");
  return h("button", { type: "button", onclick: () => approve(main, p) }, "Approve\u2026");
}

export function render(main) {
  clear(main).append(h("h1", {}, "Protocols"), h("p", {}, "Loading\u2026"));
  return draw(main);
}
