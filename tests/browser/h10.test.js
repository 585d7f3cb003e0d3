// h10.test.js: hazard H10 of docs/safety.md in Debian's chromium (headless,
// driven by playwright-core) against real `vigil serve`s: alarms off screen,
// sound off, sessions ending mid-entry. Each step fails without its control:
//   - the alarm banners stay in view while the nurse is far down the page,
//     and the card whose value raised them says so;
//   - the sound is on from the start, the browser's autoplay rule met by the
//     first click, in IEC 60601-1-8 bursts (high 10 pulses, medium 3);
//   - "Pause sound" lasts the site's alarm_pause, then the alarm sounds again;
//   - the session cookie slides with the session while the nurse works, a
//     warning comes before it ends, and what she typed survives signing in
//     again;
//   - a banner the nurse cannot acknowledge (a carried alert) beside one she
//     can keeps the stack within its 35 % of the window, its message not
//     squeezed into a narrow column, and the vitals and Record clickable
//     (AK1, docs/workstation.md).
// The browser runs with the autoplay rule of a desktop chromium (sound only
// after the page is clicked), and a script put in before the app's records
// every tone the app schedules (Web Audio's OscillatorNode.start and stop).
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { startServer, chromiumPath, unrecordedItems } from "./serve.js";

const exe = chromiumPath();
if (!exe) {
  console.log("SKIP: no chromium (scripts/install-deps installs Debian's)");
  process.exit(77);
}

const USERS = {
  "nurse.kim": { role: "nurse", password: "correct horse nurse" },
  "dr.osei": { role: "clinician", password: "correct horse clinician" },
};
// The alarms' server pauses sound for 6 s (alarm_pause); the sessions'
// server lets a sign-in last 21.6 s without use (session_hours = 0.006),
// and keeps the default pause (2 minutes).
const PAUSE_S = 6;
const SESSION_S = 21;

let browser, confDir, alarmsServer, sessionServer, carriedServer;
const problems = [];

async function page(server, viewport = { width: 1024, height: 768 }) {
  const ctx = await browser.newContext({ viewport, locale: "en-GB", timezoneId: "UTC", reducedMotion: "reduce" });
  ctx.setDefaultTimeout(30000);
  await ctx.addInitScript(() => {
    // Every tone the page schedules: when it was scheduled (performance.now),
    // its start and stop on the audio clock, its frequency and waveform.
    window.__tones = [];
    const start = OscillatorNode.prototype.start;
    const stop = OscillatorNode.prototype.stop;
    OscillatorNode.prototype.start = function (when) {
      this.__tone = { made: performance.now(), start: when, hz: this.frequency.value, type: this.type };
      window.__tones.push(this.__tone);
      return start.call(this, when);
    };
    OscillatorNode.prototype.stop = function (when) {
      if (this.__tone) this.__tone.stop = when;
      return stop.call(this, when);
    };
  });
  const p = await ctx.newPage();
  p.server = server;
  p.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  p.on("console", (m) => {
    if (m.type() === "error" && !/^Failed to load resource: the server responded with a status of 4\d\d/.test(m.text()))
      problems.push(`console: ${m.text()}`);
  });
  return p;
}

async function signIn(p, name, landing = "Board") {
  await p.getByLabel("User name").fill(name);
  await p.getByLabel("Password").fill(USERS[name].password);
  await p.getByRole("button", { name: "Sign in" }).click();
  if (landing) await p.getByRole("heading", { name: landing }).first().waitFor();
}

// The API as one user of one server, with a Bearer token.
const tokens = new Map();
async function api(server, user, method, path, body) {
  const k = server.url + user;
  if (!tokens.has(k)) {
    const r = await fetch(server.url + "/api/v1/session", { method: "POST", body: JSON.stringify({ user, password: USERS[user].password }) });
    tokens.set(k, (await r.json()).token);
  }
  const r = await fetch(server.url + "/api/v1" + path, { method, headers: { Authorization: `Bearer ${tokens.get(k)}` }, body: body && JSON.stringify(body) });
  assert.ok(r.ok, `${method} ${path}: ${r.status} ${await r.clone().text()}`);
  return r.json();
}

