// errors.js: the server's refusal shown next to the field it names. A field
// in a form carries data-field (as the API names it: "weight", "patient",
// "vitals.dbp", "moaas") and an element .error[data-error-for] beside it;
// a refusal that names no field of the form shows in the form's general
// error slot (.error[data-error-for=""]). Its units read as on the labels
// ("mmHg", not the protocol's UCUM "mm[Hg]").
import { unitsInWords } from "./format.js";

export function clearErrors(form) {
  for (const el of form.querySelectorAll(".error[data-error-for]")) {
    el.hidden = true;
    el.textContent = "";
  }
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
}

function escape(s) {
  return CSS.escape(s);
}

// The message with the field's label for the API's name it starts with:
// "Systolic BP: 400 is outside ...", not "baseline.sbp: 400 ..." (X8).
function inWords(err, input) {
  const msg = err.message || "";
  if (!err.field || !msg.startsWith(`${err.field}: `)) return msg;
  const label = input && input.labels && input.labels[0] ? input.labels[0].textContent.trim() : "";
  return label ? `${label}: ${msg.slice(err.field.length + 2)}` : msg;
}

// The reasons a refusal gives (a 409 gate_not_met's) that its message does
// not say already, after ": "; "" when it says them all (AK10: the gate's
// message lists them, and a refused discharge said each twice).
export function moreReasons(err) {
  const msg = err.message || "";
  const more = (err.reasons || []).filter((r) => !msg.includes(r));
  return more.length ? ": " + more.join("; ") : "";
}

export function showError(form, err) {
  clearErrors(form);
  let field = err.field || "";
  // "phase.item" or "phase.item.field" names the same input as "item"/"item.field".
  let slot = null;
  while (field && !(slot = form.querySelector(`.error[data-error-for="${escape(field)}"]`))) {
    const dot = field.indexOf(".");
    field = dot < 0 ? "" : field.slice(dot + 1);
  }
  if (!slot) {
    // "vitals" when the form names its fields "vitals.sbp": the first of them.
    slot = err.field && form.querySelector(`.error[data-error-for^="${escape(err.field)}."]`);
    field = slot ? slot.dataset.errorFor : "";
  }
  if (!slot) slot = form.querySelector('.error[data-error-for=""]');
  if (!slot) return false;
  const input = field && form.querySelector(`[data-field="${escape(field)}"]`);
  slot.textContent = unitsInWords(inWords(err, input) + moreReasons(err));
  slot.hidden = false;
  if (input) {
    input.setAttribute("aria-invalid", "true");
    input.focus();
  } else {
    slot.setAttribute("tabindex", "-1");
    slot.focus();
  }
  return true;
}

// The error slot of a field, for building forms.
export function errorSlot(h, field, id) {
  return h("p", { class: "error", id, role: "alert", hidden: true, dataset: { errorFor: field } });
}
