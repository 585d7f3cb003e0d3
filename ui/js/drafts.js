// drafts.js: what a nurse has typed on a visit and not yet recorded, kept in
// this tab's sessionStorage (per user and visit) as she types, so that a
// sign-in that ends mid-entry, or a reload, loses nothing: the visit page
// puts it back once the same user is signed in again. Recording an item
// empties its card and so its draft; signing out on purpose drops them all.
import { current } from "./session.js";

const PREFIX = "vigil.draft.";

function key(visit) {
  const u = current();
  return u ? `${PREFIX}${u.name}.${visit}` : null;
}

// values: {item id: value as inputs.js reads it}.
export function save(visit, values) {
  const k = key(visit);
  if (!k) return;
  try {
    if (Object.keys(values).length) sessionStorage.setItem(k, JSON.stringify(values));
    else sessionStorage.removeItem(k);
  } catch (err) {
    // Storage full or refused: the page still holds what was typed.
  }
}

export function load(visit) {
  const k = key(visit);
  try {
    const v = k && JSON.parse(sessionStorage.getItem(k) || "{}");
    return v && typeof v === "object" ? v : {};
  } catch (err) {
    return {};
  }
}

export function clearAll() {
  try {
    for (const k of Object.keys(sessionStorage)) if (k.startsWith(PREFIX)) sessionStorage.removeItem(k);
  } catch (err) {
    // nothing kept
  }
}
