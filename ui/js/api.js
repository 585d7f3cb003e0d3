// api.js: the one place that talks to /api/v1. Every failure becomes an
// ApiError carrying the server's {code, message, field, reasons}, so that a
// form can put the message next to the field it names.
import { current, onUnauthenticated, onUserChanged } from "./session.js";
import * as downtime from "./downtime.js";
import { withSite } from "./site.js";

// The last answer to each GET, shown again while the server cannot be
// reached (downtime.js: the page keeps its last state, read only, and says
// how old it is). In memory only, and forgotten at the end of a sign-in.
const lastAnswers = new Map();

export function forgetAnswers() {
  lastAnswers.clear();
}

export class ApiError extends Error {
  // retryAfter: the answer's Retry-After, in seconds, or null.
  constructor(status, body, retryAfter = null) {
    const e = (body && body.error) || {};
    super(e.message || `the server answered ${status}`);
    this.status = status;
    this.code = e.code || "http_" + status;
    this.field = e.field || null;
    this.reasons = e.reasons || [];
    this.retryAfter = retryAfter;
  }
}

async function send(method, path, body, key, live) {
  // X-Requested-With: what the server wants of a cookie-signed request that
  // changes something (no other site's form can send it).
  const headers = { Accept: "application/json", "X-Requested-With": "vigil" };
  if (key) headers["Idempotency-Key"] = key;
  // Who this page is signed in as: another user signed in on this browser
  // since (another tab) shares the cookie, and the server refuses the call
  // (409 user_changed) rather than record it as theirs (docs/safety.md AI4).
  const me = current();
  if (me && me.name) headers["Vigil-User"] = me.name;
  const init = { method, headers, credentials: "same-origin" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    // The page's site on every call (site.js): on a node owning several,
    // a call without it is about the node's first site.
    res = await fetch(withSite("/api/v1" + path), init);
  } catch (err) {
    downtime.unreachable();
    if (method === "GET" && !live && lastAnswers.has(path)) return structuredClone(lastAnswers.get(path));
    throw new ApiError(0, { error: { code: "offline", message: "The server cannot be reached. Nothing was recorded; try again." } });
  }
  downtime.answered();
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch (err) {
    json = null;
  }
  if (!res.ok) {
    const error = new ApiError(res.status, json, Number(res.headers.get("Retry-After")) || null);
    if (res.status === 401 && error.code === "unauthenticated") onUnauthenticated();
    if (res.status === 409 && error.code === "user_changed") onUserChanged();
    throw error;
  }
  if (method === "GET") lastAnswers.set(path, json);
  return json;
}

// A fresh Idempotency-Key for one action of the user (docs/http.md,
// Retries): 128 random bits in hex (crypto.randomUUID needs HTTPS).
function newKey() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// The commands on visits, alerts and courses: what records clinical data.
const COMMAND = /^\/(visits|alerts|courses)(\/|$)/;
const RETRY_DELAYS_MS = [500, 1500];

export async function call(method, path, body) {
  if (method !== "POST" || !COMMAND.test(path)) return send(method, path, body, null);
  // One key per action, sent again with its own retries: when the answer was
  // lost (the connection dropped, the site moved to another node), the retry
  // gets the first answer and nothing is recorded twice.
  const key = newKey();
  for (let attempt = 0; ; attempt++) {
    try {
      return await send(method, path, body, key);
    } catch (err) {
      const retry = err.code === "offline" || err.code === "commit_failed" || err.code === "idempotency_key_in_use";
      if (!retry || attempt >= RETRY_DELAYS_MS.length) throw err;
      await new Promise((resolve) => setTimeout(resolve, RETRY_DELAYS_MS[attempt]));
    }
  }
}

export const get = (path) => call("GET", path);
// A GET that is never answered from the last answer: for what must be the
// server's now (clock.js: an old time would move the page's clock back).
export const getLive = (path) => send("GET", path, undefined, null, true);
export const post = (path, body) => call("POST", path, body === undefined ? {} : body);

// Every page of a list: GET path (with its query) again with after=next
// until the last page; the items are the answers' key member.
export async function all(path, key) {
  const items = [];
  const sep = path.includes("?") ? "&" : "?";
  let after = 0;
  for (;;) {
    const page = await get(`${path}${sep}limit=1000&after=${after}`);
    items.push(...page[key]);
    const more = "more" in page ? page.more && page[key].length > 0 : page.next !== null && page.next !== undefined;
    if (!more) return items;
    after = page.next;
  }
}
