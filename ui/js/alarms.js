// alarms.js: a banner for every alert not yet acknowledged, on every screen,
// in the IEC 60601-1-8 colours (high red and flashing fast, medium yellow
// and flashing slowly, low cyan and steady), each naming its patient and
// cause, each acknowledged on its own. The banners stay in view while the
// page scrolls (app.css: .alarms is sticky).
//
// Sound is on from the start: high and medium alerts sound IEC 60601-1-8
// burst patterns through Web Audio. A browser lets a page play sound only
// after a click on it: until then the header asks for one, and the first
// click or key anywhere allows it. The sound can only be paused, never
// switched off: per alert, or all at once, each time for the site's
// alarm_pause (2 minutes by default, vigil.conf); then it sounds again. The
// banner stays until the alert is acknowledged.
//
// The stack folds (docs/safety.md N9): at most SHOWN banners, the loudest
// and then the newest, and fewer when they would take more than MAX_SHARE of
// the window's height (long messages on a narrow screen), never fewer than
// one (and when the one or two that must stay take more than that alone,
// their messages are cut to fewer lines); one more line says how many are
// folded and of which priorities, in
// the colour of the loudest of them, with a button that unfolds them all.
// So ten alerts of aborted visits no longer take half of every screen, and a
// high alert folded away still flashes red.
//
// An alert this user cannot acknowledge (a carried alert waits for a
// clinician, H4) keeps its place when it is the loudest, but never folds
// away the alerts she can acknowledge (X6: it held the only banner for an
// hour, hers behind "Show all 5"): they come before the other ones she
// cannot, and the first of them is shown however little room there is.
// Acknowledged, a banner's focus goes to the next banner's Acknowledge, and
// stays on its button across the redraws the stream's events bring.
import { all, post } from "./api.js";
import { h, clear, announce, silence } from "./dom.js";
import { messageInWords, priorityLabel, priorityRank, reminded, timeOrDate } from "./format.js";
import { now } from "./clock.js";
import { subscribe } from "./stream.js";
import { ackControls, canAcknowledge } from "./ack.js";
import { alarmPauseMs } from "./session.js";

let alerts = [];
// alert id -> {until: when its pause ends (Date.now() ms), priority: the
// alert's then}. A pause covers the alerts there were when it began: one
// raised since sounds, and so does one that has escalated since.
const paused = new Map();
let pausedAll = 0; // when the header's pause of every alert ends (0: none)
let audio = null;
let soundTimer = null;
let playing = ""; // the pattern the timer plays: "high", "medium" or ""
let known = new Set(); // alert ids already announced
let unfolded = false; // the nurse asked to see every banner
const SHOWN = 3;
const MAX_SHARE = 0.35;
const CLAMP_LINES = [3, 2, 1]; // app.css .alarms[data-clamp]
const changeListeners = [];

export function onChange(fn) {
  changeListeners.push(fn);
}

async function load() {
  const seen = await all("/alerts?state=open", "alerts");
  alerts = seen.filter((a) => !a.acknowledged && a.state !== "closed");
  // The loudest first, and within a priority the newest first.
  alerts.sort((a, b) => priorityRank(b.priority) - priorityRank(a.priority) || b.id - a.id);
  for (const a of alerts)
    if (!known.has(a.id)) {
      known.add(a.id);
      announce(`${priorityLabel(a.priority)} alert, patient ${a.patient}: ${messageInWords(a.message)}`);
    }
  for (const [id, p] of [...paused]) {
    const a = alerts.find((x) => x.id === id);
    if (!a || priorityRank(a.priority) > priorityRank(p.priority)) paused.delete(id);
  }
  render();
  updateSound();
  for (const fn of changeListeners) fn(alerts);
}

// How long a pause still lasts, in ms (0 when it is over).
function left(until) {
  return Math.max(0, until - Date.now());
}

function pauseLabel(until) {
  const ms = left(until);
  return ms > 0 ? `Sound paused, ${clock(ms)} left` : "";
}

// "2 min", "90 s": how long a pause lasts.
function span(ms) {
  const s = Math.round(ms / 1000);
  return s % 60 === 0 ? `${s / 60} min` : `${s} s`;
}

