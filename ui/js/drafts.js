// drafts.js: what a nurse has typed on a visit and not yet recorded, kept in
// this tab's sessionStorage (per user and visit) as she types, so that a
// sign-in that ends mid-entry, or a reload, loses nothing: the visit page
// puts it back once the same user is signed in again. Recording an item
// empties its card and so its draft; signing out on purpose drops them all.
// With the values goes when the first of them was typed, whether the
// server was away since, and why the page was left with them not recorded
// (visit.js: a draft put back keeps its typed time as its observed time,
// and its card says why it was put back: X2).
import { current } from "./session.js";
import * as site from "./site.js";

const PREFIX = "vigil.draft.";
// The key each visit's draft was last kept under: when the sign-in ends
// there is no user left to name it by, and the draft is still marked.
const keys = new Map();

// Per user, and per site and visit: visit ids count per site on a node of a
// cluster, and a tab opened on another site (site.js) must not offer south's
// visit 1's values on north's visit 1.
function key(visit) {
  const u = current();
  const s = site.current();
  return u ? `${PREFIX}${u.name}.${s ? `${s}:` : ""}${visit}` : null;
}

// values: {item id: value as inputs.js reads it}; typed: {at: ms, away:
// bool}, when the first was typed, or null; observed: the time (ms) set by
// hand in "Observed at", or null (AE3).
export function save(visit, values, typed, observed) {
  const k = key(visit);
  if (!k) return;
  keys.set(visit, k);
  try {
    if (Object.keys(values).length) sessionStorage.setItem(k, JSON.stringify({ v: 2, values, typed: typed || null, observed: Number.isFinite(observed) ? observed : null }));
    else sessionStorage.removeItem(k);
  } catch (err) {
    // Storage full or refused: the page still holds what was typed.
  }
}

// The visit's page is gone with its draft not recorded; why: "left" (the
// nurse went to another page), "signin" (the sign-in ended), "reload" (the
// page was loaded anew). Kept with the draft until it is saved again.
export function leave(visit, why) {
  const k = key(visit) || keys.get(visit);
  if (!k) return;
  try {
    const d = JSON.parse(sessionStorage.getItem(k) || "null");
    if (!d || d.v !== 2) return;
    sessionStorage.setItem(k, JSON.stringify({ ...d, left: why }));
  } catch (err) {
    // Not marked: the page that puts it back says less about why.
  }
}

// {values, typed, left, observed} as saved; a draft of before the typed
// time was kept is its values alone.
export function load(visit) {
  const k = key(visit);
  const none = { values: {}, typed: null, left: null, observed: null };
  try {
    const d = k && JSON.parse(sessionStorage.getItem(k) || "{}");
    if (!d || typeof d !== "object") return none;
    if (d.v !== 2) return { ...none, values: d };
    return { values: d.values || {}, typed: d.typed && Number.isFinite(d.typed.at) ? d.typed : null, left: typeof d.left === "string" ? d.left : null,
      observed: Number.isFinite(d.observed) ? d.observed : null };
  } catch (err) {
    return none;
  }
}

export function clearAll() {
  try {
    for (const k of Object.keys(sessionStorage)) if (k.startsWith(PREFIX)) sessionStorage.removeItem(k);
  } catch (err) {
    // nothing kept
  }
}
