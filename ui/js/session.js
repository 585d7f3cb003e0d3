// session.js: who is signed in. The server keeps the session in an HttpOnly
// cookie (POST/GET/DELETE /api/v1/session): this module only remembers the
// user it answered with and what that user's role may do.
const listeners = [];
let user = null;
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

function set(u, perms) {
  user = u;
  permissions = perms || [];
  for (const fn of listeners) fn(user);
}

// The API said the session is over (expired, signed out elsewhere, the
// user disabled): back to the sign-in screen.
export function onUnauthenticated() {
  if (user) set(null);
}

async function request(method, body) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json", "X-Requested-With": "vigil" } };
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
  if (r.status === 200) set(r.json.user, r.json.permissions);
  else set(null);
  return user;
}

// Signs in; throws an Error carrying the server's code (bad_credentials,
// too_many_attempts) and message.
export async function signIn(name, password) {
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
  await request("DELETE");
  set(null);
}
