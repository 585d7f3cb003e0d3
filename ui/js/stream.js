// stream.js: the server's live event stream (GET /api/v1/events/stream,
// Server-Sent Events). One connection for the whole app; views subscribe
// and unsubscribe. EventSource reconnects by itself and resumes after the
// last event it saw (Last-Event-ID), so nothing is missed across a
// restart; while it is away the header says so.
import { sawServerTime } from "./clock.js";
import * as downtime from "./downtime.js";
import { withSite } from "./site.js";

let source = null;
const listeners = new Set();
const statusListeners = new Set();
let connected = false;

function setConnected(c) {
  connected = c;
  for (const fn of statusListeners) fn(c);
}

export function open() {
  if (source) return;
  // The page's site's events (site.js), not the node's first site's.
  source = new EventSource(withSite("/api/v1/events/stream"), { withCredentials: true });
  source.onopen = () => {
    downtime.answered();
    setConnected(true);
  };
  source.onerror = () => {
    setConnected(false);
    downtime.streamDropped();
  };
  source.onmessage = (m) => {
    let ev;
    try {
      ev = JSON.parse(m.data);
    } catch (err) {
      return;
    }
    downtime.answered();
    if (ev.time) sawServerTime(ev.time);
    for (const fn of [...listeners]) fn(ev);
  };
  // Dropped for falling behind: reopen, and the log replays what was missed.
  source.addEventListener("dropped", () => {
    close();
    setTimeout(open, 1000);
  });
}

export function close() {
  if (source) source.close();
  source = null;
  setConnected(false);
}

// fn(event) for every event; returns the function that unsubscribes.
export function subscribe(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function onStatus(fn) {
  statusListeners.add(fn);
  fn(connected);
}
