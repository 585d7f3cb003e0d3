// site.js: the site this page works for. On a node of a cluster
// (docs/deploy.md) one listener serves several sites and visit ids count per
// site, so a page that named no site saw and wrote to the node's first
// site's board: after a failover behind a proxy, another clinic's (E1 of the
// third try). The page's site comes from the address (`?site=north`), else
// from this tab (sessionStorage: a reload keeps it), else from the node when
// it owns one site only; a node owning several asks which, never choosing
// the first. It is settled once, before anything of a site is read, and is
// the page's for its whole life: every API call and the event stream carry
// it (api.js, stream.js), the header shows it, and another site is another
// page (`?site=`), so that nothing typed on one site's visit is sent to
// another's. A single server (not a node) has no site: nothing is added.
const KEY = "vigil.site";
const NAME = /^[A-Za-z0-9_-]{1,64}$/;

let site = null;
let settled = false;

// The page's site, or null (a single server, or not settled yet).
export function current() {
  return site;
}

export function isSettled() {
  return settled;
}

// url with the page's site added to its query (unchanged without one).
export function withSite(url) {
  if (!site) return url;
  const hash = url.indexOf("#");
  const base = hash < 0 ? url : url.slice(0, hash);
  const rest = hash < 0 ? "" : url.slice(hash);
  return `${base}${base.includes("?") ? "&" : "?"}site=${encodeURIComponent(site)}${rest}`;
}

// The site the address names, else the one this tab kept.
function named() {
  const fromUrl = new URLSearchParams(location.search).getAll("site");
  if (fromUrl.length) return fromUrl[0];
  return sessionStorage.getItem(KEY);
}

function keep(name) {
  site = name;
  settled = true;
  sessionStorage.setItem(KEY, name);
  // The address names the site too: a reload, a bookmark or a link copied
  // to another screen opens the same site's board.
  const params = new URLSearchParams(location.search);
  if (params.get("site") !== name) {
    params.set("site", name);
    history.replaceState(history.state, "", `${location.pathname}?${params}${location.hash}`);
  }
}

// Settles the page's site with cluster(), GET /api/v1/cluster's answer
// (null when the server is not a node). Resolves to null when settled, or to
// {choices, problem} when the user must choose: the sites of this cluster
// (this node's first), and why (a site named that the cluster lacks, a node
// owning several).
export async function settle(cluster) {
  const want = named();
  const answer = await cluster();
  if (!answer) {
    site = null;
    settled = true;
    return null;
  }
  const sites = answer.sites || [];
  const all = sites.map((s) => s.site);
  // This node's sites, its first site first, then the sites other nodes own
  // (a choice of those is sent to their owner); a site no live node owns is
  // offered by none.
  const mine = sites.filter((s) => s.owner === answer.node).map((s) => s.site)
    .sort((a, b) => (b === answer.site) - (a === answer.site));
  const choices = [...mine, ...sites.filter((s) => s.owner && s.owner !== answer.node && s.lease_ms > 0).map((s) => s.site)];
  if (want !== null && NAME.test(want) && all.includes(want)) {
    keep(want);
    return null;
  }
  if (want !== null) return { choices, problem: `This cluster has no site named \u201c${want}\u201d.` };
  if (mine.length === 1) {
    keep(mine[0]);
    return null;
  }
  return { choices, problem: `This server works for ${mine.length} sites: choose yours.` };
}

// Opens the page for another site (the board of that site).
export function choose(name) {
  sessionStorage.setItem(KEY, name);
  const params = new URLSearchParams(location.search);
  params.set("site", name);
  location.assign(`${location.pathname}?${params}#/board`);
}
