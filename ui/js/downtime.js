// downtime.js: when the server cannot be reached. The page keeps the last
// state it had, read only, under a banner that says for how long the server
// has been away and how old what is shown is; what a nurse types stays in
// its form (nothing is queued to be sent later: a value reaches the record
// only when the nurse records it and the server says it is durable).
// Printing, folding the banners and pausing the sound still work; new alerts
// cannot reach this screen meanwhile, and the banner says so.
//
// The server is away when a request cannot reach it (api.js) or the event
// stream drops and a probe of /api/v1/healthz fails; it is back at the first
// answer of either. While away it is probed every PROBE_MS.
import { h, announce } from "./dom.js";
import { duration } from "./format.js";

const PROBE_MS = 5000;
// What still works without the server: it reads, or it only changes this
// screen (a dialog's Cancel). Every other button of the page, an open
// dialog's included (X8: a Sign dialog open when the server went away kept
// its button), is disabled while the server is away, and enabled again when
// it is back.
const STILL_WORKS = ".pause, .fold, .unfold, #print, [data-reads], button[value=cancel]";
const WATCHED = ["main", "alarms", "dialog"];

let lastAnswer = Date.now(); // when the server last answered (Date.now() ms)
let awaySince = 0; // 0: reachable
let probing = null;
let ticking = null;
const observer = new MutationObserver(() => disableWrites());
const backListeners = [];
const awayListeners = [];

// fn() when the server answers again after being away: the screens read
// it anew (what they showed was the last answer; a page opened meanwhile
// could not be read at all).
export function onBack(fn) {
  backListeners.push(fn);
}

// fn() when the server is found away: a visit fixes the observed time of
// what is typed and not recorded yet (it is recorded later, as late).
export function onAway(fn) {
  awayListeners.push(fn);
}

// Whether the server cannot be reached now.
export function away() {
  return awaySince !== 0;
}

// A reload while the server is away loses the page (it cannot be loaded
// again): the browser asks first.
window.addEventListener("beforeunload", (e) => {
  if (!awaySince) return;
  e.preventDefault();
  e.returnValue = "";
});

// The server answered (any status: it is there).
export function answered() {
  lastAnswer = Date.now();
  if (!awaySince) return;
  awaySince = 0;
  clearInterval(probing);
  clearInterval(ticking);
  probing = ticking = null;
  observer.disconnect();
  document.body.classList.remove("offline");
  const banner = document.getElementById("downtime");
  if (banner) banner.remove();
  for (const b of document.querySelectorAll("button[data-downtime]")) {
    b.disabled = false;
    delete b.dataset.downtime;
  }
  // The event stream resumes after the last event it saw, and the screen
  // reads what it shows anew (main.js).
  announce("The server can be reached again.");
  for (const fn of backListeners) fn();
}

// A request could not reach the server.
export function unreachable() {
  if (awaySince) return;
  awaySince = Date.now();
  document.body.classList.add("offline");
  drawBanner();
  disableWrites();
  for (const id of WATCHED) {
    const el = document.getElementById(id);
    if (el) observer.observe(el, { childList: true, subtree: true });
  }
  announce("The server cannot be reached. The page shows the last state it had, read only; nothing can be recorded until it is back.");
  ticking = setInterval(drawBanner, 1000);
  probing = setInterval(probe, PROBE_MS);
  for (const fn of awayListeners) fn();
}

// The event stream dropped: is it the server, or only the stream?
export function streamDropped() {
  if (!awaySince) probe();
}

async function probe() {
  try {
    const res = await fetch("/api/v1/healthz", { cache: "no-store" });
    if (res.status) answered();
  } catch (err) {
    unreachable();
  }
}

// Stops watching (the user signed out: the sign-in page says what it needs).
export function stop() {
  if (awaySince) answered();
}

function disableWrites() {
  for (const id of WATCHED) {
    const el = document.getElementById(id);
    if (!el) continue;
    for (const b of el.querySelectorAll("button:not([disabled])")) {
      if (b.matches(STILL_WORKS)) continue;
      b.disabled = true;
      b.dataset.downtime = "1";
    }
  }
}

function drawBanner() {
  let banner = document.getElementById("downtime");
  const now = Date.now();
  const lines = [
    h("p", {}, `The server cannot be reached (for ${duration(now - awaySince)}). Read only: nothing can be recorded or acknowledged until it is back.`),
    h("p", { class: "downtime-detail" },
      `What you see is as it was ${duration(now - lastAnswer)} ago. New alerts cannot reach this screen: watch the patients and their monitors. `,
      "What you type stays in its form, with the time it was typed as its observed time; record it when the server is back. Printing still works. ",
      "Do not reload the page: it cannot be loaded again until the server is back."),
  ];
  if (!banner) {
    banner = h("div", { id: "downtime", class: "downtime", dataset: { since: String(awaySince) } }, lines);
    const alarms = document.getElementById("alarms");
    alarms.parentNode.insertBefore(banner, alarms);
    return;
  }
  banner.replaceChildren(...lines);
}
