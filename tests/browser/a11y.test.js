// a11y.test.js: every page of the workstation, at the three window sizes a
// ward uses (a desktop 1366x768, a tablet 1024x768, a phone 390x844), checked
// by axe-core (an independent accessibility engine, from npm) in Debian's
// chromium against a real `vigil serve` (issue 19): no violation of serious
// or critical impact on any page, and no page scrolls sideways.
//
// The pages carry what a shift gives them: a ketamine visit with readings
// that raised a high and a medium alert (banners on every page), a
// discharged visit for the summary and the patient's course, the users and
// protocols pages as an admin.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";
import { startServer, chromiumOrSkip, apiClient } from "./serve.js";

const exe = chromiumOrSkip();
const axePath = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

const USERS = {
  "nurse.kim": { role: "nurse", password: "correct horse nurse" },
  "dr.osei": { role: "clinician", password: "correct horse clinician" },
  "admin.lee": { role: "admin", password: "correct horse admin" },
};
const SIZES = [
  { width: 1366, height: 768 },
  { width: 1024, height: 768 },
  { width: 390, height: 844 },
];

let browser, server, api;

// A ketamine visit in its infusion phase with a reading that raised a high
// and a medium alert.
async function alertingVisit(patient) {
  const v = await api("dr.osei", "POST", "/visits", { protocol: "ketamine_iv", patient, location: "Chair 2", params: { weight: 70 } });
  await api("dr.osei", "POST", `/visits/${v.id}/entries`, { baseline: { sbp: 120, dbp: 80, hr: 70, spo2: 98, rr: 14 } });
  await api("dr.osei", "POST", `/visits/${v.id}/override`, { reason: "test: straight to the infusion", password: USERS["dr.osei"].password });
  await api("dr.osei", "POST", `/visits/${v.id}/entries`, { vitals: { sbp: 210, dbp: 125, hr: 80, spo2: 98, rr: 14 } });
  return v.id;
}

// What axe finds of serious or critical impact, one line each.
async function violations(p) {
  await p.addScriptTag({ path: axePath });
  const found = await p.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ["violations"] });
    return r.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join("; ")})`);
  });
  return found;
}

async function signIn(p, name) {
  await p.getByLabel("User name").fill(name);
  await p.getByLabel("Password").fill(USERS[name].password);
  await p.getByRole("button", { name: "Sign in" }).click();
  await p.getByRole("heading", { name: "Board" }).first().waitFor();
}

before(async () => {
  server = await startServer({ users: USERS });
  api = apiClient(server, USERS);
  browser = await chromium.launch({ executablePath: exe, args: ["--no-sandbox"] });
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

describe("every page passes axe-core (serious, critical) and fits the window at 1366, 1024 and 390 px", () => {
  let visitId;
  before(async () => {
    visitId = await alertingVisit("MRN-A11Y");
  });

  // name, who signs in (null: nobody), the route, what shows it is drawn.
  const pages = () => [
    ["sign-in", null, "/", (p) => p.getByLabel("User name").waitFor()],
    ["board", "nurse.kim", "/#/board", (p) => p.getByRole("heading", { name: "Board" }).first().waitFor()],
    ["start", "nurse.kim", "/#/start", (p) => p.getByRole("heading", { name: /Start a visit/ }).first().waitFor()],
    ["visit", "nurse.kim", `/#/visit/${visitId}`, (p) => p.getByRole("heading", { name: /Patient MRN-A11Y/ }).first().waitFor()],
    ["summary", "nurse.kim", `/#/visit/${visitId}/summary`, (p) => p.locator("main h1").first().waitFor()],
    ["patient", "nurse.kim", "/#/patient/MRN-A11Y", (p) => p.getByRole("heading", { name: "Patient MRN-A11Y" }).first().waitFor()],
    ["users", "admin.lee", "/#/users", (p) => p.getByRole("heading", { name: /Users/ }).first().waitFor()],
    ["protocols", "admin.lee", "/#/protocols", (p) => p.getByRole("heading", { name: /Protocols/ }).first().waitFor()],
  ];

  it("axe finds what it is meant to find (the check can fail)", async () => {
    const ctx = await browser.newContext({ bypassCSP: true });
    const p = await ctx.newPage();
    await p.goto(server.url + "/");
    await p.getByLabel("User name").waitFor();
    await p.evaluate(() => document.getElementById("main").append(Object.assign(document.createElement("img"), { src: "/icon.svg" }), document.createElement("input")));
    const found = (await violations(p)).join("\n");
    assert.match(found, /critical image-alt/);
    assert.match(found, /critical label/);
    await ctx.close();
  });

  // One browser context per user, signed in once, each page at each size.
  it("at 1366x768, 1024x768 and 390x844", async () => {
    const problems = [];
    for (const user of [null, "nurse.kim", "admin.lee"]) {
      const ctx = await browser.newContext({ viewport: SIZES[0], locale: "en-GB", timezoneId: "UTC", reducedMotion: "reduce", bypassCSP: true });
      ctx.setDefaultTimeout(30000);
      const p = await ctx.newPage();
      p.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
      await p.goto(server.url + "/");
      if (user) await signIn(p, user);
      for (const size of SIZES) {
        await p.setViewportSize(size);
        for (const [name, who, route, drawn] of pages()) {
          if (who !== user) continue;
          await p.goto(server.url + route);
          await drawn(p);
          // The alert banners are drawn on every page but the sign-in.
          if (user) await p.locator("#alarms .alarm").first().waitFor();
          await p.waitForTimeout(300);
          const at = `${name} at ${size.width}x${size.height}`;
          for (const v of await violations(p)) problems.push(`${at}: ${v}`);
          const wide = await p.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
          if (wide.scroll > wide.client + 1) problems.push(`${at}: scrolls sideways (${wide.scroll} px of content in ${wide.client} px)`);
        }
      }
      await ctx.close();
    }
    assert.deepEqual(problems, []);
  });
});
