// session.js: who is signed in. The server keeps the session in an HttpOnly
// cookie (POST/GET/DELETE /api/v1/session): this module only remembers the
// user it answered with, and asks for a password again when one is needed.
const listeners = [];
let user = null;
// Until the server has users (docs/http.md), a write names its actor in a
// header; the sign-in form then asks for a name only.
let actorMode = false;

export function current() {
  return user;
}

// What the signed-in user's role may do, as the server lists it at sign-in
// ("record", "sign", "override", "discharge", "users", "clock", ...). The
// server enforces it; the app only leaves out what would be refused.
let permissions = [];
export function can(permission) {
  return !!user && permissions.includes(permission);
}

// Before the server had users: the same matrix, for the role chosen at sign-in.
const ACTOR_MODE_PERMISSIONS = {
  nurse: ["read", "read_events", "export", "record", "discharge"],
  clinician: ["read", "read_events", "export", "record", "discharge", "sign", "override"],
  admin: ["read", "read_events", "export", "approve", "users", "clock"],
};

export function authHeaders() {
  return actorMode && user ? { "X-Vigil-Actor": user.name } : {};
}

export function needsPassword() {
  return !actorMode;
}

export function onChange(fn) {
  listeners.push(fn);
}

function set(u, perms) {
  user = u;
  permissions = perms || (u && actorMode ? ACTOR_MODE_PERMISSIONS[u.role] || [] : []);
  for (const fn of listeners) fn(user);
}

export function onUnauthenticated() {
  if (user) set(null);
}

async function request(method, body) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch("/api/v1/session", init);
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

// The user of the session cookie, if it is still valid.
export async function restore() {
  const r = await request("GET");
  if (r.status === 404) {
    actorMode = true;
    const saved = sessionStorage.getItem("vigil.actor");
    set(saved ? JSON.parse(saved) : null);
  } else {
    set(r.status === 200 ? r.json.user : null, r.status === 200 ? r.json.permissions : []);
  }
  return user;
}

// Signs in; throws an Error whose code is the server's (bad_credentials,
// too_many_attempts) with its message.
export async function signIn(name, password, role) {
  if (actorMode) {
    const u = { name, role: role || "nurse" };
    sessionStorage.setItem("vigil.actor", JSON.stringify(u));
    set(u);
    return u;
  }
  const r = await request("POST", { user: name, password });
  if (r.status !== 200) {
    const e = (r.json && r.json.error) || {};
    const err = new Error(e.message || "Sign-in failed");
    err.code = e.code;
    err.field = e.field;
    throw err;
  }
  set(r.json.user, r.json.permissions);
  return user;
}

export async function signOut() {
  if (actorMode) sessionStorage.removeItem("vigil.actor");
  else await request("DELETE");
  set(null);
}

export function isActorMode() {
  return actorMode;
}
