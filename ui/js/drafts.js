// drafts.js: what a nurse has typed on a visit and not yet recorded, kept in
// this tab's sessionStorage (per user and visit) as she types, so that a
// sign-in that ends mid-entry, or a reload, loses nothing: the visit page
// puts it back once the same user is signed in again. Recording an item
// empties its card and so its draft; signing out on purpose drops them all.
// With the values goes when the first of them was typed, and whether the
// server was away since (visit.js: then that is their observed time).
import { current } from "./session.js";
import * as site from "./site.js";

const PREFIX = "vigil.draft.";

// Per user, and per site and visit: visit ids count per site on a node of a
// cluster, and a tab opened on another site (site.js) must not offer south's
// visit 1's values on north's visit 1.
function key(visit) {
  const u = current();
  const s = site.current();
  return u ? `${PREFIX}${u.name}.${s ? `${s}:` : ""}${visit}` : null;
}

// values: {item id: value as inputs.js reads it}; typed: {at: ms, away:
// bool}, when the first was typed, or null.
export function save(visit, values, typed) {
  const k = key(visit);
  if (!k) return;
  try {
    if (Object.keys(values).length) sessionStorage.setItem(k, JSON.stringify({ v: 2, values, typed: typed || null }));
    else sessionStorage.removeItem(k);
  } catch (err) {
    // Storage full or refused: the page still holds what was typed.
  }
}

// {values, typed} as saved; a draft of before the typed time was kept is
// its values alone.
export function load(visit) {
  const k = key(visit);
  try {
    const d = k && JSON.parse(sessionStorage.getItem(k) || "{}");
    if (!d || typeof d !== "object") return { values: {}, typed: null };
    if (d.v !== 2) return { values: d, typed: null };
    return { values: d.values || {}, typed: d.typed && Number.isFinite(d.typed.at) ? d.typed : null };
  } catch (err) {
    return { values: {}, typed: null };
  }
}

export function clearAll() {
  try {
    for (const k of Object.keys(sessionStorage)) if (k.startsWith(PREFIX)) sessionStorage.removeItem(k);
  } catch (err) {
    // nothing kept
  }
}
