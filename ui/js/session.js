// session.js: who is signed in. The server keeps the session in an HttpOnly
// cookie (POST/GET/DELETE /api/v1/session): this module remembers the user
// it answered with, what that user's role may do, and when the cookie ends.
// The session lasts session_hours after its last use; the cookie is renewed
// by GET /api/v1/session, which this module calls when the user types or
// clicks (at most every RENEW_MS) and when asked to ("Stay signed in").
const listeners = [];
let user = null;
let ttlMs = 0; // how long the sign-in lasts without use
let expiresAt = 0; // when the cookie ends unless renewed (Date.now() ms)
let renewedAt = 0;
let renewing = null;
let pauseMs = 120000; // the site's alarm_pause
let reasons = []; // the site's ack_reasons: quick picks for an acknowledgement
let usual = null; // the site's usual_protocol: the start form's first choice
let nodeName = null; // the node's name on a node of a cluster (site.js), else null
// Why the last session ended: "expired" (not used for too long), "ended"
// (the server ended it: signed out elsewhere, a password change, the account
// disabled), "" when the user signed out here.
let ended = "";
// What the role may do, as the server lists it ("record", "sign",
// "override", "discharge", "users", "clock", ...). The server enforces it;
// the app only leaves out what would be refused.
let permissions = [];

export function current() {
  return user;
}

export function can(permission) {
  return !!user && permissions.includes(permission);
}

export function onChange(fn) {
  listeners.push(fn);
}

// The session's lifetime and the site's settings from an answer that names
// the session.
function lifetime(json) {
  ttlMs = (json.expires_in_s || 0) * 1000;
  renewedAt = Date.now();
  expiresAt = ttlMs ? renewedAt + ttlMs : 0;
  if (json.alarm_pause_s > 0) pauseMs = json.alarm_pause_s * 1000;
  if (Array.isArray(json.ack_reasons)) reasons = json.ack_reasons.filter((r) => typeof r === "string");
  if ("usual_protocol" in json) usual = typeof json.usual_protocol === "string" ? json.usual_protocol : null;
  if ("node" in json) nodeName = typeof json.node === "string" ? json.node : null;
}

// How long the sign-in still lasts without use (Infinity: no limit known).
export function expiresIn() {
  return user && expiresAt ? expiresAt - Date.now() : Infinity;
}

// How long the sign-in lasts from its last use.
export function lifetimeMs() {
  return ttlMs;
}

export function alarmPauseMs() {
  return pauseMs;
}

export function ackReasons() {
  return reasons;
}

export function usualProtocol() {
  return usual;
}

// The node's name when the server is a node of a cluster (several sites may
// be served here: site.js), else null.
export function node() {
  return nodeName;
}

// Why the last session ended ("expired", "ended", "signed_out_offline" or
// ""): the sign-in page says it however often it is drawn, until someone
// signs in.
export function endReason() {
  return ended;
}

function set(u, perms) {
  if (u) ended = "";
  user = u;
  permissions = perms || [];
  for (const fn of listeners) fn(user);
}

// The API said the session is over (expired, signed out elsewhere, the
// user disabled): back to the sign-in screen.
// A 401 within moments of the time the cookie was to end is that time
// running out (the server counts from the request it last saw, the page
// from the answer), not the server ending the session for another reason.
const EXPIRY_SLACK_MS = 5000;

export function onUnauthenticated() {
  if (!user) return;
  ended = expiresAt && Date.now() >= expiresAt - EXPIRY_SLACK_MS ? "expired" : "ended";
  set(null);
}

// Another user signed in on this browser since this page was (another tab
// shares the cookie; the server refused a call, 409 user_changed): this page
// is signed out, so that nothing more is sent as the first user, and its
// user signs in again (docs/safety.md AI4).
export function onUserChanged() {
  if (!user) return;
  ended = "user_changed";
  set(null);
}

// The cookie has ended (its time ran out without use): signed out here too.
export function expired() {
  if (!user) return;
  ended = "expired";
  set(null);
}

// Renews the session and its cookie; resolves to whether it still holds.
export function renew() {
  if (!user) return Promise.resolve(false);
  if (!renewing)
    renewing = request("GET").then((r) => {
      if (r.status === 200) lifetime(r.json);
      else if (r.status === 401) onUnauthenticated();
      return r.status === 200;
    }).catch(() => false).finally(() => {
      renewing = null;
    });
  return renewing;
}

// Typing or clicking is use: it renews the cookie (not more often than
// this, nor than a sixth of the session's life).
const RENEW_MS = 60000;
function used() {
  if (user && expiresAt && Date.now() - renewedAt > Math.min(RENEW_MS, ttlMs / 6) && expiresIn() > 0) renew();
}
for (const type of ["keydown", "pointerdown"]) document.addEventListener(type, used, { capture: true, passive: true });

async function request(method, body) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json", "X-Requested-With": "vigil" } };
  if (body) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch("/api/v1/session", init);
  } catch (err) {
    const away = new Error("The server cannot be reached: try again when it is back.");
    away.code = "offline";
    throw away;
  }
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

// Sign-ins and sign-outs on this page, counted: an answer to a restore
// asked before one of them is stale (a sign-out clicked while the page was
// still reading its session would otherwise be undone by that answer).
let generation = 0;

// The user of the session cookie, if it is still valid.
export async function restore() {
  try {
    await endPendingSignOut();
  } catch (err) {
    set(null); // still away: this screen stays signed out
    return user;
  }
  const asked = generation;
  const r = await request("GET");
  if (asked !== generation) return user;
  if (r.status === 200) {
    lifetime(r.json);
    set(r.json.user, r.json.permissions);
  } else set(null);
  return user;
}

// Signs in; throws an Error carrying the server's code (bad_credentials,
// too_many_attempts) and message.
export async function signIn(name, password) {
  generation++;
  await endPendingSignOut();
  const r = await request("POST", { user: name, password });
  if (r.status !== 200) {
    const e = (r.json && r.json.error) || {};
    const err = new Error(e.message || "Sign-in failed");
    err.code = e.code;
    err.field = e.field;
    throw err;
  }
  lifetime(r.json);
  set(r.json.user, r.json.permissions);
  return user;
}

// Signing out while the server cannot be reached signs out this screen at
// once (the next person must not record under this name) and leaves a mark
// in the browser: the session is ended on the server at its first answer,
// before this browser's cookie can sign anyone in again (restore, signIn).
const PENDING_SIGN_OUT = "vigil.sign_out_pending";

export async function signOut() {
  generation++;
  try {
    await request("DELETE");
    localStorage.removeItem(PENDING_SIGN_OUT);
  } catch (err) {
    localStorage.setItem(PENDING_SIGN_OUT, "1");
    ended = "signed_out_offline";
    set(null);
    return;
  }
  set(null);
}

// Ends on the server the session signed out while it was away; throws
// while it still cannot be reached.
async function endPendingSignOut() {
  if (!localStorage.getItem(PENDING_SIGN_OUT)) return;
  await request("DELETE");
  localStorage.removeItem(PENDING_SIGN_OUT);
}
