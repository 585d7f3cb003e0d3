// alarms.js: a banner for every alert not yet acknowledged, on every screen,
// in the IEC 60601-1-8 colours (high red and flashing fast, medium yellow
// and flashing slowly, low cyan and steady), each naming its patient and
// cause, each acknowledged on its own. An optional sound for high and
// medium alerts can be paused per alert: the banner stays until the alert
// is acknowledged.
import { all, post } from "./api.js";
import { h, clear, announce } from "./dom.js";
import { clockTime, priorityLabel, priorityRank } from "./format.js";
import { subscribe } from "./stream.js";
import { showError } from "./dialog.js";

let alerts = [];
const paused = new Set(); // alert ids whose sound is paused
let soundOn = false;
let audio = null;
let soundTimer = null;
let known = new Set(); // alert ids already announced
const changeListeners = [];

export function onChange(fn) {
  changeListeners.push(fn);
}

async function load() {
  const seen = await all("/alerts?state=open", "alerts");
  alerts = seen.filter((a) => !a.acknowledged && a.state !== "closed");
  alerts.sort((a, b) => priorityRank(b.priority) - priorityRank(a.priority) || a.id - b.id);
  for (const a of alerts)
    if (!known.has(a.id)) {
      known.add(a.id);
      announce(`${priorityLabel(a.priority)} alert, patient ${a.patient}: ${a.message}`);
    }
  render();
  updateSound();
  for (const fn of changeListeners) fn(alerts);
}

export async function acknowledge(id) {
  try {
    await post(`/alerts/${id}/ack`, {});
  } catch (err) {
    // Someone else acknowledged it first: the list below shows that.
    if (err.code !== "wrong_state") showError(err);
  }
  paused.delete(id);
  await load();
}

function render() {
  const root = document.getElementById("alarms");
  clear(root);
  for (const a of alerts) {
    const isPaused = paused.has(a.id);
    root.append(
      h("div", { class: `alarm alarm-${a.priority}`, role: a.priority === "high" ? "alert" : "status", dataset: { alert: a.id, priority: a.priority } },
        h("span", { class: "alarm-priority" }, priorityLabel(a.priority)),
        h("span", { class: "alarm-text" },
          h("a", { href: `#/visit/${a.visit}` }, `Patient ${a.patient}`), ": ", a.message,
          h("span", { class: "alarm-meta" }, ` raised ${clockTime(a.raised_at)}`,
            a.level ? `, escalated ${a.level}\u00d7` : "", a.state === "resolved" ? ", cause cleared" : "")),
        a.priority !== "low" && soundOn
          ? h("button", { type: "button", class: "quiet", "aria-pressed": isPaused ? "true" : "false", onclick: () => togglePause(a.id) },
              isPaused ? "Sound paused" : "Pause sound")
          : null,
        h("button", { type: "button", class: "ack", onclick: () => acknowledge(a.id) }, "Acknowledge")));
  }
}

function togglePause(id) {
  if (paused.has(id)) paused.delete(id);
  else paused.add(id);
  render();
  updateSound();
}

// The loudest alert that may sound: "high", "medium" or "".
function sounding() {
  if (!soundOn) return "";
  let best = "";
  for (const a of alerts)
    if (!paused.has(a.id) && a.state === "active" && priorityRank(a.priority) > priorityRank(best) && a.priority !== "low") best = a.priority;
  return best;
}

// Short tone bursts after IEC 60601-1-8's pattern: high five pulses
// (3 + 2) every few seconds, medium three pulses, spaced further apart.
function beep(pattern) {
  if (!audio) return;
  const t0 = audio.currentTime;
  pattern.forEach((at, i) => {
    const o = audio.createOscillator();
    const g = audio.createGain();
    o.frequency.value = pattern.length > 3 ? 880 : 660;
    g.gain.setValueAtTime(0.0001, t0 + at);
    g.gain.exponentialRampToValueAtTime(0.2, t0 + at + 0.02);
    g.gain.exponentialRampToValueAtTime(0.0001, t0 + at + 0.15);
    o.connect(g).connect(audio.destination);
    o.start(t0 + at);
    o.stop(t0 + at + 0.16);
    void i;
  });
}

function updateSound() {
  const level = sounding();
  document.body.dataset.alarmSound = level;
  if (soundTimer) clearInterval(soundTimer);
  soundTimer = null;
  if (!level) return;
  const play = level === "high" ? () => beep([0, 0.25, 0.5, 1.0, 1.25]) : () => beep([0, 0.4, 0.8]);
  play();
  soundTimer = setInterval(play, level === "high" ? 5000 : 10000);
}

export function setSound(on) {
  soundOn = on;
  if (on && !audio && window.AudioContext) audio = new AudioContext();
  render();
  updateSound();
}

export function isSoundOn() {
  return soundOn;
}

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

export function stop() {
  alerts = [];
  known = new Set();
  render();
  updateSound();
}