function card(p, title) {
  return p.locator(".item", { has: p.getByRole("heading", { name: title, exact: true }) });
}

// The phase's one Record button (it records every item typed on the form).
async function record(p) {
  await p.locator(".checklist").getByRole("button", { name: "Record", exact: true }).click();
}

// The groups of tones scheduled after `since` (performance.now() of the
// page), one group a burst (the app schedules a burst's tones at once).
async function bursts(p, since) {
  const tones = await p.evaluate(() => window.__tones);
  const groups = [];
  for (const t of tones.filter((x) => x.made > since)) {
    const g = groups.find((x) => Math.abs(x[0].made - t.made) < 5);
    if (g) g.push(t);
    else groups.push([t]);
  }
  return groups.map((g) => g.sort((a, b) => a.start - b.start));
}

async function waitForBurst(p, since, pulses) {
  const end = Date.now() + 30000;
  for (;;) {
    const b = (await bursts(p, since)).find((g) => g.length === pulses);
    if (b) return b;
    if (Date.now() > end) throw new Error(`no burst of ${pulses} pulses; scheduled: ${JSON.stringify((await bursts(p, since)).map((g) => g.length))}`);
    await new Promise((ok) => setTimeout(ok, 100));
  }
}

const near = (x, lo, hi, what) => assert.ok(x >= lo - 1e-6 && x <= hi + 1e-6, `${what}: ${x.toFixed(3)} s is not within ${lo}..${hi} s`);

// IEC 60601-1-8 table 3. td: a pulse's duration; ts: the silence from the
// end of one pulse to the start of the next.
function checkHigh(b) {
  assert.equal(b.length, 10, "a high priority burst has 10 pulses");
  const td = b.map((t) => t.stop - t.start);
  const ts = b.slice(1).map((t, i) => t.start - b[i].stop);
  for (const d of td) near(d, 0.075, 0.2, "high priority pulse duration");
  for (const i of [0, 1, 3, 5, 6, 8]) near(ts[i], 0.05, 0.125, `high priority spacing after pulse ${i + 1}`);
  // 3 + 2: between the 3rd and the 4th (and the 8th and 9th) 2 ts + td.
  for (const i of [2, 7]) near(ts[i], 2 * ts[0] + td[0] - 0.001, 2 * ts[0] + td[0] + 0.001, `high priority spacing after pulse ${i + 1}`);
  near(ts[4], 0.35, 1.3, "high priority spacing between the 5th and the 6th pulse");
  // Harmonics: a waveform of the app's own (not a plain sine).
  for (const t of b) assert.equal(t.type, "custom", "the pulses carry harmonics");
}

function checkMedium(b) {
  assert.equal(b.length, 3, "a medium priority burst has 3 pulses");
  for (const t of b) near(t.stop - t.start, 0.125, 0.25, "medium priority pulse duration");
  for (let i = 1; i < 3; i++) near(b[i].start - b[i - 1].stop, 0.125, 0.25, "medium priority spacing");
  for (const t of b) assert.equal(t.type, "custom", "the pulses carry harmonics");
}

// A ketamine visit in its infusion phase (baseline recorded, the screening
// gate overridden by the clinician), the infusion started: its "Vitals" card
// is far down the page. The start comes first, as on the ward: a reading
// before it is the pre-start reading, which holds the start (docs/safety.md
// AP1) with alerts of its own; these tests are about readings during the
// infusion.
async function infusionVisit(server, patient) {
  const v = await api(server, "dr.osei", "POST", "/visits", { protocol: "ketamine_iv", patient, location: "Chair 3", params: { weight: 70 } });
  await api(server, "dr.osei", "POST", `/visits/${v.id}/entries`, { baseline: { sbp: 120, dbp: 80, hr: 70, spo2: 98, rr: 14 } });
  await api(server, "dr.osei", "POST", `/visits/${v.id}/override`, { reason: "test: straight to the infusion", items: await unrecordedItems((p) => api(server, "dr.osei", "GET", p), v.id), password: USERS["dr.osei"].password });
  await api(server, "dr.osei", "POST", `/visits/${v.id}/entries`, { infusion_started: true });
  return v.id;
}

