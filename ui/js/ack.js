// ack.js: acknowledging an alert, wherever it is shown (the banners, the
// visit, the board's course alerts, the patient's page). One click
// acknowledges; "With reason…" (beside each alert of a visit, the board's
// course alerts and a patient's page) asks for a reason first, offering the site's
// quick picks (vigil.conf ack_reasons) that acknowledge in one more click. A
// carried alert (a self-harm risk, docs/safety.md H4) stays until a clinician
// has assessed the patient: only a role that signs acknowledges it, always
// with a reason; others are told who they wait for.
import { post } from "./api.js";
import { h } from "./dom.js";
import { ask, showError } from "./dialog.js";
import { can, ackReasons } from "./session.js";
import { messageInWords, priorityLabel } from "./format.js";

// Acknowledges alert id (with reason, if given); then after(). Someone else
// acknowledging it first is no error: the lists show it. from: the button
// clicked, whose alert keeps the focus (below).
export async function acknowledge(id, reason, after, from) {
  try {
    await post(`/alerts/${id}/ack`, reason ? { reason } : {});
  } catch (err) {
    if (err.code !== "wrong_state") showError(err);
  }
  await settle(from, after);
}

// The focus stays where the nurse was: on the alert just acknowledged (its
// row, which a page drawn anew finds again by its id), or, when it has gone
// (a banner), on the next alert's Acknowledge, else the page. A keyboard
// user is not sent back to the top of the page.
async function settle(from, after) {
  const holder = from && from.closest("[data-alert]");
  const region = holder && holder.parentElement;
  if (holder && holder.id) {
    holder.tabIndex = -1;
    holder.focus();
  }
  if (after) await after();
  if (!holder || (holder.isConnected && document.activeElement === holder)) return;
  // The banners, drawn anew, put it on the next banner's Acknowledge (alarms.js).
  if (region && region.isConnected && region.id === "alarms" && region.contains(document.activeElement)) return;
  const again = holder.id && document.getElementById(holder.id);
  const next = again || (region && region.isConnected && region.querySelector("button.ack")) || document.getElementById("main");
  if (next === again) next.tabIndex = -1;
  next.focus({ preventScroll: next.id === "main" });
}

// The dialog that asks for the reason; a quick pick fills it in and
// acknowledges at once.
function withReason(a, after, from) {
  const pick = (event, text) => {
    const form = event.target.closest("form");
    form.elements.reason.value = text;
    form.requestSubmit();
  };
  // The site's quick picks are for an alert's cause (a reading rechecked, a
  // clinician told): a carried alert (a self-harm risk) is closed by an
  // assessment, which the clinician writes in their own words.
  const picks = a.carried ? [] : ackReasons();
  return ask({
    title: a.carried ? "Acknowledge after assessing the patient" : "Acknowledge with a reason",
    patient: a.patient || null,
    text: `${priorityLabel(a.priority)} alert${a.patient ? `, patient ${a.patient}` : ""}: ${messageInWords(a.message)}`,
    detail: picks.length
      ? h("div", { class: "quick-picks", role: "group", "aria-label": "Quick reasons" },
          picks.map((text) => h("button", { type: "button", class: "quiet quick-pick", onclick: (e) => pick(e, text) }, text)))
      : null,
    fields: [{
      name: "reason", label: "Reason", type: "textarea", required: !!a.carried,
      hint: a.carried ? "This alert stays until a clinician has assessed the patient: say what you found and decided."
        : "Optional: kept with the acknowledgement, in the history and the summary.",
    }],
    submit: "Acknowledge",
    action: async (v) => {
      const reason = v.reason.trim();
      await post(`/alerts/${a.id}/ack`, reason ? { reason } : {});
      return true;
    },
  }).then((done) => (done ? settle(from, after) : null), showError);
}

// Whether this user may acknowledge open alert a: a carried alert only a
// role that signs (a clinician), any other one whoever records.
export function canAcknowledge(a) {
  if (a.acknowledged || a.state === "acknowledged" || a.state === "closed" || !can("record")) return false;
  return !a.carried || can("sign");
}

// The controls for alert a (an open alert as the API gives it), or null when
// this user may do nothing with it; after() runs once it is acknowledged.
// Compact (the banners, which must stay small enough to fold by, N9): only
// Acknowledge; the reason is offered where the alert is listed in full.
export function ackControls(a, after, { compact = false } = {}) {
  if (a.acknowledged || a.state === "acknowledged" || a.state === "closed" || !can("record")) return null;
  if (a.carried)
    return canAcknowledge(a)
      ? h("button", { type: "button", class: "ack", onclick: (e) => withReason(a, after, e.currentTarget) }, "Assess and acknowledge\u2026")
      : h("span", { class: "ack-waits" }, "A clinician acknowledges this after assessing the patient");
  const now = h("button", { type: "button", class: "ack", onclick: (e) => acknowledge(a.id, null, after, e.currentTarget) }, "Acknowledge");
  return compact ? now : [now, h("button", { type: "button", class: "quiet ack-reason", onclick: (e) => withReason(a, after, e.currentTarget) }, "With reason\u2026")];
}
