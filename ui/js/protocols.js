// protocols.js: the protocols the server has loaded, fetched once.
import { get } from "./api.js";

let cache = null;

export async function load() {
  if (!cache) cache = get("/protocols").then((r) => r.protocols).catch((err) => { cache = null; throw err; });
  return cache;
}

// The title of "id@version", once loaded (else the id).
export async function title(ref) {
  const list = await load();
  const p = list.find((x) => x.ref === ref);
  return p ? p.title : ref.split("@")[0];
}

// The versions a new visit may start on: what each protocol folder holds
// (versions loaded back from the store only serve visits already running).
export async function startable() {
  return (await load()).filter((p) => p.default);
}