let failed = false;
function step(name, fn) {
  it(name, async (t) => {
    if (failed) return t.skip("an earlier step failed");
    try {
      await fn();
    } catch (err) {
      failed = true;
      throw err;
    }
  });
}

before(async () => {
  confDir = mkdtempSync(join(tmpdir(), "vigil-h10-"));
  writeFileSync(join(confDir, "alarms.conf"), `alarm_pause = ${PAUSE_S}\n`);
  writeFileSync(join(confDir, "session.conf"), "session_hours = 0.006\n");
  alarmsServer = await startServer({ users: USERS, extraArgs: ["--config", join(confDir, "alarms.conf")] });
  sessionServer = await startServer({ users: USERS, extraArgs: ["--config", join(confDir, "session.conf")] });
  carriedServer = await startServer({ users: USERS });
  browser = await chromium.launch({ executablePath: exe, args: ["--no-sandbox", "--autoplay-policy=document-user-activation-required"] });
});

after(async () => {
  if (browser) await browser.close();
  if (alarmsServer) await alarmsServer.stop();
  if (sessionServer) await sessionServer.stop();
  if (carriedServer) await carriedServer.stop();
  if (confDir) rmSync(confDir, { recursive: true, force: true });
});

describe("H10: alarms in view and heard, sessions that do not end mid-entry", () => {
  let nurse, visitId;

  step("sound is on from the start: the first click on the page allows it", async () => {
    nurse = await page(alarmsServer);
    await nurse.goto(alarmsServer.url + "/");
    await nurse.getByLabel("User name").waitFor();
    assert.equal(await nurse.evaluate(() => document.body.dataset.audio), "blocked");
    await signIn(nurse, "nurse.kim");
    await nurse.waitForFunction(() => document.body.dataset.audio === "running");
    // A reload (the session goes on): no click yet, so the header asks for one...
    await nurse.reload();
    await nurse.getByRole("heading", { name: "Board" }).waitFor();
    assert.equal(await nurse.evaluate(() => document.body.dataset.audio), "blocked");
    await nurse.getByRole("button", { name: "Click to allow alarm sound" }).waitFor();
    // ...and any click on the page gives it.
    await nurse.getByRole("heading", { name: "Board" }).click();
    await nurse.waitForFunction(() => document.body.dataset.audio === "running");
    await nurse.getByRole("button", { name: "Pause all sound" }).waitFor();
  });

  step("the alerts of an entry far down the page are in view, the card flags the value, and they sound as IEC high", async () => {
    visitId = await infusionVisit(alarmsServer, "MRN-H10A");
    await nurse.goto(`${alarmsServer.url}/#/visit/${visitId}`);
    const vitals = card(nurse, "Vitals");
    await vitals.waitFor();
    await vitals.evaluate((el) => el.scrollIntoView({ block: "end" }));
    const values = { "Systolic BP": 210, "Diastolic BP": 125, "Heart rate": 80, "SpO₂": 98, "Respiratory rate": 14 };
    for (const [label, x] of Object.entries(values)) await vitals.getByLabel(label, { exact: true }).fill(String(x));
    const since = await nurse.evaluate(() => performance.now());
    await record(nurse);
    const high = nurse.locator("#alarms .alarm-high", { hasText: "MRN-H10A" });
    const medium = nurse.locator("#alarms .alarm-medium", { hasText: "MRN-H10A" });
    await high.waitFor();
    await medium.waitFor();
    // The nurse is still far down the page, and both banners are on screen, on top.
    const scrolled = await nurse.evaluate(() => window.scrollY);
    const natural = await nurse.evaluate(() => document.getElementById("top").offsetHeight + document.getElementById("alarms").offsetHeight);
    assert.ok(scrolled > natural, `the page is scrolled (${scrolled} px) past where the banners sit (${natural} px)`);
    for (const banner of [high, medium]) {
      const box = await banner.boundingBox();
      assert.ok(box && box.y >= 0 && box.y + box.height <= 768, `banner in the viewport: ${JSON.stringify(box)}`);
      const onTop = await banner.evaluate((el) => {
        const r = el.getBoundingClientRect();
        return el.contains(document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2));
      });
      assert.ok(onTop, "nothing covers the banner");
    }
    // The card of the value says which alerts it raised, in their colours.
    await vitals.locator(".item-flag.flag-high", { hasText: "210/125" }).waitFor();
    await vitals.locator(".item-flag.flag-medium", { hasText: "210/125" }).waitFor();
    assert.match(await vitals.getAttribute("class"), /item-alert-high/);
    // The high priority burst: 10 pulses, 3 + 2, a pause, 3 + 2.
    assert.equal(await nurse.evaluate(() => document.body.dataset.alarmSound), "high");
    checkHigh(await waitForBurst(nurse, since, 10));
  });

  step("Pause sound lasts the site's alarm_pause, then the alarm sounds again", async () => {
    const high = nurse.locator("#alarms .alarm-high", { hasText: "MRN-H10A" });
    const pause = high.getByRole("button", { name: `Pause sound for ${PAUSE_S} s` });
    const since = await nurse.evaluate(() => performance.now());
    const t0 = Date.now();
    await pause.click();
    // The medium alert still sounds, with its own burst of 3.
    await nurse.waitForFunction(() => document.body.dataset.alarmSound === "medium");
    checkMedium(await waitForBurst(nurse, since, 3));
    await high.locator('button[aria-pressed="true"]', { hasText: "Sound paused" }).waitFor();
    // Nobody touches it: after the pause the high alarm sounds again.
    await nurse.waitForFunction(() => document.body.dataset.alarmSound === "high", null, { timeout: (PAUSE_S + 10) * 1000 });
    const took = (Date.now() - t0) / 1000;
    assert.ok(took >= PAUSE_S - 0.5, `the pause lasted ${took} s, not less than ${PAUSE_S} s`);
    await high.getByRole("button", { name: `Pause sound for ${PAUSE_S} s` }).waitFor();
    // Pausing every alarm at once is limited the same way, and covers only
    // the alerts there are: one raised during the pause sounds at once.
    const other = await infusionVisit(alarmsServer, "MRN-H10C");
    const t1 = Date.now();
    await nurse.getByRole("button", { name: "Pause all sound" }).click();
    await nurse.waitForFunction(() => document.body.dataset.alarmSound === "");
    await nurse.getByRole("button", { name: /All sound paused/ }).waitFor();
    await api(alarmsServer, "dr.osei", "POST", `/visits/${other}/entries`, { vitals: { sbp: 165, dbp: 90, hr: 72, spo2: 98, rr: 14 } });
    // Three banners may not all fit (N9 folds them): the new one is shown or folded.
    await nurse.locator("#alarms .alarm-medium", { hasText: "MRN-H10C" }).or(nurse.locator("#alarms .alarm-fold")).waitFor();
    // The new alert sounds while MRN-H10A's two stay paused.
    await nurse.waitForFunction(() => document.body.dataset.alarmSound === "medium" &&
      [...document.querySelectorAll("#alarms .alarm")].filter((b) => b.textContent.includes("MRN-H10A"))
        .every((b) => b.querySelector('button.pause[aria-pressed="true"]')));
    assert.ok((Date.now() - t1) / 1000 < PAUSE_S, "the new alert sounded within the pause");
    await nurse.waitForFunction(() => document.body.dataset.alarmSound === "high", null, { timeout: (PAUSE_S + 10) * 1000 });
    assert.ok((Date.now() - t1) / 1000 >= PAUSE_S - 0.5);
    // The banners stayed all along (folded or shown).
    assert.equal(await nurse.evaluate(() => document.querySelectorAll("#alarms .alarm:not(.alarm-fold)").length +
      Number((document.querySelector("#alarms .alarm-fold") || { dataset: { folded: 0 } }).dataset.folded)), 3);
  });

  step("past three banners the stack folds into one line that names what it folds (N9)", async () => {
    // MRN-H10A's high and medium and MRN-H10C's medium are up; two more
    // medium alerts make five.
    for (const patient of ["MRN-H10D", "MRN-H10E"]) {
      const v = await infusionVisit(alarmsServer, patient);
      await api(alarmsServer, "dr.osei", "POST", `/visits/${v}/entries`, { vitals: { sbp: 165, dbp: 90, hr: 72, spo2: 98, rr: 14 } });
    }
    const fold = nurse.locator("#alarms .alarm-fold");
    const banners = nurse.locator("#alarms .alarm:not(.alarm-fold)");
    // All five are in, folded or shown.
    await nurse.waitForFunction(() => {
      const f = document.querySelector("#alarms .alarm-fold");
      return f && document.querySelectorAll("#alarms .alarm:not(.alarm-fold)").length + Number(f.dataset.folded) === 5;
    });
    const shown = await banners.count();
    assert.ok(shown >= 1 && shown <= 3, `${shown} banners shown`);
    // The loudest first, then the newest: the high alert leads, MRN-H10E's next.
    assert.match(await banners.first().getAttribute("class"), /alarm-high/);
    assert.match(await banners.first().innerText(), /MRN-H10A/);
    if (shown > 1) assert.match(await banners.nth(1).innerText(), /MRN-H10E/);
    assert.match(await fold.innerText(), new RegExp(`${5 - shown} more alerts: ${5 - shown} medium`));
    assert.match(await fold.getAttribute("class"), /alarm-medium/, "the fold wears the colour of the loudest folded");
    // The stack, the fold line included, is in view and takes at most 35 % of the window.
    const stack = await nurse.evaluate(() => document.getElementById("alarms").getBoundingClientRect().toJSON());
    assert.ok(stack.height <= 768 * 0.35 + 1, `the folded stack is ${stack.height} px high`);
    const foldBox = await fold.boundingBox();
    assert.ok(foldBox.y + foldBox.height <= stack.bottom + 1, "the fold line is not cut off");
    // Unfolded on request, every banner with its own Acknowledge; folded again.
    await fold.getByRole("button", { name: "Show all 5" }).click();
    await nurse.waitForFunction(() => document.querySelectorAll("#alarms .alarm:not(.alarm-fold)").length === 5);
    assert.equal(await nurse.locator("#alarms .ack").count(), 5);
    await nurse.getByRole("button", { name: "Fold the banners" }).click();
    await fold.waitFor();
    // On a phone fewer fit, but the loudest is always shown.
    await nurse.setViewportSize({ width: 390, height: 844 });
    await nurse.waitForFunction(() => document.getElementById("alarms").offsetHeight <= 844 * 0.35 + 1 ||
      document.querySelectorAll("#alarms .alarm:not(.alarm-fold)").length === 1);
    assert.match(await banners.first().innerText(), /MRN-H10A/);
    await nurse.setViewportSize({ width: 1024, height: 768 });
    // The sound still follows every alert, folded or not.
    assert.equal(await nurse.evaluate(() => document.body.dataset.alarmSound), "high");
  });

  step("a session the server ends leaves nothing of a patient on the sign-in page, and says why (N8)", async () => {
    // The session ends elsewhere (the same cookie signed out by another
    // tab): the next request of the page finds it ended.
    await nurse.evaluate(() => fetch("/api/v1/session", { method: "DELETE", headers: { "X-Requested-With": "vigil" } }));
    await nurse.evaluate(() => { location.hash = "#/board"; });
    await nurse.locator("#signin-user").waitFor();
    assert.match(await nurse.locator("#signin-note").innerText(), /ended by the server/);
    await new Promise((ok) => setTimeout(ok, 200));
    assert.equal(await nurse.locator("#announce").textContent(), "", "the screen reader's region is empty");
    assert.equal(await nurse.locator("#alarms .alarm").count(), 0);
  });

  let sNurse, sVisit, cookieAtSignIn;
  const cookie = async () => (await sNurse.context().cookies()).find((c) => c.name === "vigil_session");
  const systolic = () => card(sNurse, "Baseline vitals before dosing").getByLabel("Systolic BP", { exact: true });

  step("the session cookie slides with the session while the nurse types", async () => {
    sNurse = await page(sessionServer);
    const v = await api(sessionServer, "dr.osei", "POST", "/visits", { protocol: "ketamine_iv", patient: "MRN-H10B", params: { weight: 70 } });
    sVisit = v.id;
    await sNurse.goto(`${sessionServer.url}/#/visit/${sVisit}`);
    await signIn(sNurse, "nurse.kim", "Patient MRN-H10B");
    // The site's default pause, told to the page: 2 minutes.
    assert.equal(await sNurse.evaluate(() => fetch("/api/v1/session").then((r) => r.json()).then((j) => j.alarm_pause_s)), 120);
    cookieAtSignIn = await cookie();
    assert.ok(cookieAtSignIn && cookieAtSignIn.expires > 0, "the sign-in sets a cookie with an end");
    // She types for longer than a sign-in lasts without use.
    await systolic().click();
    const end = Date.now() + (SESSION_S + 6) * 1000;
    while (Date.now() < end) {
      await sNurse.keyboard.type("1");
      await sNurse.keyboard.press("Backspace");
      await new Promise((ok) => setTimeout(ok, 2000));
    }
    await sNurse.keyboard.type("152");
    assert.equal(await sNurse.locator("#signin-user").count(), 0, "still signed in");
    const now = await cookie();
    assert.ok(now, "the cookie is still there");
    assert.ok(now.expires > cookieAtSignIn.expires + 5, `the cookie's end moved on (${cookieAtSignIn.expires} -> ${now.expires})`);
    assert.equal(await sNurse.locator("#session-warning").count(), 0);
  });

  step("a warning comes before the sign-in ends, and staying signed in renews it", async () => {
    const warning = sNurse.locator("#session-warning");
    await warning.waitFor({ timeout: (SESSION_S + 10) * 1000 });
    assert.match(await warning.innerText(), /Your sign-in ends in 0:0\d unless you use it/);
    const before = (await cookie()).expires;
    await warning.getByRole("button", { name: "Stay signed in" }).click();
    await warning.waitFor({ state: "detached" });
    assert.ok((await cookie()).expires > before + 2, "the cookie was renewed");
    assert.equal(await systolic().inputValue(), "152");
  });

  step("what was typed survives the end of the sign-in and comes back after signing in again", async () => {
    // Nobody uses the page: the warning, then the sign-in form, saying why.
    await sNurse.locator("#signin-user").waitFor({ timeout: (SESSION_S + 15) * 1000 });
    assert.match(await sNurse.locator("#signin-note").innerText(), /What you had typed is kept/);
    await signIn(sNurse, "nurse.kim", "Patient MRN-H10B");
    const c = card(sNurse, "Baseline vitals before dosing");
    await c.locator(".draft-note", { hasText: "not recorded yet" }).waitFor();
    // Why it is back, and when it was typed: its observed time (X2).
    assert.match(await c.locator(".draft-note").innerText(), /^Typed at \d\d:\d\d before you signed in again: not recorded yet/);
    assert.match(await sNurse.locator("#observed-hint").innerText(), /^Observed at \d\d:\d\d \(typed before you signed in again\)/);
    assert.equal(await systolic().inputValue(), "152");
    // Recorded, the draft is gone: a reload shows an empty card.
    const values = { "Diastolic BP": 84, "Heart rate": 70, "SpO₂": 98, "Respiratory rate": 14 };
    for (const [label, x] of Object.entries(values)) await c.getByLabel(label, { exact: true }).fill(String(x));
    await record(sNurse);
    await c.locator(".last", { hasText: "152" }).waitFor();
    await sNurse.reload();
    await card(sNurse, "Baseline vitals before dosing").locator(".last").waitFor();
    assert.equal(await systolic().inputValue(), "");
    assert.equal(await sNurse.locator(".draft-note").count(), 0);
  });

  it("had no script errors", () => {
    assert.deepEqual(problems, []);
  });
});

