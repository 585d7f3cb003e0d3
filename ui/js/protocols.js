// protocols.js: the protocols the server has loaded, fetched once.
import { get } from "./api.js";

let cache = null;

export async function load(fresh) {
  if (fresh) cache = null;
  if (!cache) cache = get("/protocols").then((r) => r.protocols).catch((err) => { cache = null; throw err; });
  return cache;
}

// The title of "id@version", once loaded (else the id).
export async function title(ref) {
  const list = await load();
  const p = list.find((x) => x.ref === ref);
  return p ? p.title : ref.split("@")[0];
}

// "1.10.0" after "1.9.2".
export function newer(a, b) {
  return a.version.localeCompare(b.version, "en", { numeric: true }) > 0;
}

// The versions a new visit may start on: of each protocol, its newest
// approved version (what the server starts for a bare id).
export async function startable() {
  const best = new Map();
  for (const p of await load(true)) {
    if (!p.approved) continue;
    const have = best.get(p.id);
    if (!have || newer(p, have)) best.set(p.id, p);
  }
  return [...best.values()];
}
