// expiry.js: the warning before a sign-in ends. The session lasts
// session_hours after its last use (typing and clicking renew it:
// session.js); when little of it is left, a bar at the foot of the screen
// counts down and offers to stay signed in. When the time is up the page
// signs out as the server has; what was typed is kept (drafts.js) and comes
// back after signing in again.
import { h } from "./dom.js";
import * as session from "./session.js";

// The warning shows this long before the end (a quarter of the session's
// life when that is shorter).
const WARN_MS = 5 * 60000;

let bar = null;
let text = null;

function clock(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  const m = Math.floor(s / 60);
  return m >= 60 ? `${Math.floor(m / 60)} h ${m % 60} min` : `${m}:${String(s % 60).padStart(2, "0")}`;
}

function show(left) {
  if (!bar) {
    text = h("span", { class: "session-warning-text" });
    bar = h("div", { id: "session-warning", class: "session-warning", role: "alert" }, text,
      h("button", { type: "button", class: "primary", onclick: () => session.renew().then(tick) }, "Stay signed in"));
    document.body.append(bar);
  }
  text.textContent = `Your sign-in ends in ${clock(left)} unless you use it. What you have typed is kept either way.`;
}

function hide() {
  if (bar) bar.remove();
  bar = null;
}

function tick() {
  const left = session.expiresIn();
  if (!session.current() || left === Infinity) hide();
  else if (left <= 0) {
    hide();
    session.expired();
  } else if (left <= Math.min(WARN_MS, session.lifetimeMs() / 4)) show(left);
  else hide();
}

export function start() {
  tick();
  setInterval(tick, 1000);
}