describe("AK1: a banner the nurse cannot acknowledge keeps the stack within its share", () => {
  it("a carried alert and one of hers, at 1024x768 and 390x844: at most 35 % of the window, the message not squeezed, the vitals and Record clickable", async () => {
    const server = carriedServer;
    const v = await infusionVisit(server, "MRN-AK1");
    // The baseline's SpO2 amended in the infusion: screening's spo2_low
    // raises a high alert, carried (a rule of a phase the visit has left,
    // docs/safety.md H4): only a clinician acknowledges it.
    await api(server, "nurse.kim", "POST", `/visits/${v}/amend`, { item: "screening.baseline", value: { sbp: 120, dbp: 80, hr: 70, spo2: 88, rr: 14 }, reason: "misread the probe" });
    // One of hers, of the next chair: an infusion's BP over its baseline's
    // flag (medium).
    const next = await infusionVisit(server, "MRN-AK1B");
    await api(server, "nurse.kim", "POST", `/visits/${next}/entries`, { vitals: { sbp: 165, dbp: 90, hr: 72, spo2: 98, rr: 14 } });
    for (const viewport of [{ width: 1024, height: 768 }, { width: 390, height: 844 }]) {
      const at = `${viewport.width}x${viewport.height}`;
      const p = await page(server, viewport);
      await p.goto(`${server.url}/#/visit/${v}`);
      await signIn(p, "nurse.kim", "Patient MRN-AK1");
      const carried = p.locator("#alarms .alarm-high", { hasText: "MRN-AK1:" });
      await carried.getByText("A clinician acknowledges this after assessing the patient").waitFor();
      const hers = p.locator("#alarms .alarm-medium", { hasText: "MRN-AK1B" });
      await hers.getByRole("button", { name: "Acknowledge", exact: true }).waitFor();
      // Both stay shown (the loudest, and the first she can acknowledge: X6),
      // and together they take at most 35 % of the window (N9).
      const stack = await p.evaluate(() => document.getElementById("alarms").offsetHeight);
      assert.ok(stack <= viewport.height * 0.35 + 1, `at ${at} the stack is ${stack} px high (${Math.round((stack / viewport.height) * 100)} % of the window)`);
      // The message has the banner's width, not its longest word's.
      for (const banner of [carried, hers]) {
        const [text, whole] = await banner.evaluate((el) => [el.querySelector(".alarm-text").offsetWidth, el.clientWidth]);
        assert.ok(text >= whole * 0.4, `at ${at} a banner's message is ${text} px wide of ${whole} px`);
      }
      // The whole message is still there to read (a cut one in the title too).
      const message = "SpO2 88% is below 92%: assess the airway and check the probe; call the clinician. Consider stopping the infusion.";
      assert.ok((await carried.locator(".alarm-text").textContent()).includes(message));
      // Nothing covers the vitals' fields or Record (playwright's trial click
      // scrolls to them and fails when another element would take the click).
      const vitals = card(p, "Vitals");
      for (const label of ["Systolic BP", "Respiratory rate"]) await vitals.getByLabel(label, { exact: true }).click({ trial: true, timeout: 5000 });
      await p.locator(".checklist").getByRole("button", { name: "Record", exact: true }).click({ trial: true, timeout: 5000 });
      await p.context().close();
    }
  });

  it("had no script errors", () => {
    assert.deepEqual(problems, []);
  });
});
