// site.test.js: the workstation on a node of a cluster that owns two sites
// (docs/deploy.md; E1 of the third independent try): a real PostgreSQL
// (pg.js), `vigil serve --node n1 --sites south,north`, and visit 1 on each
// site (visit ids count per site). The page's site comes from the address
// (`?site=north`) and goes with every API call and the event stream; the
// header names it; a page that names none on a node owning several asks
// which, never showing the first site's board; a note written on north's
// visit 1 is north's, not south's visit 1's.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { chromiumOrSkip, vigil, launch, repo } from "./serve.js";
import { startPostgres } from "./pg.js";

const exe = chromiumOrSkip();
const NURSE = { name: "nurse.kim", password: "correct horse nurse" };

let pg, node, browser, cwd, url, token;
const problems = [];
// Every API request a page sent: its path and its site.
const requests = [];

async function api(method, path, body) {
  const r = await fetch(url + "/api/v1" + path, { method, headers: { Authorization: `Bearer ${token}` }, body: body && JSON.stringify(body) });
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  return r.json();
}

before(async () => {
  pg = await startPostgres();
  if (!pg) {
    console.log("SKIP: no PostgreSQL (scripts/install-deps installs Debian's)");
    process.exit(77);
  }
  let r = vigil(["site", "add", "south,north", "--store", pg.uri]);
  assert.equal(r.status, 0, r.stderr);
  r = vigil(["user", "add", NURSE.name, "--role", "nurse", "--password-stdin", "--db", pg.uri], NURSE.password + "\n");
  assert.equal(r.status, 0, r.stderr);
  cwd = mkdtempSync(join(tmpdir(), "vigil-site-"));
  node = await launch(["serve", "--store", pg.uri, "--node", "n1", "--sites", "south,north", "--protocols", join(repo, "protocols"),
    "--listen", "127.0.0.1:0"], {}, cwd);
  url = `http://127.0.0.1:${node.port}`;
  const s = await fetch(url + "/api/v1/session", { method: "POST", body: JSON.stringify({ user: NURSE.name, password: NURSE.password }) });
  token = (await s.json()).token;
  // Visit 1 on each site, the first site's started first.
  const south = await api("POST", "/visits?site=south", { protocol: "ketamine_iv", patient: "MRN-SOUTH", params: { weight: 70 } });
  const north = await api("POST", "/visits?site=north", { protocol: "ketamine_iv", patient: "MRN-NORTH", params: { weight: 70 } });
  assert.equal(south.id, 1);
  assert.equal(north.id, 1);
  browser = await chromium.launch({ executablePath: exe, args: ["--no-sandbox"] });
});

after(async () => {
  if (browser) await browser.close();
  if (node && node.child.exitCode === null) {
    const exited = new Promise((r) => node.child.once("exit", r));
    node.child.kill("SIGTERM");
    await exited;
  }
  if (pg) pg.stop();
  if (cwd) rmSync(cwd, { recursive: true, force: true });
  assert.deepEqual(problems, []);
});

async function page() {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "en-GB", timezoneId: "UTC" });
  ctx.setDefaultTimeout(30000);
  const p = await ctx.newPage();
  p.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  p.on("request", (r) => {
    const u = new URL(r.url());
    if (u.pathname.startsWith("/api/v1/")) requests.push({ path: u.pathname, site: u.searchParams.get("site") });
  });
  return p;
}

async function signIn(p, address) {
  await p.goto(url + address);
  await p.getByLabel("User name").fill(NURSE.name);
  await p.getByLabel("Password").fill(NURSE.password);
  await p.getByRole("button", { name: "Sign in" }).click();
}

describe("the workstation names its site", () => {
  it("on a node owning two sites, a page that names none asks which, and shows no board", async () => {
    const p = await page();
    await signIn(p, "/");
    await p.getByRole("heading", { name: "Choose your site" }).waitFor();
    assert.equal(await p.getByRole("heading", { name: "Board" }).count(), 0);
    assert.deepEqual(await p.locator("[data-site]").evaluateAll((els) => els.map((e) => e.dataset.site)), ["south", "north"]);
    await p.getByRole("button", { name: "north" }).click();
    await p.getByRole("heading", { name: "Board" }).waitFor();
    await p.getByRole("link", { name: "MRN-NORTH" }).waitFor();
    assert.equal(await p.getByRole("link", { name: "MRN-SOUTH" }).count(), 0);
    assert.equal(await p.locator("#site").innerText(), "Site: north");
    assert.equal(new URL(p.url()).searchParams.get("site"), "north");
    await p.context().close();
  });

  it("?site=north shows north's board, sends the site with every call, and writes on north's visit", async () => {
    const p = await page();
    requests.length = 0;
    await signIn(p, "/?site=north");
    await p.getByRole("heading", { name: "Board" }).waitFor();
    await p.getByRole("link", { name: "MRN-NORTH" }).waitFor();
    assert.equal(await p.getByRole("link", { name: "MRN-SOUTH" }).count(), 0);
    assert.equal(await p.locator("#site").innerText(), "Site: north");
    // Visit 1 of this page is north's.
    await p.goto(url + "/?site=north#/visit/1");
    await p.getByRole("heading", { name: "Patient MRN-NORTH" }).waitFor();
    await p.getByRole("button", { name: "Add a note…" }).click();
    const dlg = p.locator("dialog[open]");
    await dlg.getByLabel("Note", { exact: true }).fill("Settled, asked for a blanket.");
    await dlg.getByRole("button", { name: "Save the note" }).click();
    await p.locator(".history li", { hasText: "Nursing note: Settled, asked for a blanket." }).first().waitFor();
    const notes = async (site) => (await api("GET", `/visits/1/events?limit=1000&site=${site}`)).events.filter((e) => e.type === "note.written");
    assert.equal((await notes("north")).length, 1);
    assert.equal((await notes("south")).length, 0);
    // Every call of a site's (the session's and the cluster's are the node's) named north.
    const ofSite = requests.filter((r) => !/^\/api\/v1\/(session|cluster|healthz)/.test(r.path));
    assert.ok(ofSite.some((r) => r.path === "/api/v1/events/stream"), "the event stream was opened");
    assert.deepEqual(ofSite.filter((r) => r.site !== "north"), []);
    // A value typed on north's visit 1 and not recorded is north's draft:
    // this tab opened on south's visit 1 does not offer it there.
    const systolic = () => p.locator(".item", { has: p.getByRole("heading", { name: "Baseline vitals before dosing", exact: true }) })
      .getByLabel("Systolic BP", { exact: true });
    await systolic().fill("152");
    await p.waitForFunction(() => Object.keys(sessionStorage).some((k) => k.startsWith("vigil.draft.")));
    await p.goto(url + "/?site=south#/visit/1");
    await p.getByRole("heading", { name: "Patient MRN-SOUTH" }).waitFor();
    assert.equal(await p.locator("#site").innerText(), "Site: south");
    await systolic().waitFor();
    assert.equal(await systolic().inputValue(), "");
    assert.equal(await p.locator(".draft-note").count(), 0);
    // Back on north's, the draft is there.
    await p.goto(url + "/?site=north#/visit/1");
    await p.getByRole("heading", { name: "Patient MRN-NORTH" }).waitFor();
    await p.locator(".draft-note", { hasText: "not recorded yet" }).waitFor();
    assert.equal(await systolic().inputValue(), "152");
    await p.context().close();
  });
});