function clock(ms) {
  const s = Math.ceil(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

// The line that stands for the banners folded away: "4 more alerts: 1 high,
// 3 medium", in the colour of the loudest of them.
function foldLine(folded) {
  const counts = ["high", "medium", "low"].map((p) => [p, folded.filter((a) => a.priority === p).length]).filter(([, n]) => n > 0);
  const loudest = counts[0][0];
  return h("div", { class: `alarm alarm-${loudest} alarm-fold`, role: "status", dataset: { folded: folded.length } },
    h("span", { class: "alarm-priority" }, `+${folded.length}`),
    h("span", { class: "alarm-text" }, `${folded.length} more ${folded.length === 1 ? "alert" : "alerts"}: `,
      counts.map(([p, n]) => `${n} ${priorityLabel(p).toLowerCase()}`).join(", ")),
    h("button", { type: "button", class: "unfold", "aria-expanded": "false", onclick: () => setUnfolded(true) }, `Show all ${alerts.length}`));
}

function setUnfolded(on) {
  unfolded = on;
  render();
  const b = document.querySelector(on ? "#alarms button.fold" : "#alarms button.unfold");
  if (b) b.focus();
}

// The banners in the order they are shown: the loudest first; then the
// alerts this user can acknowledge before those she cannot (X6).
function shownOrder() {
  const first = alerts[0];
  if (!first) return [];
  const rest = alerts.slice(1);
  return [first, ...rest.filter(canAcknowledge), ...rest.filter((a) => !canAcknowledge(a))];
}

// Where the focus is among the banners: {alert id, button class, index},
// or null (drawn anew, the focus comes back: ack.js, X6).
function focusedBanner(root) {
  const el = document.activeElement;
  const banner = el && el !== root && root.contains(el) && el.closest("[data-alert]");
  if (!banner) return null;
  const kind = ["ack", "pause"].find((c) => el.classList.contains(c)) || null;
  return { id: banner.dataset.alert, kind, index: [...root.querySelectorAll("[data-alert]")].indexOf(banner) };
}

function refocus(root, was) {
  if (!was || (document.activeElement && document.activeElement !== document.body)) return;
  const same = root.querySelector(`[data-alert="${CSS.escape(was.id)}"]${was.kind ? ` button.${was.kind}` : ""}`);
  if (same) {
    same.focus();
    return;
  }
  // Its banner has gone (acknowledged): the next banner's Acknowledge.
  const acks = [...root.querySelectorAll("[data-alert]")].slice(was.index).map((b) => b.querySelector("button.ack")).filter(Boolean);
  const next = acks[0] || root.querySelector("button.ack, button.unfold");
  if (next) next.focus();
}

function render() {
  const root = document.getElementById("alarms");
  if (alerts.length <= 1) unfolded = false;
  const was = focusedBanner(root);
  const order = shownOrder();
  let n = unfolded ? order.length : Math.min(SHOWN, order.length);
  // Never fewer than one: the loudest, and the first this user can
  // acknowledge when the loudest is not hers.
  const least = order.length > 1 && !canAcknowledge(order[0]) && canAcknowledge(order[1]) ? 2 : 1;
  // Folded, the box does not scroll (app.css .folded): what is shown, the
  // fold line with it, is measured whole and always in view.
  root.classList.toggle("folded", !unfolded);
  delete root.dataset.clamp;
  const tooTall = () => !unfolded && root.offsetHeight > window.innerHeight * MAX_SHARE;
  draw(root, order, n);
  while (n > least && tooTall()) draw(root, order, --n);
  // Those that stay still too tall (long messages on a phone, AK1): their
  // messages are cut to fewer lines until they fit, the whole message kept
  // in the banner's title (and read out, and listed on the visit).
  for (const lines of CLAMP_LINES) {
    if (!tooTall()) break;
    root.dataset.clamp = lines;
  }
  for (const text of root.querySelectorAll(".alarm[data-alert] .alarm-text"))
    if (text.scrollHeight > text.clientHeight + 1) text.title = text.textContent;
  refocus(root, was);
  // What scrolls into view (a field being focused) stops below the banners.
  document.documentElement.style.scrollPaddingTop = `${root.offsetHeight}px`;
  drawToggle();
}

// The first n banners, then the line for the rest (or, unfolded, the button
// that folds them again).
function draw(root, order, n) {
  clear(root);
  for (const a of order.slice(0, n)) {
    const until = until_(a.id);
    const isPaused = left(until) > 0;
    root.append(
      h("div", { class: `alarm alarm-${a.priority}`, role: a.priority === "high" ? "alert" : "status", dataset: { alert: a.id, priority: a.priority } },
        h("span", { class: "alarm-priority" }, priorityLabel(a.priority)),
        h("span", { class: "alarm-text" },
          // A course alert (a missed session) has a patient and no visit.
          h("a", { href: a.visit ? `#/visit/${a.visit}` : `#/patient/${encodeURIComponent(a.patient)}` }, `Patient ${a.patient}`), ": ", messageInWords(a.message),
          h("span", { class: "alarm-meta" }, ` raised ${timeOrDate(a.raised_at, now())}`,
            a.level ? `, ${reminded(a.level)}` : "", a.state === "resolved" ? ", cause cleared"
              : a.resolved_at ? `, condition cleared at ${timeOrDate(a.resolved_at, now())}` : "")),
        a.priority !== "low"
          ? h("button", { type: "button", class: "quiet pause", "aria-pressed": isPaused ? "true" : "false", dataset: { until: isPaused ? until : "" },
              onclick: () => togglePause(a.id) },
              isPaused ? pauseLabel(until) : `Pause sound for ${span(alarmPauseMs())}`)
          : null,
        ackControls(a, () => {
          paused.delete(a.id);
          return load();
        }, { compact: true })));
  }
  if (n < order.length) root.append(foldLine(order.slice(n)));
  else if (unfolded)
    root.append(h("div", { class: "alarm-unfolded" },
      h("button", { type: "button", class: "quiet fold", "aria-expanded": "true", onclick: () => setUnfolded(false) }, "Fold the banners")));
}

function until_(id) {
  const p = paused.get(id);
  return p ? p.until : 0;
}

function pause(a, until) {
  paused.set(a.id, { until, priority: a.priority });
}

function togglePause(id) {
  const a = alerts.find((x) => x.id === id);
  if (left(until_(id)) > 0) paused.delete(id);
  else if (a) pause(a, Date.now() + alarmPauseMs());
  render();
  updateSound();
}

// The header's button: asks for the click the browser needs, or pauses
// every alert's sound for the site's pause (and resumes it).
function drawToggle() {
  const b = document.getElementById("sound-toggle");
  if (!b) return;
  const blocked = !audio || audio.state !== "running";
  const isPaused = left(pausedAll) > 0;
  b.classList.toggle("sound-blocked", blocked);
  b.setAttribute("aria-pressed", String(!blocked && isPaused));
  b.textContent = blocked ? "Click to allow alarm sound"
    : isPaused ? `All sound paused, ${clock(left(pausedAll))} left`
      : "Pause all sound";
  document.body.dataset.audio = blocked ? "blocked" : "running";
}

export function toggleAll() {
  if (!audio || audio.state !== "running") {
    unlock();
    return;
  }
  if (left(pausedAll) > 0) {
    for (const [id, p] of [...paused]) if (p.until === pausedAll) paused.delete(id);
    pausedAll = 0;
  } else {
    pausedAll = Date.now() + alarmPauseMs();
    for (const a of alerts) if (a.priority !== "low") pause(a, pausedAll);
  }
  render();
  updateSound();
}

// The loudest alert that sounds now: "high", "medium" or "".
function sounding() {
  let best = "";
  for (const a of alerts)
    if (!(left(until_(a.id)) > 0) && a.state === "active" && a.priority !== "low" && priorityRank(a.priority) > priorityRank(best)) best = a.priority;
  return best;
}

// IEC 60601-1-8 (table 3) auditory alarm signals. Each pulse lasts td, with
// a rise and a fall of 20 % of td; ts is the silence between pulses.
//   high: 10 pulses, 3 + 2, a pause, 3 + 2 (td 150 ms, ts 100 ms; the pause
//   between the 3rd and the 4th pulse 2 ts + td; between the 5th and the
//   6th 0.7 s); the burst again 3 s after its last pulse.
//   medium: 3 pulses (td 200 ms, ts 200 ms); again 6 s after its last.
// The tone is a fundamental with four harmonics (the standard asks for at
// least four within 15 dB of it): high 880 Hz, medium 660 Hz.
function burst(td, gaps) {
  const at = [0];
  for (const g of gaps) at.push(at[at.length - 1] + td + g);
  return at;
}
export const PATTERNS = {
  high: { td: 0.15, hz: 880, at: burst(0.15, [0.1, 0.1, 0.35, 0.1, 0.7, 0.1, 0.1, 0.35, 0.1]), interburst: 3 },
  medium: { td: 0.2, hz: 660, at: burst(0.2, [0.2, 0.2]), interburst: 6 },
};

let wave = null;
function play(level) {
  if (!audio || audio.state !== "running") return;
  const p = PATTERNS[level];
  if (!wave) wave = audio.createPeriodicWave(new Float32Array([0, 0, 0, 0, 0, 0]), new Float32Array([0, 1, 0.6, 0.45, 0.35, 0.3]));
  const t0 = audio.currentTime + 0.05;
  const rise = p.td * 0.2;
  for (const at of p.at) {
    const o = audio.createOscillator();
    const g = audio.createGain();
    o.setPeriodicWave(wave);
    o.frequency.value = p.hz;
    const t = t0 + at;
    g.gain.setValueAtTime(0, t);
    g.gain.linearRampToValueAtTime(0.25, t + rise);
    g.gain.setValueAtTime(0.25, t + p.td - rise);
    g.gain.linearRampToValueAtTime(0, t + p.td);
    o.connect(g).connect(audio.destination);
    o.start(t);
    o.stop(t + p.td);
  }
}

function updateSound() {
  const level = sounding();
  document.body.dataset.alarmSound = level;
  const audible = audio && audio.state === "running" ? level : "";
  if (audible === playing) return;
  if (soundTimer) clearInterval(soundTimer);
  soundTimer = null;
  playing = audible;
  if (!audible) return;
  const p = PATTERNS[audible];
  play(audible);
  soundTimer = setInterval(() => play(audible), (p.at[p.at.length - 1] + p.td + p.interburst) * 1000);
}

// The browser's autoplay rule: an AudioContext made before the page is
// clicked stays suspended until the first click or key on the page.
function unlock() {
  if (!audio && window.AudioContext) {
    audio = new AudioContext();
    audio.addEventListener("statechange", () => {
      render();
      updateSound();
    });
  }
  if (audio && audio.state === "suspended") audio.resume().catch(() => {});
  drawToggle();
}
for (const type of ["pointerdown", "keydown"]) document.addEventListener(type, unlock, { capture: true });
// How many banners fit depends on the window's size.
window.addEventListener("resize", () => render());

// Pauses end on their own: once a second the countdowns move on and an
// ended pause lets the sound back.
setInterval(() => {
  for (const b of document.querySelectorAll("#alarms button.pause[data-until]")) {
    const until = Number(b.dataset.until);
    if (until && left(until) > 0) b.textContent = pauseLabel(until);
  }
  let ended = false;
  for (const [id, p] of paused) if (!(left(p.until) > 0)) {
    paused.delete(id);
    ended = true;
  }
  if (pausedAll && !(left(pausedAll) > 0)) {
    pausedAll = 0;
    ended = true;
  }
  if (ended) {
    render();
    updateSound();
  } else drawToggle();
}, 1000);

let timer = null;
export function start() {
  subscribe((ev) => {
    if (ev.type.startsWith("alert.") || ev.type === "visit.discharged" || ev.type === "visit.aborted" || ev.type === "phase.entered") {
      clearTimeout(timer);
      timer = setTimeout(() => load().catch(() => {}), 100);
    }
  });
  return load();
}

// Reads the alerts anew (the server is back after an outage).
export function reload() {
  return load().catch(() => {});
}

export function stop() {
  alerts = [];
  known = new Set();
  unfolded = false;
  // What a screen reader was last told names a patient: not for the sign-in
  // page that follows (docs/safety.md N8).
  silence();
  paused.clear();
  pausedAll = 0;
  render();
  updateSound();
}

unlock();
