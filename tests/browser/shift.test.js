// shift.test.js: what a nurse meets on a shift (issue 19), in Debian's
// chromium against a real `vigil serve`:
//   - acknowledging with a reason: a quick pick of the site's ack_reasons
//     (vigil.conf) acknowledges in one click and the reason is in the event
//     and the history; a carried alert (self-harm, docs/safety.md H4) is not
//     offered to a nurse, and a clinician must give a reason;
//   - the focus stays on the card after Record, and on the alert after
//     Acknowledge (a keyboard user is not sent to the top of the page);
//   - the start form chooses the site's usual protocol (site.usual_protocol);
//   - nursing notes: written on a visit at any time (an addendum after the
//     discharge), in the history and on the printed summary with who and when;
//   - downtime: the server stops; the page says so, keeps showing the visit
//     read only (Record disabled), keeps what the nurse typed, and shows the
//     summary (printing works); the server comes back: the banner goes,
//     Record works and records what was typed;
//   - the clock in an outage: it never goes back (the last answer of GET
//     /clock, kept for downtime, is not the server's now); it runs on from
//     the server's last time, marked not confirmed by the server;
//   - the flowsheet (on the simulated clock): a checkpoint recorded late,
//     observed within its grace, is the reading's column, not "missed" too;
//   - one alert of a screening entry flags the card of the item its rule is
//     about (PHQ-9), not every card the entry recorded;
//   - the history says in words what the alarm manager answered to the
//     report of an alert (alert.reported), accepted or refused;
//   - a dialog acts only on the visit it was opened on, names its patient,
//     and closes unsent when the page changes (X9: Back to another visit).
//   - a kept draft typed anew is a reading taken now (not at the draft's
//     time); a time set by hand is kept with the draft; "Now" beside a
//     kept time (AE3).
//   - a card's flag of an earlier entry's alert names that entry (AE5); the
//     start form warns of a chair with an active visit (AE6); the visit
//     page's alerts are listed the loudest first (AE7).
//   - a nurse's board counts a carried alert as a clinician's to acknowledge
//     (AE9); a visit no longer active offers no Amend (AE11).
//   - an amended reading's alerts are one flag on its card, and messages
//     say values in words, not JSON (AK6); a time of another day says its
//     date, every time is on the 24-hour clock, the acknowledge dialog
//     names its patient (AK10).
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { chromium } from "playwright-core";
import { getDocument } from "pdfjs-dist/legacy/build/pdf.mjs";
import { startServer, chromiumOrSkip, apiClient, vigilBin, unrecordedItems } from "./serve.js";

const exe = chromiumOrSkip();

const USERS = {
  "nurse.kim": { role: "nurse", password: "correct horse nurse" },
  "dr.osei": { role: "clinician", password: "correct horse clinician" },
};
const PICKS = ["Rechecked: the reading stands; clinician told", "Clinician at the chair and aware"];

let browser, server, api, confDir;

// A new browser context signed in as name on srv (the shared server by
// default), the browser in the language locale (British English by default).
async function signedIn(name, srv = server, locale = "en-GB") {
  const ctx = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale, timezoneId: "UTC" });
  ctx.setDefaultTimeout(20000);
  const p = await ctx.newPage();
  await p.goto(srv.url + "/");
  await p.getByLabel("User name").fill(name);
  await p.getByLabel("Password").fill(USERS[name].password);
  await p.getByRole("button", { name: "Sign in" }).click();
  await p.getByRole("heading", { name: "Board" }).first().waitFor();
  return p;
}

// A server of its own on the simulated clock (time moves when admin.lee
// says), and its API client.
const SIM_USERS = { ...USERS, "admin.lee": { role: "admin", password: "correct horse admin" } };
async function simulated() {
  const sim = await startServer({ users: SIM_USERS, extraArgs: ["--clock=simulated", "--allow-simulated-clock"] });
  return { sim, simApi: apiClient(sim, SIM_USERS) };
}

// A ketamine visit in its infusion, made through call (an API client).
async function inInfusion(call, patient) {
  const v = await call("dr.osei", "POST", "/visits", { protocol: "ketamine_iv", patient, params: { weight: 70 } });
  await call("dr.osei", "POST", `/visits/${v.id}/entries`, { baseline: { sbp: 120, dbp: 80, hr: 70, spo2: 98, rr: 14 } });
  await call("dr.osei", "POST", `/visits/${v.id}/override`, { reason: "test: straight to the infusion", items: await unrecordedItems((p) => call("dr.osei", "GET", p), v.id), password: USERS["dr.osei"].password });
  // The infusion's clock runs from infusion_started (P7).
  await call("dr.osei", "POST", `/visits/${v.id}/entries`, { infusion_started: true });
  return v;
}

// A ketamine visit in its infusion with a reading that raised alerts.
async function alertingVisit(patient) {
  const v = await inInfusion(api, patient);
  await api("dr.osei", "POST", `/visits/${v.id}/entries`, { vitals: { sbp: 210, dbp: 125, hr: 80, spo2: 98, rr: 14 } });
  return v.id;
}

async function acks(visit) {
  const { events } = await api("dr.osei", "GET", `/visits/${visit}/events?limit=1000`);
  return events.filter((e) => e.type === "alert.acknowledged");
}

before(async () => {
  confDir = mkdtempSync(join(tmpdir(), "vigil-ack-"));
  writeFileSync(join(confDir, "vigil.conf"), `ack_reasons = { ${PICKS.map((t) => JSON.stringify(t)).join(", ")} }\n` +
    `site = { name = "North", usual_protocol = "ketamine_iv" }\n`);
  server = await startServer({ users: USERS, extraArgs: ["--config", join(confDir, "vigil.conf")] });
  api = apiClient(server, USERS);
  browser = await chromium.launch({ executablePath: exe, args: ["--no-sandbox"] });
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
  rmSync(confDir, { recursive: true, force: true });
});

describe("acknowledging with a reason", () => {
  it("a quick pick acknowledges at once, with its reason in the event and the history", async () => {
    const visit = await alertingVisit("MRN-ACK1");
    const p = await signedIn("nurse.kim");
    await p.goto(`${server.url}/#/visit/${visit}`);
    const open = p.locator(".visit-alerts .alarm:not(.acked)");
    await open.first().waitFor();
    const before = await open.count();
    await open.first().getByRole("button", { name: "With reason…" }).click();
    const dlg = p.locator("#dialog");
    for (const t of PICKS) await dlg.getByRole("button", { name: t }).waitFor();
    await dlg.getByRole("button", { name: PICKS[1] }).click();
    await p.waitForFunction((n) => document.querySelectorAll(".visit-alerts .alarm:not(.acked)").length < n, before);
    const done = await acks(visit);
    assert.equal(done.length, 1);
    assert.equal(done[0].data.reason, PICKS[1]);
    assert.equal(done[0].actor, "nurse.kim");
    await p.locator(".history li", { hasText: `Reason: ${PICKS[1]}` }).first().waitFor();
    // The one-click Acknowledge still acknowledges with no reason.
    await open.first().getByRole("button", { name: "Acknowledge", exact: true }).click();
    await p.waitForFunction((n) => document.querySelectorAll(".visit-alerts .alarm:not(.acked)").length < n, before - 1);
    const again = await acks(visit);
    assert.equal(again.length, 2);
    assert.equal(again[1].data.reason, undefined);
    await p.context().close();
  });

  it("a carried alert is a clinician's to acknowledge, with a reason", async () => {
    const v = await api("nurse.kim", "POST", "/visits", { protocol: "ketamine_iv", patient: "MRN-ACK2", params: { weight: 70 } });
    await api("nurse.kim", "POST", `/visits/${v.id}/entries`, { phq9: { q1: 2, q2: 2, q3: 1, q4: 1, q5: 0, q6: 1, q7: 1, q8: 0, q9: 2 } });
    const nurse = await signedIn("nurse.kim");
    await nurse.goto(`${server.url}/#/visit/${v.id}`);
    const carried = nurse.locator(".visit-alerts .alarm", { hasText: /self-harm|suicid/i }).first();
    await carried.waitFor();
    await carried.getByText("A clinician acknowledges this after assessing the patient").waitFor();
    assert.equal(await carried.getByRole("button").count(), 0, "a nurse is offered no acknowledgement of a carried alert");
    // The assessment's card says who signs it, not "the second person" (V6).
    const assessment = nurse.locator('.item[data-item="suicide_risk"]');
    await assessment.locator(".hint", { hasText: "A clinician signs this, not the person who recorded PHQ-9" }).waitFor();
    assert.doesNotMatch(await assessment.innerText(), /second person/);
    await nurse.context().close();

    const doc = await signedIn("dr.osei");
    await doc.goto(`${server.url}/#/visit/${v.id}`);
    // The Sign dialog of the assessment: what the clinician signs, and that
    // they did not record the PHQ-9; not "as the second person" (V6).
    await doc.locator('.item[data-item="suicide_risk"]').getByRole("button", { name: "Sign…" }).click();
    const signing = await doc.locator("#dialog").innerText();
    assert.match(signing, /You sign that suicide risk assessed by a clinician after a positive PHQ-9 item 9, and that you did not record or amend PHQ-9/);
    assert.doesNotMatch(signing, /second person/);
    await doc.locator("#dialog").getByRole("button", { name: "Cancel" }).click();
    const mine = doc.locator(".visit-alerts .alarm", { hasText: /self-harm|suicid/i }).first();
    await mine.getByRole("button", { name: "Assess and acknowledge…" }).click();
    const dlg = doc.locator("#dialog");
    // The site's quick picks (a reading rechecked...) are not offered for a self-harm risk.
    await dlg.getByLabel("Reason", { exact: true }).waitFor();
    assert.equal(await dlg.locator(".quick-pick").count(), 0, "no quick pick closes a self-harm alert");
    // No reason: the form does not go (the reason is required), and says so at
    // the field in words, not by the browser's bubble alone (W13).
    await dlg.getByRole("button", { name: "Acknowledge", exact: true }).click();
    await dlg.locator(".error", { hasText: "Reason is required." }).waitFor();
    assert.equal(await dlg.getByLabel("Reason", { exact: true }).getAttribute("aria-invalid"), "true");
    assert.equal((await acks(v.id)).length, 0);
    await dlg.getByLabel("Reason", { exact: true }).fill("Assessed: no plan or intent; safety plan reviewed with the patient");
    await dlg.getByRole("button", { name: "Acknowledge", exact: true }).click();
    await doc.locator(".history li", { hasText: "Reason: Assessed: no plan or intent" }).first().waitFor();
    const done = await acks(v.id);
    assert.equal(done.length, 1);
    assert.equal(done[0].actor, "dr.osei");
    await doc.context().close();
  });
});

describe("the keyboard's place", () => {
  it("after Record the focus is on Record, after Acknowledge on the alert: not the top of the page", async () => {
    const v = await api("dr.osei", "POST", "/visits", { protocol: "ketamine_iv", patient: "MRN-FOCUS", params: { weight: 70 } });
    await api("dr.osei", "POST", `/visits/${v.id}/entries`, { baseline: { sbp: 120, dbp: 80, hr: 70, spo2: 98, rr: 14 } });
    await api("dr.osei", "POST", `/visits/${v.id}/override`, { reason: "test: straight to the infusion", items: await unrecordedItems((p) => api("dr.osei", "GET", p), v.id), password: USERS["dr.osei"].password });
    const p = await signedIn("nurse.kim");
    await p.goto(`${server.url}/#/visit/${v.id}`);
    const vitals = p.locator(".item", { has: p.getByRole("heading", { name: "Vitals", exact: true }) });
    const values = { "Systolic BP": 210, "Diastolic BP": 125, "Heart rate": 80, "SpO₂": 98, "Respiratory rate": 14 };
    for (const [label, x] of Object.entries(values)) await vitals.getByLabel(label, { exact: true }).fill(String(x));
    await p.locator(".checklist").getByRole("button", { name: "Record", exact: true }).press("Enter");
    await p.locator(".visit-alerts .alarm").first().waitFor();
    await p.waitForFunction(() => document.activeElement && document.activeElement.id === "record");
    const alert = p.locator(".visit-alerts .alarm:not(.acked)").first();
    const id = await alert.getAttribute("id");
    await alert.getByRole("button", { name: "Acknowledge", exact: true }).press("Enter");
    await p.locator(`#${id}.acked`).waitFor();
    // Drawn anew since (the stream's events), and the focus is still there.
    await p.waitForTimeout(500);
    assert.equal(await p.evaluate(() => document.activeElement.id), id);
    await p.context().close();
  });
});

describe("the banners of alerts a nurse cannot acknowledge (X6)", () => {
  it("a carried alert does not fold away the alerts she can acknowledge; after Acknowledge the focus is on the next banner's", async () => {
    const { sim, simApi } = await simulated();
    try {
      // Two visits with alerts the nurse acknowledges, then the newest high
      // alert: a carried one (PHQ-9 item 9), a clinician's to acknowledge.
      for (const patient of ["MRN-X6A", "MRN-X6B"]) {
        const v = await inInfusion(simApi, patient);
        await simApi("dr.osei", "POST", `/visits/${v.id}/entries`, { vitals: { sbp: 210, dbp: 125, hr: 80, spo2: 98, rr: 14 } });
      }
      const c = await simApi("nurse.kim", "POST", "/visits", { protocol: "ketamine_iv", patient: "MRN-X6C", params: { weight: 70 } });
      await simApi("nurse.kim", "POST", `/visits/${c.id}/entries`, { phq9: { q1: 2, q2: 2, q3: 1, q4: 1, q5: 0, q6: 1, q7: 1, q8: 0, q9: 3 } });
      const p = await signedIn("nurse.kim", sim);
      // The board's alert cell counts by priority (X8: "High 2 to acknowledge"
      // said of a high and a medium).
      const detail = await simApi("nurse.kim", "GET", `/visits/${(await simApi("nurse.kim", "GET", "/visits")).visits.find((x) => x.patient === "MRN-X6A").id}`);
      const open = detail.alerts.filter((x) => !x.acknowledged && x.state !== "closed");
      const counts = ["high", "medium", "low"].map((q) => [q, open.filter((x) => x.priority === q).length]).filter(([, n]) => n);
      const cell = p.locator("table.board tr", { hasText: "MRN-X6A" }).locator("td").last();
      await cell.waitFor();
      assert.equal((await cell.innerText()).replace(/\s+/g, " ").trim(), `${counts[0][0] === "high" ? "High" : "Medium"} priority ${counts.map(([q, n]) => `${n} ${q}`).join(", ")} to acknowledge`);
      // The carried alert is a clinician's to acknowledge, and the nurse's
      // board says so: not "1 high to acknowledge" (AE9).
      const carried = (await p.locator("table.board tr", { hasText: "MRN-X6C" }).locator("td").last().innerText()).replace(/\s+/g, " ").trim();
      assert.match(carried, /^High priority (.* to acknowledge; )?1 high for a clinician to acknowledge$/, `the carried alert's cell: ${carried}`);
      // A short window: room for one banner and the fold line.
      await p.setViewportSize({ width: 1366, height: 300 });
      const banners = p.locator("#alarms [data-alert]");
      await p.locator("#alarms .alarm-fold").waitFor();
      await p.waitForTimeout(300);
      const texts = await banners.allInnerTexts();
      assert.match(texts[0] || "", /MRN-X6C/, `the loudest and newest, the carried alert, stays first: ${texts.join(" | ")}`);
      const acks = p.locator("#alarms [data-alert] button.ack");
      assert.ok(await acks.count() >= 1, `an alert the nurse can acknowledge is shown beside the carried one: ${texts.join(" | ")}`);
      const first = await acks.first().evaluate((b) => b.closest("[data-alert]").dataset.alert);
      await acks.first().press("Enter");
      await p.waitForFunction((id) => !document.querySelector(`#alarms [data-alert="${id}"]`), first);
      // The stream's events draw the banners again meanwhile: the focus stays.
      await p.waitForTimeout(1500);
      const focus = await p.evaluate(() => {
        const el = document.activeElement;
        const b = el && el.closest("#alarms [data-alert]");
        return { tag: el ? el.tagName : null, cls: el ? el.className : null, alert: b ? b.dataset.alert : null };
      });
      assert.equal(focus.cls, "ack", `the focus is on the next banner's Acknowledge: ${JSON.stringify(focus)}`);
      assert.ok(focus.alert && focus.alert !== first);
      await p.context().close();
    } finally {
      await sim.stop();
    }
  });
});

describe("the start form", () => {
  it("chooses the site's usual protocol first, not the first in alphabetical order", async () => {
    const p = await signedIn("nurse.kim");
    await p.getByRole("navigation").getByRole("link", { name: "Start a visit" }).click();
    const ketamine = p.getByLabel(/IV ketamine infusion for treatment-resistant depression/);
    await ketamine.waitFor();
    assert.ok(await ketamine.isChecked(), "ketamine_iv, the site's usual_protocol, is chosen");
    assert.equal(await p.locator("input[name=protocol]:checked").count(), 1);
    await p.context().close();
  });

  it("warns before a second patient is started in a chair with an active visit, and starts it when asked again (AE6)", async () => {
    await api("nurse.kim", "POST", "/visits", { protocol: "ketamine_iv", patient: "MRN-AE6A", location: "Chair 6", params: { weight: 70 } });
    const started = async (patient) => (await api("nurse.kim", "GET", "/visits?status=active&limit=1000")).visits.filter((v) => v.patient === patient);
    const p = await signedIn("nurse.kim");
    await p.getByRole("navigation").getByRole("link", { name: "Start a visit" }).click();
    await p.getByLabel("Patient reference (MRN)").fill("MRN-AE6B");
    await p.getByLabel("Chair or bay").fill("chair  6");
    await p.getByLabel(/Body weight today/).fill("70");
    await p.getByRole("button", { name: "Start the visit" }).click();
    const warning = p.locator('.error[data-error-for="location"]');
    await warning.waitFor();
    assert.match(await warning.innerText(), /^Patient MRN-AE6A has a visit open in Chair 6\. .*Start the visit again/);
    assert.equal((await started("MRN-AE6B")).length, 0, "not started on the first Start");
    await p.getByRole("button", { name: "Start the visit" }).click();
    await p.getByRole("heading", { name: "Patient MRN-AE6B" }).first().waitFor();
    assert.equal((await started("MRN-AE6B")).length, 1, "started when asked again");
    await p.context().close();
  });

  it("warns of the chair however it is spelled: run together, a leading zero, a dash, a dot, a Cyrillic C; not Chair 2 or Chair 10 (AK3)", async () => {
    await api("nurse.kim", "POST", "/visits", { protocol: "ketamine_iv", patient: "MRN-AK3A", location: "Chair 1", params: { weight: 70 } });
    const p = await signedIn("nurse.kim");
    await p.getByRole("navigation").getByRole("link", { name: "Start a visit" }).click();
    await p.getByLabel("Patient reference (MRN)").fill("MRN-AK3B");
    await p.getByLabel(/Body weight today/).fill("70");
    const warning = p.locator('.error[data-error-for="location"]');
    // Each spelling once (the form asks again only for another chair): the
    // warning names the open visit's chair as it was written.
    for (const chair of ["chair1", "Chair 01", "Chair-1", "Chair 1.", "\u0421hair 1"]) {
      await p.getByLabel("Chair or bay").fill(chair);
      await p.getByRole("button", { name: "Start the visit" }).click();
      await warning.waitFor({ timeout: 5000 }).catch(() => assert.fail(`no warning for "${chair}" beside MRN-AK3A in "Chair 1"`));
      assert.match(await warning.innerText(), /^Patient MRN-AK3A has a visit open in Chair 1\. /, chair);
    }
    const started = async (patient) => (await api("nurse.kim", "GET", "/visits?status=active&limit=1000")).visits.filter((v) => v.patient === patient);
    assert.equal((await started("MRN-AK3B")).length, 0, "not started by a warned Start");
    // Other chairs: started at once, no warning.
    for (const [chair, patient] of [["Chair 2", "MRN-AK3C"], ["Chair 10", "MRN-AK3D"]]) {
      await p.getByRole("navigation").getByRole("link", { name: "Start a visit" }).click();
      await p.getByLabel("Patient reference (MRN)").fill(patient);
      await p.getByLabel(/Body weight today/).fill("70");
      await p.getByLabel("Chair or bay").fill(chair);
      await p.getByRole("button", { name: "Start the visit" }).click();
      await p.getByRole("heading", { name: `Patient ${patient}` }).first().waitFor();
      assert.equal((await started(patient)).length, 1, `${chair}: started with no warning`);
    }
    await p.context().close();
  });
  it("says in words that a reference is spelled like a known patient's, and starts a different patient when the box is ticked (AK9)", async () => {
    // MRN-AK9A's visit closed (a nurse may start a different patient then),
    // MRN-AK9B's open (a clinician's, with the password: docs/safety.md M9).
    const a = await api("nurse.kim", "POST", "/visits", { protocol: "ketamine_iv", patient: "MRN-AK9A", params: { weight: 70 } });
    await api("nurse.kim", "POST", `/visits/${a.id}/abort`, { reason: "patient declined the infusion today" });
    await api("nurse.kim", "POST", "/visits", { protocol: "ketamine_iv", patient: "MRN-AK9B", location: "Chair 9", params: { weight: 70 } });
    const started = async (patient) => (await api("nurse.kim", "GET", "/visits?status=active&limit=1000")).visits.filter((v) => v.patient === patient);
    const startAs = async (p, patient) => {
      await p.getByRole("navigation").getByRole("link", { name: "Start a visit" }).click();
      await p.getByLabel("Patient reference (MRN)").fill(patient);
      await p.getByLabel(/Body weight today/).fill("70");
      await p.getByRole("button", { name: "Start the visit" }).click();
      const said = p.locator('.error[data-error-for="patient"]');
      await said.waitFor();
      return said.innerText();
    };
    const nurse = await signedIn("nurse.kim");
    let said = await startAs(nurse, "mrn ak9a");
    assert.match(said, /^mrn ak9a is spelled almost like patient MRN-AK9A, who is already known here\. If this is MRN-AK9A, change the reference to MRN-AK9A\. If it is a different person, tick "This is a different patient"/);
    assert.doesNotMatch(said, /new_patient|true/);
    assert.equal((await started("mrn ak9a")).length, 0);
    await nurse.getByLabel("This is a different patient").check();
    await nurse.getByRole("button", { name: "Start the visit" }).click();
    await nurse.getByRole("heading", { name: "Patient mrn ak9a" }).first().waitFor();
    assert.equal((await started("mrn ak9a")).length, 1, "started as a new patient");
    await nurse.context().close();
    // The open one: named with its chair; the clinician signs the difference.
    const dr = await signedIn("dr.osei");
    said = await startAs(dr, "MRN-AK9B.");
    assert.match(said, /^MRN-AK9B\. is spelled almost like patient MRN-AK9B, who is already known here and has a visit open in Chair 9\./);
    await dr.getByLabel("This is a different patient").check();
    await dr.getByRole("button", { name: "Start the visit" }).click();
    const password = dr.getByLabel(/Your password/);
    await password.waitFor();
    await password.fill(USERS["dr.osei"].password);
    await dr.getByRole("button", { name: "Start the visit" }).click();
    await dr.getByRole("heading", { name: "Patient MRN-AK9B." }).first().waitFor();
    assert.equal((await started("MRN-AK9B.")).length, 1, "started as a new patient, signed");
    await dr.context().close();
  });
});

describe("nursing notes", () => {
  it("a note is written from the visit, and the history and the summary show it with who wrote it", async () => {
    const v = await api("nurse.kim", "POST", "/visits", { protocol: "ketamine_iv", patient: "MRN-NOTE", params: { weight: 70 } });
    const p = await signedIn("nurse.kim");
    await p.goto(`${server.url}/#/visit/${v.id}`);
    await p.getByRole("button", { name: "Add a note…" }).click();
    const dlg = p.locator("#dialog");
    // A blank note is refused at its field; nothing is recorded.
    await dlg.getByLabel("Note", { exact: true }).fill("   ");
    await dlg.getByRole("button", { name: "Save the note" }).click();
    await dlg.locator(".error", { hasText: "note is required" }).waitFor();
    await dlg.getByLabel("Note", { exact: true }).fill("Anxious before cannulation;\nreassured, music offered.");
    await dlg.getByRole("button", { name: "Save the note" }).click();
    await p.locator(".history li", { hasText: "Nursing note: Anxious before cannulation;" }).first().waitFor();
    const { events } = await api("nurse.kim", "GET", `/visits/${v.id}/events?limit=1000`);
    const notes = events.filter((e) => e.type === "note.written");
    assert.equal(notes.length, 1);
    assert.equal(notes[0].actor, "nurse.kim");
    assert.equal(notes[0].data.note, "Anxious before cannulation;\nreassured, music offered.");
    await p.goto(`${server.url}/#/visit/${v.id}/summary`);
    const listed = p.locator(".summary ul.notes li").first();
    await listed.waitFor();
    assert.match(await listed.innerText(), /nurse\.kim: Anxious before cannulation;\s+reassured, music offered\./);
    await p.context().close();
  });
});

describe("downtime: the server cannot be reached", () => {
  it("the page stays, read only, says so, keeps what was typed, and records it once the server is back", async () => {
    const visit = await alertingVisit("MRN-DOWN");
    const p = await signedIn("nurse.kim");
    await p.goto(`${server.url}/#/visit/${visit}`);
    const vitals = p.locator(".item", { has: p.getByRole("heading", { name: "Vitals", exact: true }) });
    const recordButton = p.locator(".checklist").getByRole("button", { name: "Record", exact: true });
    await recordButton.waitFor();
    await p.locator("#alarms .alarm").first().waitFor();

    await server.halt();
    const banner = p.locator("#downtime");
    await banner.waitFor();
    assert.match(await banner.innerText(), /cannot be reached[\s\S]*Read only[\s\S]*New alerts cannot reach this screen/);
    // A reload would lose the page: the browser asks first.
    assert.equal(await p.evaluate(() => {
      const e = new Event("beforeunload", { cancelable: true });
      window.dispatchEvent(e);
      return e.defaultPrevented;
    }), true, "a reload while the server is away is asked about");
    assert.ok(await recordButton.isDisabled(), "Record is disabled while the server is away");
    assert.ok(await p.locator("#alarms .ack").first().isDisabled(), "Acknowledge is disabled while the server is away");
    assert.ok(await p.locator("#alarms .pause").first().isEnabled(), "pausing the sound still works");
    // What the nurse types meanwhile stays in the form, and keeps the time it
    // was typed as its observed time (V2: it was recorded as observed when
    // Record was pressed, minutes later).
    const typedFrom = Date.now();
    await vitals.getByLabel("Systolic BP", { exact: true }).fill("132");
    const typedBy = Date.now();
    await vitals.getByLabel("Diastolic BP", { exact: true }).fill("84");
    await vitals.getByLabel("Heart rate", { exact: true }).fill("72");
    await vitals.getByLabel("SpO₂", { exact: true }).fill("97");
    await vitals.getByLabel("Respiratory rate", { exact: true }).fill("15");
    // The visit is still shown, as it was; so is its summary, which prints.
    await p.getByRole("heading", { name: /Patient MRN-DOWN/ }).first().waitFor();
    await p.goto(`${server.url}/#/visit/${visit}/summary`);
    await p.locator("#print").waitFor();
    assert.ok(await p.locator("#print").isEnabled());
    await banner.waitFor();
    await p.goBack();
    await recordButton.waitFor();
    assert.equal(await vitals.getByLabel("Systolic BP", { exact: true }).inputValue(), "132", "the typed value survives");
    assert.ok(await recordButton.isDisabled());

    await server.resume();
    await banner.waitFor({ state: "detached", timeout: 20000 });
    assert.ok(await recordButton.isEnabled(), "Record is back once the server is");
    // Beside Record: the time the values were typed, not "Now".
    const hint = await p.locator("#observed-hint").innerText();
    const shown = hint.match(/^Observed at (\d\d:\d\d) \(typed while the server was away\)/);
    assert.ok(shown, `the observed time beside Record is the time typed: ${hint}`);
    assert.equal(await p.locator("#observed-at").inputValue(), shown[1]);
    const { events: before } = await api("nurse.kim", "GET", `/visits/${visit}/events?limit=1000`);
    await recordButton.click();
    await p.waitForFunction(async ([id, n]) => {
      const r = await fetch(`/api/v1/visits/${id}/events?limit=1000`);
      return (await r.json()).events.length > n;
    }, [visit, before.length]);
    const v = await api("nurse.kim", "GET", `/visits/${visit}`);
    const readings = JSON.stringify(v);
    assert.match(readings, /"sbp":132/);
    const { events: after } = await api("nurse.kim", "GET", `/visits/${visit}/events?limit=1000`);
    const rec = after.slice(before.length).find((e) => e.type === "item.recorded" && e.data.values && e.data.values.vitals);
    assert.ok(rec && rec.data.observed_at !== undefined, `the entry says when it was observed: ${JSON.stringify(rec)}`);
    const observed = new Date(rec.data.observed_at).getTime();
    assert.ok(observed >= typedFrom - 1000 && observed <= typedBy + 1000,
      `observed when typed (${new Date(typedFrom).toISOString()} .. ${new Date(typedBy).toISOString()}): ${rec.data.observed_at}, recorded ${rec.time}`);
    const item = v.phases.find((x) => x.id === v.phase).items.find((x) => x.id === "vitals");
    assert.equal(item.late, true, "recorded after the outage: a late entry of its time");
    await p.context().close();
  });

  it("a dialog open when the server goes away cannot be submitted until it is back (X8)", async () => {
    const visit = await alertingVisit("MRN-DLG");
    const p = await signedIn("nurse.kim");
    await p.goto(`${server.url}/#/visit/${visit}`);
    const vitals = p.locator(".item", { has: p.getByRole("heading", { name: "Vitals", exact: true }) });
    await vitals.getByRole("button", { name: "Not done…" }).click();
    const dlg = p.locator("#dialog");
    const submit = dlg.getByRole("button", { name: "Record as not done" });
    await submit.waitFor();
    await server.halt();
    await p.locator("#downtime").waitFor();
    await p.waitForTimeout(300);
    assert.ok(await submit.isDisabled(), "the dialog's action waits for the server");
    assert.ok(await dlg.getByRole("button", { name: "Cancel" }).isEnabled(), "Cancel still works");
    await server.resume();
    await p.locator("#downtime").waitFor({ state: "detached", timeout: 20000 });
    assert.ok(await submit.isEnabled(), "the dialog's action is back with the server");
    await dlg.getByRole("button", { name: "Cancel" }).click();
    await p.context().close();
  });

  it("the screen is read anew when the server is back; signing out while it is away signs this screen out for good", async () => {
    const p = await signedIn("nurse.kim");
    // The board as first read; then a visit starts elsewhere while this
    // screen shows another page (its board is not live there).
    await p.locator("table.board").waitFor();
    await p.goto(`${server.url}/#/start`);
    await p.getByRole("heading", { name: /Start a visit/ }).first().waitFor();
    await api("dr.osei", "POST", "/visits", { protocol: "ketamine_iv", patient: "MRN-LATER", params: { weight: 70 } });
    await server.halt();
    // What the page asks and is answered from here on, and what it says:
    // printed if the board is not drawn (this step failed twice in fresh
    // clones' full runs and never alone; the record says why next time).
    const seen = [];
    const t0 = Date.now();
    const note = (what) => seen.push(`${Date.now() - t0} ms ${what}`);
    p.on("console", (m) => note(`console ${m.type()}: ${m.text()}`));
    p.on("requestfailed", (r) => note(`failed ${r.method()} ${r.url()}`));
    p.on("response", (r) => note(`${r.status()} ${r.request().method()} ${r.url()}`));
    p.on("framenavigated", (f) => note(`navigated ${f.url()}`));
    p.on("dialog", (d) => note(`dialog ${d.type()}: ${d.message()}`));
    // The nurse goes to the board as one does: its link in the header.
    await p.locator('[data-nav="board"]').click();
    await p.locator("#downtime").waitFor();
    try {
      await p.locator("table.board").waitFor();
    } catch (err) {
      const page = await p.evaluate(() => `view ${document.body.dataset.view}, ${location.href}, main: ${document.getElementById("main").innerText.slice(0, 600)}`);
      throw new Error(`${err.message}\n${page}\n${seen.join("\n")}\nthe server's log:\n${server.log().slice(-3000)}`);
    }
    assert.equal(await p.locator("table.board tr", { hasText: "MRN-LATER" }).count(), 0, "the board shown is the last one read");
    await server.resume();
    await p.locator("#downtime").waitFor({ state: "detached", timeout: 20000 });
    await p.locator("table.board tr", { hasText: "MRN-LATER" }).waitFor({ timeout: 10000 });

    // Signing out while the server is away.
    await server.halt();
    await p.getByRole("button", { name: "Sign out" }).click();
    await p.getByText("Signed out on this screen. The server cannot be reached").waitFor();
    await p.getByLabel("User name").waitFor();
    await server.resume();
    // A reload once it is back: the session was ended first, nobody is signed in.
    await p.reload();
    await p.getByLabel("User name").waitFor();
    const status = await p.evaluate(() => fetch("/api/v1/session").then((r) => r.status));
    assert.equal(status, 401, "the session signed out during the outage is over on the server");
    await p.context().close();
  });

  it("the header clock never goes back in an outage, runs on from the server's time, and says it is not confirmed", async () => {
    // Up, whatever the case before left it.
    if (!(await fetch(server.url + "/api/v1/healthz").then(() => true, () => false))) await server.resume();
    const p = await signedIn("nurse.kim");
    const clock = p.locator("#clock");
    await p.waitForFunction(() => /\d\d:\d\d:\d\d/.test(document.getElementById("clock").textContent));
    // The page's last GET /clock answer is at most 15 s old when the server
    // goes; the next sync, in the outage, must not bring it back.
    await server.halt();
    await p.locator("#downtime").waitFor();
    const seen = [];
    for (let i = 0; i < 36; i++) {
      seen.push(await clock.innerText());
      await p.waitForTimeout(500);
    }
    const times = seen.map((t) => t.match(/(\d\d):(\d\d):(\d\d)/)).map((m) => +m[1] * 3600 + +m[2] * 60 + +m[3]);
    for (let i = 1; i < times.length; i++) assert.ok(times[i] >= times[i - 1], `the clock went back: ${seen[i - 1]} -> ${seen[i]}`);
    assert.ok(times[times.length - 1] - times[0] >= 15, `the clock runs on in the outage: ${seen[0]} .. ${seen[seen.length - 1]}`);
    assert.match(seen[seen.length - 1], /not confirmed by the server/);
    await server.resume();
    await p.locator("#downtime").waitFor({ state: "detached", timeout: 20000 });
    await p.waitForFunction(() => !/not confirmed/.test(document.getElementById("clock").textContent), null, { timeout: 20000 });
    await p.context().close();
  });
});

describe("the flowsheet of a checkpoint recorded late", () => {
  it("shows the reading where the server counted it, and no missed column for that checkpoint", async () => {
    const { sim, simApi } = await simulated();
    try {
      const v = await simApi("dr.osei", "POST", "/visits", { protocol: "ketamine_iv", patient: "MRN-LATE", params: { weight: 70 } });
      await simApi("dr.osei", "POST", `/visits/${v.id}/entries`, { baseline: { sbp: 120, dbp: 80, hr: 70, spo2: 98, rr: 14 } });
      await simApi("dr.osei", "POST", `/visits/${v.id}/override`, { reason: "test: straight to the infusion", items: await unrecordedItems((p) => simApi("dr.osei", "GET", p), v.id), password: USERS["dr.osei"].password });
      // The infusion's checkpoints count from infusion_started (P7).
      await simApi("nurse.kim", "POST", `/visits/${v.id}/entries`, { infusion_started: true });
      let visit = await simApi("dr.osei", "GET", `/visits/${v.id}`);
      const items = visit.phases.find((x) => x.id === visit.phase).items;
      const vitals = items.find((i) => i.id === "vitals");
      const due = Date.parse(items.find((i) => i.id === "infusion_started").observed_at) + vitals.schedule.at_ms;
      // The grace runs out: the checkpoint is overdue (item.overdue).
      await simApi("admin.lee", "POST", "/clock", { advance: "16m" });
      visit = await simApi("dr.osei", "GET", `/visits/${v.id}`);
      const { events } = await simApi("dr.osei", "GET", `/visits/${v.id}/events?limit=1000`);
      assert.ok(events.some((e) => e.type === "item.overdue" && e.data.due === due), `the first checkpoint went overdue: ${JSON.stringify(events.filter((e) => e.type === "item.overdue"))} due ${due}`);
      // The nurse types the time she took them, in minutes: before the due time's seconds.
      const observed = Math.floor(due / 60000) * 60000;
      await simApi("nurse.kim", "POST", `/visits/${v.id}/entries`, { observed_at: new Date(observed).toISOString(), vitals: { sbp: 122, dbp: 81, hr: 71, spo2: 98, rr: 14 }, moaas: "5", dissociation: "none" });
      visit = await simApi("dr.osei", "GET", `/visits/${v.id}`);
      assert.match(visit.gate.reasons.join("\n"), /1 of 3 vitals readings/, "the server counted it for the checkpoint");

      const p = await signedIn("nurse.kim", sim);
      const ctx = p.context();
      for (const page of [`#/visit/${v.id}`, `#/visit/${v.id}/summary`]) {
        await p.goto(`${sim.url}/${page}`);
        const sheet = p.locator("table.flowsheet").first();
        await sheet.locator("th.fs-entry.fs-col", { hasText: "late" }).first().waitFor();
        const heads = await p.locator("table.flowsheet th.fs-col").allInnerTexts();
        assert.equal(await p.locator("table.flowsheet th.fs-missed").count(), 0, `${page}: no missed column: ${heads.join(" | ")}`);
        assert.equal(await p.locator("table.flowsheet td.fs-gap").count(), 0, `${page}: no "missed" cell`);
        assert.ok(await p.locator("table.flowsheet td", { hasText: "122" }).count() > 0, `${page}: the reading is shown`);
      }
      await ctx.close();
    } finally {
      await sim.stop();
    }
  });
});

describe("values typed, left and come back to (X2)", () => {
  it("a draft put back keeps the time it was typed as its observed time, and says why it was put back", async () => {
    const { sim, simApi } = await simulated();
    try {
      const v = await inInfusion(simApi, "MRN-LEFT");
      const p = await signedIn("nurse.kim", sim);
      await p.goto(`${sim.url}/#/visit/${v.id}`);
      const vitals = p.locator(".item", { has: p.getByRole("heading", { name: "Vitals", exact: true }) });
      await p.locator(".checklist").getByRole("button", { name: "Record", exact: true }).waitFor();
      // Typed on the simulated clock's frozen time (the server's now).
      const typedAt = (await simApi("admin.lee", "GET", "/clock")).now_ms;
      const values = { "Systolic BP": 131, "Diastolic BP": 83, "Heart rate": 72, "SpO₂": 97, "Respiratory rate": 15 };
      for (const [label, x] of Object.entries(values)) await vitals.getByLabel(label, { exact: true }).fill(String(x));
      const typedHHMM = await p.locator("#observed-at").inputValue();
      // The nurse goes to the board; six minutes pass; she comes back.
      await p.locator('[data-nav="board"]').click();
      await p.locator("table.board").waitFor();
      await simApi("admin.lee", "POST", "/clock", { advance: "6m" });
      const later = new Date(typedAt + 6 * 60000).toISOString();
      await p.evaluate(() => import("/js/clock.js").then((c) => c.sync()));
      await p.goto(`${sim.url}/#/visit/${v.id}`);
      await p.locator(".checklist").getByRole("button", { name: "Record", exact: true }).waitFor();
      assert.equal(await vitals.getByLabel("Systolic BP", { exact: true }).inputValue(), "131", "the typed value is put back");
      const note = await vitals.locator(".draft-note").innerText();
      assert.match(note, new RegExp(`^Typed at ${typedHHMM} before you left this visit: not recorded yet`), `the note says why it is back: ${note}`);
      assert.doesNotMatch(note, /signed in again/);
      const hint = await p.locator("#observed-hint").innerText();
      assert.match(hint, new RegExp(`^Observed at ${typedHHMM} \\(typed before you left this visit\\)`), `the observed time beside Record is the time typed: ${hint}`);
      assert.equal(await p.locator("#observed-at").inputValue(), typedHHMM);
      await p.locator(".checklist").getByRole("button", { name: "Record", exact: true }).click();
      await vitals.locator(".last", { hasText: "131" }).waitFor();
      const { events } = await simApi("nurse.kim", "GET", `/visits/${v.id}/events?limit=1000`);
      const rec = events.find((e) => e.type === "item.recorded" && e.data.values && e.data.values.vitals);
      assert.ok(rec && rec.data.observed_at, `the entry says when it was observed: ${JSON.stringify(rec)}`);
      const observed = new Date(rec.data.observed_at).getTime();
      assert.ok(Math.abs(observed - typedAt) < 60000 && Date.parse(rec.time) - observed >= 5 * 60000,
        `observed when typed (${new Date(typedAt).toISOString()}), not when recorded (${later}): observed ${rec.data.observed_at}, recorded ${rec.time}`);
      const visit = await simApi("nurse.kim", "GET", `/visits/${v.id}`);
      assert.equal(visit.phases.find((x) => x.id === visit.phase).items.find((x) => x.id === "vitals").late, true, "a late entry of its time");
      await p.context().close();
    } finally {
      await sim.stop();
    }
  });
});

describe("a kept draft re-taken, a kept time, a time set by hand (AE3)", () => {
  it("a reading typed anew over a kept draft is observed now; a time set by hand comes back; Now beside a kept time", async () => {
    const { sim, simApi } = await simulated();
    try {
      const v = await inInfusion(simApi, "MRN-AE3");
      const p = await signedIn("nurse.kim", sim);
      const record = p.locator(".checklist").getByRole("button", { name: "Record", exact: true });
      const nowButton = p.locator(".checklist").getByRole("button", { name: "Now", exact: true });
      const vitals = p.locator(".checklist .item", { has: p.getByRole("heading", { name: "Vitals", exact: true }) });
      const type = async (values) => {
        for (const [label, x] of Object.entries(values)) await vitals.getByLabel(label, { exact: true }).fill(String(x));
      };
      // To the board, the simulated clock on by `by`, and back to the visit.
      const away = async (by) => {
        await p.locator('[data-nav="board"]').click();
        await p.locator("table.board").waitFor();
        await simApi("admin.lee", "POST", "/clock", { advance: by });
        await p.evaluate(() => import("/js/clock.js").then((c) => c.sync()));
        await p.goto(`${sim.url}/#/visit/${v.id}`);
        await record.waitFor();
      };
      const hhmm = (ms) => new Date(ms).toISOString().slice(11, 16); // the page's zone is UTC
      const lastVitals = async () => {
        const { events } = await simApi("nurse.kim", "GET", `/visits/${v.id}/events?limit=1000`);
        return events.filter((e) => e.type === "item.recorded" && e.data.values && e.data.values.vitals).pop();
      };
      const t0 = (await simApi("admin.lee", "GET", "/clock")).now_ms;
      await p.goto(`${sim.url}/#/visit/${v.id}`);
      await record.waitFor();
      // (1) 200/118 typed at t0 and left; back 2 minutes later, the reading
      // is taken again (every field typed anew: 214/126): it is observed
      // now, not at the draft's t0, and the card no longer says "Typed at".
      await type({ "Systolic BP": 200, "Diastolic BP": 118, "Heart rate": 90, "SpO₂": 97, "Respiratory rate": 15 });
      await away("2m");
      assert.match(await p.locator("#observed-hint").innerText(), new RegExp(`^Observed at ${hhmm(t0)} \\(typed before you left this visit\\)`));
      assert.ok(await nowButton.isVisible(), "Now is offered beside the kept time");
      await type({ "Systolic BP": 214, "Diastolic BP": 126, "Heart rate": 92, "SpO₂": 96, "Respiratory rate": 16 });
      const hint = await p.locator("#observed-hint").innerText();
      assert.match(hint, /^Now\./, `a reading typed anew over the kept draft is observed now: ${hint}`);
      assert.equal(await p.locator("#observed-at").inputValue(), hhmm(t0 + 2 * 60000));
      assert.equal(await vitals.locator(".draft-note").count(), 0, "the card no longer says it was typed before");
      assert.ok(!(await nowButton.isVisible()), "no Now beside a time that is now");
      await record.click();
      await vitals.locator(".last", { hasText: "214" }).waitFor();
      let rec = await lastVitals();
      assert.equal(rec.data.values.vitals.sbp, 214);
      assert.equal(rec.data.observed_at, undefined, `recorded as observed now, not at the draft's time: ${JSON.stringify(rec.data)}`);
      // (2) 150/90 typed, "Observed at" set by hand to a minute ago, left;
      // back 2 minutes later the time set by hand is still set.
      const t2 = t0 + 2 * 60000;
      await type({ "Systolic BP": 150, "Diastolic BP": 90, "Heart rate": 80, "SpO₂": 98, "Respiratory rate": 14 });
      await p.locator("#observed-at").fill(hhmm(t2 - 60000));
      await away("2m");
      assert.equal(await p.locator("#observed-at").inputValue(), hhmm(t2 - 60000), "the time set by hand is kept with the draft");
      assert.match(await p.locator("#observed-hint").innerText(), /^A late entry: observed 3 min/);
      // One value corrected is not a new reading: the draft's time stays.
      await type({ "Systolic BP": 151 });
      assert.equal(await p.locator("#observed-at").inputValue(), hhmm(t2 - 60000), "a value corrected keeps the draft's time");
      assert.equal(await vitals.locator(".draft-note").count(), 1, "and its note");
      // Now, beside the kept time: the reading is observed now.
      await nowButton.click();
      assert.equal(await p.locator("#observed-at").inputValue(), hhmm(t2 + 2 * 60000));
      assert.match(await p.locator("#observed-hint").innerText(), /^Now\./);
      await record.click();
      await vitals.locator(".last", { hasText: "151" }).waitFor();
      rec = await lastVitals();
      assert.equal(rec.data.values.vitals.sbp, 151);
      assert.equal(rec.data.observed_at, undefined, `Now: recorded as observed now: ${JSON.stringify(rec.data)}`);
      await p.context().close();
    } finally {
      await sim.stop();
    }
  });
});

describe("an amended value (X4)", () => {
  it("says amended, by whom, when, from what and why on the card, in the history and on the summary", async () => {
    const v = await api("nurse.kim", "POST", "/visits", { protocol: "ketamine_iv", patient: "MRN-AMEND", params: { weight: 70 } });
    await api("nurse.kim", "POST", `/visits/${v.id}/entries`, { fasting_hours: 6, substance_use: "no" });
    await api("dr.osei", "POST", `/visits/${v.id}/amend`, { item: "screening.fasting_hours", value: 8, reason: "misheard: eight hours" });
    const p = await signedIn("nurse.kim");
    await p.goto(`${server.url}/#/visit/${v.id}`);
    const card = p.locator('.checklist .item[data-item="fasting_hours"]');
    await card.locator(".last").waitFor();
    const last = await card.locator(".last").innerText();
    // Its date too when the test runs across midnight (AK10).
    const at = String.raw`(?:\w{3},? \w{1,3} \w{1,3}, )?\d\d:\d\d`;
    assert.match(last, new RegExp(`^8 h · nurse\\.kim, ${at} Amended by dr\\.osei at ${at} from 6 h\\. Reason: misheard: eight hours`), `the card says it was amended: ${last}`);
    await p.locator(".history li", { hasText: "amended from 6 h to 8 h. Reason: misheard: eight hours" }).first().waitFor();
    // A one-off answer is changed by Amend: "Record again" was offered and
    // its entry refused with 409 (X8).
    const once = p.locator('.checklist .item[data-item="substance_use"]');
    await once.getByRole("button", { name: "Amend…" }).waitFor();
    assert.equal(await once.getByRole("button", { name: "Record again" }).count(), 0, "no Record again on a one-off answer");
    await p.goto(`${server.url}/#/visit/${v.id}/summary`);
    const row = p.locator("tr", { hasText: "Hours since last meal" });
    await row.first().waitFor();
    assert.match(await row.first().innerText(), new RegExp(`8 h\\s*Amended by dr\\.osei at ${at} from 6 h\\. Reason: misheard: eight hours`));
    await p.context().close();
  });
});

describe("a visit no longer active (AE11)", () => {
  it("offers no Amend on its cards: the server refuses it", async () => {
    const v = await api("nurse.kim", "POST", "/visits", { protocol: "ketamine_iv", patient: "MRN-AE11", params: { weight: 70 } });
    await api("nurse.kim", "POST", `/visits/${v.id}/entries`, { fasting_hours: 6 });
    await api("nurse.kim", "POST", `/visits/${v.id}/abort`, { reason: "patient declined the infusion today" });
    await assert.rejects(api("nurse.kim", "POST", `/visits/${v.id}/amend`, { item: "screening.fasting_hours", value: 8, reason: "misheard: eight hours" }),
      (err) => /: 4\d\d /.test(err.message), "the server refuses an amendment of an aborted visit");
    const p = await signedIn("nurse.kim");
    await p.goto(`${server.url}/#/visit/${v.id}`);
    const card = p.locator('.earlier .item[data-item="fasting_hours"]');
    await card.locator(".last", { hasText: "6 h" }).waitFor({ state: "attached" });
    assert.equal(await p.locator("button", { hasText: "Amend…" }).count(), 0, "no Amend on a visit that is not active");
    await p.context().close();
  });
});

describe("a dialog is for the visit it was opened on (X9)", () => {
  it("Back to another patient's visit closes an open Amend unsent; forced open again, it could only amend its own visit", async () => {
    const amends = async (id) => (await api("dr.osei", "GET", `/visits/${id}/events?limit=1000`)).events.filter((e) => e.type === "item.amended");
    const mine = await api("nurse.kim", "POST", "/visits", { protocol: "ketamine_iv", patient: "MRN-X9A", params: { weight: 70 } });
    await api("nurse.kim", "POST", `/visits/${mine.id}/entries`, { dose: 36 });
    const other = await api("nurse.kim", "POST", "/visits", { protocol: "ketamine_iv", patient: "MRN-X9B", params: { weight: 70 } });
    await api("nurse.kim", "POST", `/visits/${other.id}/entries`, { dose: 40 });
    const p = await signedIn("nurse.kim");
    // MRN-X9B's visit, then MRN-X9A's in the same page: Back is a route change.
    await p.goto(`${server.url}/#/visit/${other.id}`);
    await p.getByRole("heading", { name: "Patient MRN-X9B" }).first().waitFor();
    await p.evaluate((id) => { location.hash = `#/visit/${id}`; }, mine.id);
    await p.getByRole("heading", { name: "Patient MRN-X9A" }).first().waitFor();
    const dose = p.locator('.checklist .item[data-item="dose"]');
    await dose.locator(".last", { hasText: "36 mg" }).waitFor();
    await dose.getByRole("button", { name: "Amend…" }).click();
    const dlg = p.locator("#dialog");
    await dlg.getByLabel("Reason for the correction").waitFor();
    assert.match(await dlg.locator("#dialog-title").innerText(), /^Amend: .* \u2014 MRN-X9A$/, "the dialog names its patient");
    await dlg.getByLabel("Ketamine dose drawn up").fill("37");
    await dlg.getByLabel("Reason for the correction").fill("redrawn");
    await p.goBack();
    await p.getByRole("heading", { name: "Patient MRN-X9B" }).first().waitFor();
    await p.locator('.checklist .item[data-item="dose"] .last', { hasText: "40 mg" }).waitFor();
    assert.equal(await dlg.evaluate((d) => d.open), false, "Back closed the Amend dialog opened on MRN-X9A");
    assert.equal((await amends(mine.id)).length + (await amends(other.id)).length, 0, "nothing amended on either visit");
    // Were a way of changing the page ever to leave it open, its Save goes
    // to the visit it was opened for, and MRN-X9B's page is not drawn with it.
    await dlg.evaluate((d) => d.showModal());
    await dlg.getByRole("button", { name: "Save the correction" }).click();
    await dlg.waitFor({ state: "hidden" });
    assert.equal((await amends(other.id)).length, 0, "MRN-X9B's dose is not amended");
    const done = await amends(mine.id);
    assert.equal(done.length, 1, "the amendment went to MRN-X9A's visit");
    assert.equal(done[0].data.value, 37);
    await p.waitForTimeout(500);
    assert.match(await p.locator("h1").first().innerText(), /Patient MRN-X9B/);
    assert.match(await p.locator('.checklist .item[data-item="dose"] .last').innerText(), /^40 mg/, "MRN-X9B's page still shows its own dose");
    await p.context().close();
  });
});

describe("a page acts only for the user it was signed in as (AI4)", () => {
  it("another user signed in in another tab of the same browser: the first tab's Amend is refused, nothing recorded, and it asks for a sign-in", async () => {
    const v = await api("nurse.kim", "POST", "/visits", { protocol: "ketamine_iv", patient: "MRN-AI4", params: { weight: 70 } });
    await api("nurse.kim", "POST", `/visits/${v.id}/entries`, { dose: 35 });
    const a = await signedIn("nurse.kim");
    await a.goto(`${server.url}/#/visit/${v.id}`);
    const dose = a.locator('.checklist .item[data-item="dose"]');
    await dose.locator(".last", { hasText: "35 mg" }).waitFor();
    await dose.getByRole("button", { name: "Amend…" }).click();
    const dlg = a.locator("#dialog");
    await dlg.getByLabel("Ketamine dose drawn up").fill("36");
    await dlg.getByLabel("Reason for the correction").fill("redrawn");
    // Another tab of the same browser: nurse.kim signs out there and dr.osei signs in (one cookie for both tabs).
    const b = await a.context().newPage();
    await b.goto(server.url + "/");
    await b.getByRole("heading", { name: "Board" }).first().waitFor();
    await b.locator("#sign-out").click();
    await b.getByLabel("User name").fill("dr.osei");
    await b.getByLabel("Password").fill(USERS["dr.osei"].password);
    await b.getByRole("button", { name: "Sign in" }).click();
    await b.getByRole("heading", { name: "Board" }).first().waitFor();
    // The first tab still shows nurse.kim's dialog; saving it must not record as dr.osei.
    await dlg.getByRole("button", { name: "Save the correction" }).click();
    await a.getByText("Another user signed in on this browser").waitFor();
    const { events } = await api("dr.osei", "GET", `/visits/${v.id}/events?limit=1000`);
    assert.equal(events.filter((e) => e.type === "item.amended").length, 0, "nothing amended");
    await a.context().close();
  });
});

describe("an amendment's alert flags its card (X4)", () => {
  it("the dose amended after its check was signed: the dose card is flagged with the alert of that step", async () => {
    const v = await api("nurse.kim", "POST", "/visits", { protocol: "ketamine_iv", patient: "MRN-AMENDA", params: { weight: 72 } });
    await api("nurse.kim", "POST", `/visits/${v.id}/entries`, { dose: 36 });
    await api("dr.osei", "POST", `/visits/${v.id}/entries`, { dose_check: true, password: USERS["dr.osei"].password });
    // The amendment voids the check (signature.voided) and raises dose_calc's alert, in one step.
    await api("nurse.kim", "POST", `/visits/${v.id}/amend`, { item: "screening.dose", value: 30.5, reason: "redrawn" });
    const p = await signedIn("nurse.kim");
    await p.goto(`${server.url}/#/visit/${v.id}`);
    const dose = p.locator('.checklist .item[data-item="dose"]');
    await dose.locator(".last").waitFor();
    await dose.locator(".item-flag", { hasText: "differs from 36 mg" }).waitFor({ timeout: 5000 });
    assert.match(await dose.getAttribute("class"), /item-alert-medium/);
    await p.context().close();
  });
});

describe("the cards an alert flags", () => {
  it("a PHQ-9 item 9 alert from the screening entry flags the PHQ-9 card only", async () => {
    const v = await api("nurse.kim", "POST", "/visits", { protocol: "ketamine_iv", patient: "MRN-FLAG", params: { weight: 70 } });
    // Screening as one entry, as the form records it.
    await api("nurse.kim", "POST", `/visits/${v.id}/entries`, {
      consent: true, ci_hypertension: "no", ci_vascular: "no", ci_psychosis: "no", ci_hypersensitivity: "no",
      baseline: { sbp: 120, dbp: 80, hr: 70, spo2: 98, rr: 14 },
      phq9: { q1: 2, q2: 2, q3: 1, q4: 1, q5: 0, q6: 1, q7: 1, q8: 0, q9: 2 },
    });
    const { events } = await api("nurse.kim", "GET", `/visits/${v.id}/events?limit=1000`);
    assert.ok(events.some((e) => e.type === "alert.raised" && e.data.rule === "self_harm"), "the self-harm alert was raised");
    const p = await signedIn("nurse.kim");
    await p.goto(`${server.url}/#/visit/${v.id}`);
    await p.locator(".item.item-alert").first().waitFor();
    const flagged = await p.locator(".item.item-alert").evaluateAll((els) => els.map((e) => e.dataset.item));
    assert.deepEqual(flagged, ["phq9"], `flagged cards: ${flagged.join(", ")}`);
    assert.equal(await p.locator(".item-flag", { hasText: "from this entry" }).count(), 1);
    await p.context().close();
  });

  it("an alert of an earlier reading, still open under a later one, names that reading, not this entry (AE5)", async () => {
    const id = await alertingVisit("MRN-AE5");
    await api("nurse.kim", "POST", `/visits/${id}/entries`, { vitals: { sbp: 132, dbp: 84, hr: 76, spo2: 98, rr: 14 } });
    const { events } = await api("nurse.kim", "GET", `/visits/${id}/events?limit=1000`);
    const first = events.find((e) => e.type === "item.recorded" && e.data.values && e.data.values.vitals && e.data.values.vitals.sbp === 210);
    const p = await signedIn("nurse.kim");
    await p.goto(`${server.url}/#/visit/${id}`);
    const vitals = p.locator('.checklist .item[data-item="vitals"]');
    await vitals.locator(".last", { hasText: "132" }).waitFor();
    const flags = await vitals.locator(".item-flag").allInnerTexts();
    assert.ok(flags.length, "the earlier reading's alert, still open, is on the card");
    const hhmm = new Date(first.time).toISOString().slice(11, 16); // the page's zone is UTC
    for (const f of flags) {
      assert.doesNotMatch(f, /from this entry/, `the flag is not of the 132/84 shown: ${f}`);
      assert.match(f, new RegExp(`from the reading of ${hhmm}: `), `the flag names the reading it came from: ${f}`);
    }
    await p.context().close();
  });
});

// The alarm manager's answers (the hl7 plugin's PCD-04 reports, docs/hl7.md)
// are alert.reported events in the visit's history: the history showed them
// as the bare type, "alert.reported".
describe("the visit page's alerts (AE7)", () => {
  it("are listed loudest first: a high alert above an older medium one", async () => {
    const v = await inInfusion(api, "MRN-AE7");
    // A rise of 45 mmHg from the baseline 120/80: a medium alert (bp_rise);
    // then SpO2 88 %: a high one (spo2_low), the newer.
    await api("nurse.kim", "POST", `/visits/${v.id}/entries`, { vitals: { sbp: 165, dbp: 90, hr: 70, spo2: 98, rr: 14 } });
    await api("nurse.kim", "POST", `/visits/${v.id}/entries`, { vitals: { sbp: 130, dbp: 80, hr: 72, spo2: 88, rr: 14 } });
    const visit = await api("nurse.kim", "GET", `/visits/${v.id}`);
    const open = visit.alerts.filter((a) => a.state !== "closed").map((a) => a.priority);
    assert.ok(open.includes("high") && open.includes("medium"), `a high and a medium alert open: ${open.join(", ")}`);
    const p = await signedIn("nurse.kim");
    await p.goto(`${server.url}/#/visit/${v.id}`);
    await p.locator(".visit-alerts li").first().waitFor();
    const listed = await p.locator(".visit-alerts li.alarm").evaluateAll((els) => els.map((e) => e.className.match(/alarm-(high|medium|low)/)[1]));
    assert.deepEqual(listed, [...listed].sort((a, b) => ["high", "medium", "low"].indexOf(a) - ["high", "medium", "low"].indexOf(b)), `loudest first: ${listed.join(", ")}`);
    assert.equal(listed[0], "high");
    await p.context().close();
  });
});

describe("the history in words", () => {
  it("says what the alarm manager answered to the report of an alert, accepted or refused", async () => {
    // The alarm manager: the first report accepted, every other one refused.
    let answered = 0;
    const manager = createServer((sock) => {
      let got = "";
      sock.setEncoding("latin1");
      sock.on("data", (d) => {
        got += d;
        let end;
        while ((end = got.indexOf("\x1c\r")) >= 0) {
          const msg = got.slice(got.indexOf("\x0b") + 1, end);
          got = got.slice(end + 2);
          const control = msg.split("\r")[0].split("|")[9];
          const msa = answered++ === 0 ? `MSA|AA|${control}|queued to pager 12` : `MSA|AR|${control}|unknown location`;
          sock.write(`\x0bMSH|^~\\&|AM||VIGIL||20260105083001||ACK^R40^ACK|A-${control}|P|2.6\r${msa}\r\x1c\r`);
        }
      });
      sock.on("error", () => {});
    });
    await new Promise((r) => manager.listen(0, "127.0.0.1", r));
    const managerPort = manager.address().port;
    const dir = mkdtempSync(join(tmpdir(), "vigil-reported-"));
    writeFileSync(join(dir, "vigil.conf"), `plugin_dir = "${join(dirname(vigilBin), "plugins")}"\n` +
      `plugins = { hl7 = { alarms = { port = ${managerPort}, retry_min_ms = 100 } } }\n`);
    const reporting = await startServer({ users: USERS, extraArgs: ["--config", join(dir, "vigil.conf")] });
    try {
      const repApi = apiClient(reporting, USERS);
      const v = await repApi("dr.osei", "POST", "/visits", { protocol: "ketamine_iv", patient: "MRN-PAGER", params: { weight: 70 } });
      await repApi("dr.osei", "POST", `/visits/${v.id}/entries`, { baseline: { sbp: 120, dbp: 80, hr: 70, spo2: 98, rr: 14 } });
      await repApi("dr.osei", "POST", `/visits/${v.id}/override`, { reason: "test: straight to the infusion", items: await unrecordedItems((p) => repApi("dr.osei", "GET", p), v.id), password: USERS["dr.osei"].password });
      await repApi("dr.osei", "POST", `/visits/${v.id}/entries`, { infusion_started: true });
      await repApi("dr.osei", "POST", `/visits/${v.id}/entries`, { vitals: { sbp: 210, dbp: 125, hr: 80, spo2: 98, rr: 14 } });
      let reported = [];
      for (let i = 0; i < 100 && !(reported.some((e) => e.data.status === "accepted") && reported.some((e) => e.data.status === "refused")); i++) {
        await new Promise((r) => setTimeout(r, 200));
        const { events } = await repApi("dr.osei", "GET", `/visits/${v.id}/events?limit=1000`);
        reported = events.filter((e) => e.type === "alert.reported");
      }
      assert.ok(reported.some((e) => e.data.status === "refused"), `the manager's answers were recorded: ${JSON.stringify(reported)}`);
      const p = await signedIn("nurse.kim", reporting);
      const ctx = p.context();
      await p.goto(`${reporting.url}/#/visit/${v.id}`);
      await p.locator(".history .ev-alert-reported").first().waitFor();
      const lines = await p.locator(".history .ev-alert-reported").allInnerTexts();
      const who = `Alarm manager 127.0.0.1:${managerPort}`;
      assert.ok(lines.some((l) => l.includes(`${who} accepted the report of "`) && l.includes("(AA: queued to pager 12)")), `an accepted report in words: ${lines.join(" | ")}`);
      assert.ok(lines.some((l) => l.includes(`${who} refused the report of "`) && l.includes("(AR: unknown location)") && l.includes("the alert stands here")),
        `a refused report in words: ${lines.join(" | ")}`);
      assert.ok(!lines.some((l) => /alert\.reported/.test(l)), `no event shown by its bare type: ${lines.join(" | ")}`);
      await ctx.close();
    } finally {
      await reporting.stop();
      manager.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// The words of the record (the second whole-shift try, V6 and V7): a
// signature said with titles and units, its item named once in the history;
// an escalation that did not raise the priority says it reminded again, not
// "Escalated to level 1 (medium)", which read as louder.
describe("the words of the record", () => {
  it("a signature with titles and units, named once; an escalation says reminded again unless the priority rose", async () => {
    const { sim, simApi } = await simulated();
    try {
      const v = await simApi("nurse.kim", "POST", "/visits", { protocol: "ketamine_iv", patient: "MRN-WORDS", params: { weight: 72.5 } });
      await simApi("nurse.kim", "POST", `/visits/${v.id}/entries`, { baseline: { sbp: 120, dbp: 80, hr: 70, spo2: 98, rr: 14 }, dose: 36 });
      let visit = await simApi("dr.osei", "GET", `/visits/${v.id}`);
      const sig = visit.phases.find((x) => x.id === "screening").items.find((i) => i.id === "dose_check");
      await simApi("dr.osei", "POST", `/visits/${v.id}/entries`, { dose_check: true, attests: { dose_check: sig.to_attest }, password: USERS["dr.osei"].password });
      await simApi("dr.osei", "POST", `/visits/${v.id}/override`, { reason: "test: straight to the infusion", items: await unrecordedItems((p) => simApi("dr.osei", "GET", p), v.id), password: USERS["dr.osei"].password });
      await simApi("nurse.kim", "POST", `/visits/${v.id}/entries`, { infusion_started: true });
      // The first checkpoint missed (medium, ketamine_iv's overdue), then
      // unacknowledged past its escalation (5 min): escalated, still medium.
      await simApi("admin.lee", "POST", "/clock", { advance: "16m" });
      await simApi("admin.lee", "POST", "/clock", { advance: "6m" });
      const { events } = await simApi("dr.osei", "GET", `/visits/${v.id}/events?limit=1000`);
      const esc = events.find((e) => e.type === "alert.escalated");
      assert.ok(esc && esc.data.priority === "medium", `an escalation that kept medium: ${JSON.stringify(events.filter((e) => e.type.startsWith("alert.")))}`);

      const p = await signedIn("nurse.kim", sim);
      const ctx = p.context();
      await p.goto(`${sim.url}/#/visit/${v.id}`);
      await p.locator(".history li").first().waitFor();
      const lines = await p.locator(".history li").allInnerTexts();
      const signed = lines.find((l) => l.includes("Dose double-checked by a second person"));
      assert.match(signed || "", /Dose double-checked by a second person: Yes, attesting Ketamine dose drawn up: 36 mg, Body weight today: 72\.5 kg, Ordered dose per kg: 0\.5 mg\/kg \(72\.5 kg x 0\.5 mg\/kg/,
        `the signature in words: ${signed}`);
      assert.equal(signed.split("Dose double-checked by a second person").length - 1, 1, `the signature's item named once: ${signed}`);
      const reminded = lines.filter((l) => /reminded|Escalated/i.test(l));
      assert.ok(reminded.length && reminded.every((l) => /Not acknowledged: reminded again: still medium: "Checkpoint at/.test(l)), `the escalation in words: ${reminded.join(" | ")}`);
      await p.locator("#alarms .alarm-medium .alarm-meta", { hasText: "reminded again" }).first().waitFor();
      // An escalation that raised the priority (defaults.escalation_raises_priority) names it.
      const rose = await p.evaluate(async () => {
        const m = await import("/js/history.js");
        const evs = [
          { type: "alert.raised", data: { alert: 9, priority: "medium", message: "Overdue" } },
          { type: "alert.escalated", data: { alert: 9, level: 1, priority: "high" } },
          { type: "alert.escalated", data: { alert: 9, level: 2, priority: "high" } },
        ];
        const alerts = m.alertMessages(evs);
        return evs.slice(1).map((e) => m.describe({ phases: [] }, e, alerts));
      });
      assert.deepEqual(rose, ['Not acknowledged: raised from medium to high: "Overdue"', 'Not acknowledged: reminded 2\u00d7: still high: "Overdue"']);
      // The printed summary: the signature in words, the reminder counted.
      await p.goto(`${sim.url}/#/visit/${v.id}/summary`);
      await p.locator("#print").waitFor();
      const summary = await p.locator(".summary").innerText();
      assert.match(summary, /Dose double-checked by a second person, attesting Ketamine dose drawn up: 36 mg, Body weight today: 72\.5 kg/);
      assert.doesNotMatch(summary, /dose_mg_per_kg|Escalated to level/);
      await ctx.close();
    } finally {
      await sim.stop();
    }
  });
});

// V5 (the second whole-shift try): the printed summary of a long visit (a
// dozen flowsheet columns, four alerts acknowledged with reasons, a late
// entry, overrides, a refused discharge) ran to 5 A4 pages.
describe("the printed summary of a long visit", () => {
  it("prints within 4 A4 pages, its last event included", async () => {
    const { sim, simApi } = await simulated();
    try {
      const pw = USERS["dr.osei"].password;
      const v = await simApi("nurse.kim", "POST", "/visits", { protocol: "ketamine_iv", patient: "MRN-LONG", params: { weight: 72.5 } });
      const rec = (body, who = "nurse.kim") => simApi(who, "POST", `/visits/${v.id}/entries`, body);
      const tick = (by) => simApi("admin.lee", "POST", "/clock", { advance: by });
      const obs = (sbp, dbp, more = {}) => rec({ vitals: { sbp, dbp, hr: 80, spo2: 98, rr: 14 }, moaas: "5", dissociation: "none", ...more });
      await rec({ consent: true, ci_hypertension: "no", ci_vascular: "no", ci_psychosis: "no", ci_hypersensitivity: "no",
        baseline: { sbp: 158, dbp: 95, hr: 72, spo2: 98, rr: 14 }, dose: 36, phq9: { q1: 2, q2: 2, q3: 1, q4: 1, q5: 0, q6: 1, q7: 1, q8: 0, q9: 0 } });
      const visit = await simApi("dr.osei", "GET", `/visits/${v.id}`);
      const sig = visit.phases.find((x) => x.id === "screening").items.find((i) => i.id === "dose_check");
      await rec({ dose_check: true, attests: { dose_check: sig.to_attest }, password: pw }, "dr.osei");
      await simApi("dr.osei", "POST", `/visits/${v.id}/override`, { reason: "Baseline BP rechecked after rest; clinician reviewed and agrees to proceed", items: await unrecordedItems((p) => simApi("dr.osei", "GET", p), v.id), password: pw });
      await rec({ infusion_started: true, pump_rate: 150 });
      await tick("10m");
      await obs(150, 90);
      await tick("12m");
      const { now_ms } = await simApi("dr.osei", "GET", "/clock");
      await rec({ vitals: { sbp: 146, dbp: 88, hr: 78, spo2: 97, rr: 14 }, moaas: "4", dissociation: "present", observed_at: new Date(now_ms - 120000).toISOString() });
      await tick("8m");
      await obs(212, 126);
      await tick("2m");
      await obs(184, 112, { vitals: { sbp: 184, dbp: 112, hr: 80, spo2: 91, rr: 10 }, moaas: "3", dissociation: "present" });
      await tick("8m");
      await obs(160, 96);
      await rec({ infusion_stopped: true, volume_infused: 100, dose_given: 36 });
      await tick("2m");
      await simApi("dr.osei", "POST", `/visits/${v.id}/override`, { reason: "BP settling; clinician at the chair", items: await unrecordedItems((p) => simApi("dr.osei", "GET", p), v.id), password: pw });
      for (const sbp of [150, 142, 136, 130, 128, 126]) {
        await tick("15m");
        await obs(sbp, 84);
      }
      // 126/84 after a baseline of 158/95 is back near it: a fall from a baseline above 140/90 is judged
      // from 140/90 (docs/workstation.md V4); the infusion's alerts, not yet acknowledged, still hold.
      await simApi("dr.osei", "POST", `/visits/${v.id}/override`, { reason: "Observation complete; BP back near baseline", items: await unrecordedItems((p) => simApi("dr.osei", "GET", p), v.id), password: pw });
      // Circulation 1: 126 after the baseline's 158 is 20 % away (the score's own band; AL2).
      await rec({ aldrete: { activity: 2, respiration: 2, circulation: 1, consciousness: 2, spo2: 2 }, responsible_adult: true, no_driving_advice: true, written_instructions: true });
      // The discharge refused while the alerts wait; each acknowledged with a reason.
      await assert.rejects(simApi("dr.osei", "POST", `/visits/${v.id}/discharge`, { password: pw }), /gate_not_met/);
      const { alerts } = await simApi("dr.osei", "GET", `/visits/${v.id}`);
      assert.equal(alerts.length, 4);
      for (const a of alerts) await simApi("nurse.kim", "POST", `/alerts/${a.id}/ack`, { reason: "Rechecked: the reading stands; clinician told" });
      await simApi("nurse.kim", "POST", `/visits/${v.id}/notes`, { note: "Patient calm, music offered; partner in the waiting room to take her home." });
      // The last systolic, 126, is within 20 % of 140 (V4): the discharge goes without an override.
      await simApi("dr.osei", "POST", `/visits/${v.id}/discharge`, { password: pw });

      const p = await signedIn("nurse.kim", sim);
      await p.goto(`${sim.url}/#/visit/${v.id}/summary`);
      await p.locator("#print").waitFor();
      await p.locator(".summary .timeline li", { hasText: "Discharged" }).waitFor();
      assert.ok(await p.locator(".summary table.flowsheet th.fs-col").count() >= 12, "a dozen flowsheet columns");
      const doc = await getDocument({ data: new Uint8Array(await p.pdf({ format: "A4" })), verbosity: 0 }).promise;
      const pages = [];
      for (let i = 1; i <= doc.numPages; i++) pages.push((await (await doc.getPage(i)).getTextContent()).items.map((x) => x.str).join(" "));
      await doc.destroy();
      assert.ok(pages.length <= 4, `the summary prints on ${pages.length} pages`);
      assert.match(pages[pages.length - 1], /Discharged/, "the timeline's last event is printed");
      await p.context().close();
    } finally {
      await sim.stop();
    }
  });
});

describe("the board's held visits and earlier phases' signatures (AK4, AK5)", () => {
  it("a visit held by a dangerous reading says why and comes before the quiet ones; a dose check voided in an earlier phase is waited for", async () => {
    const { sim, simApi } = await simulated();
    try {
      const pw = USERS["dr.osei"].password;
      const get = (path) => simApi("dr.osei", "GET", path);
      // Past its gate, with a clinician's override (naming its holds).
      const pass = async (id) => {
        const v = await get(`/visits/${id}`);
        await simApi("dr.osei", "POST", `/visits/${id}/override`, { reason: "test: on to the next phase", items: await unrecordedItems(get, id), password: pw,
          ...(v.blocks.length ? { holds: v.blocks.map((b) => b.rule) } : {}) });
      };
      // A quiet visit first (the board sorts a tie by the visit's number).
      const quiet = await simApi("nurse.kim", "POST", "/visits", { protocol: "ketamine_iv", patient: "MRN-AK4Q", params: { weight: 70 } });
      // Held by the baseline over the hold (bp_hold: a rule's hold, and its high alert above 200/120: AN12).
      const bp = await simApi("nurse.kim", "POST", "/visits", { protocol: "ketamine_iv", patient: "MRN-AK4BP", params: { weight: 70 } });
      await simApi("nurse.kim", "POST", `/visits/${bp.id}/entries`, { baseline: { sbp: 214, dbp: 126, hr: 70, spo2: 98, rr: 14 } });
      // At the discharge with everything recorded, held by HR 128 (the
      // discharge's gate), its alert acknowledged.
      const hr = await simApi("nurse.kim", "POST", "/visits", { protocol: "ketamine_iv", patient: "MRN-AK4HR", params: { weight: 70 } });
      await simApi("nurse.kim", "POST", `/visits/${hr.id}/entries`, { baseline: { sbp: 120, dbp: 80, hr: 70, spo2: 98, rr: 14 } });
      for (let i = 0; i < 3; i++) await pass(hr.id);
      await simApi("nurse.kim", "POST", `/visits/${hr.id}/entries`, { vitals: { sbp: 120, dbp: 80, hr: 128, spo2: 98, rr: 14 },
        aldrete: { activity: 2, respiration: 2, circulation: 2, consciousness: 2, spo2: 2 }, responsible_adult: true, no_driving_advice: true, written_instructions: true });
      for (const a of (await get(`/visits/${hr.id}`)).alerts) await simApi("nurse.kim", "POST", `/alerts/${a.id}/ack`, { reason: "Rechecked: the reading stands; clinician told" });
      // The dose amended in the infusion: the screening's dose check is void.
      const dose = await simApi("nurse.kim", "POST", "/visits", { protocol: "ketamine_iv", patient: "MRN-AK5", params: { weight: 72 } });
      await simApi("nurse.kim", "POST", `/visits/${dose.id}/entries`, { baseline: { sbp: 120, dbp: 80, hr: 70, spo2: 98, rr: 14 }, dose: 36 });
      await simApi("dr.osei", "POST", `/visits/${dose.id}/entries`, { dose_check: true, password: pw });
      await pass(dose.id);
      await simApi("nurse.kim", "POST", `/visits/${dose.id}/amend`, { item: "screening.dose", value: 30.5, reason: "redrawn" });

      const p = await signedIn("nurse.kim", sim);
      const row = (patient) => p.locator("table.board tbody tr", { hasText: patient });
      await row("MRN-AK5").waitFor();
      await row("MRN-AK4BP").locator("td.waiting .badge-held",
        { hasText: "Held: Baseline BP 214/126 is at or above the hold limit 180/110" }).waitFor({ timeout: 5000 });
      await row("MRN-AK4HR").locator("td.waiting .badge-held", { hasText: "Held: last vitals heart rate 128 above 120" }).waitFor({ timeout: 5000 });
      // Only the hold, not what the Alert column says.
      assert.equal(await row("MRN-AK4HR").locator("td.waiting .badge-held").count(), 1);
      await row("MRN-AK5").locator("td.waiting .badge-sign",
        { hasText: "Clinician to sign: Dose double-checked by a second person (Screening before dosing, again: void)" }).waitFor({ timeout: 5000 });
      // The quiet one holds nothing and comes after the held ones.
      assert.equal(await row("MRN-AK4Q").locator("td.waiting").innerText(), "\u2014");
      const order = await p.locator("table.board tbody tr th a.row-link").allInnerTexts();
      assert.ok(order.indexOf("MRN-AK4BP") < order.indexOf("MRN-AK4Q"), `the held visit before the quiet one: ${order.join(", ")}`);
      assert.ok(order.indexOf("MRN-AK4HR") < order.indexOf("MRN-AK4Q"), `the held discharge before the quiet one: ${order.join(", ")}`);
      assert.equal(quiet.id < bp.id, true);
      await p.context().close();
    } finally {
      await sim.stop();
    }
  });
});

describe("the board at 1024x768 (AN6)", () => {
  it("fits the window with no sideways scroll, and puts held visits and high alerts above a low alert", async () => {
    const { sim, simApi } = await simulated();
    try {
      const start = async (patient, location, baseline) => {
        const v = await simApi("nurse.kim", "POST", "/visits", { protocol: "ketamine_iv", patient, location, params: { weight: 70 } });
        await simApi("nurse.kim", "POST", `/visits/${v.id}/entries`, { baseline: { hr: 70, spo2: 98, rr: 14, ...baseline } });
        return v;
      };
      const ackAll = async (id) => {
        for (const a of (await simApi("nurse.kim", "GET", `/visits/${id}`)).alerts)
          if (a.state === "active") await simApi("nurse.kim", "POST", `/alerts/${a.id}/ack`, { reason: "Rechecked: the reading stands; clinician told" });
      };
      // First by number: a low alert (baseline 176/102, bp_caution); then the
      // visits a reading holds, their alerts acknowledged (190/115, 214/126:
      // over the hold limit 180/110), and a high alert (214/126 unacknowledged).
      await start("MRN-AN6LOW", "Chair 1", { sbp: 176, dbp: 102 });
      const h1 = await start("MRN-AN6H190", "Recliner bay 12", { sbp: 190, dbp: 115 });
      const h2 = await start("MRN-AN6H214", "Chair 3", { sbp: 214, dbp: 126 });
      await start("MRN-AN6HIGH", "Chair 4", { sbp: 214, dbp: 126 });
      await ackAll(h1.id);
      await ackAll(h2.id);
      await start("MRN-AN6Q", "Chair 5", { sbp: 120, dbp: 80 });
      const p = await signedIn("nurse.kim", sim);
      await p.setViewportSize({ width: 1024, height: 768 });
      const row = (patient) => p.locator("table.board tbody tr", { hasText: patient });
      await row("MRN-AN6H190").locator("td.waiting .badge-held").waitFor({ timeout: 5000 });
      await row("MRN-AN6H214").locator("td.waiting .badge-held").waitFor({ timeout: 5000 });
      await row("MRN-AN6LOW").locator(".alarm-low").waitFor({ timeout: 5000 });
      const order = await p.locator("table.board tbody tr th a.row-link").allInnerTexts();
      for (const first of ["MRN-AN6HIGH", "MRN-AN6H190", "MRN-AN6H214"])
        assert.ok(order.indexOf(first) < order.indexOf("MRN-AN6LOW"), `${first} before the low alert: ${order.join(", ")}`);
      assert.ok(order.indexOf("MRN-AN6LOW") < order.indexOf("MRN-AN6Q"), `the low alert before the quiet visit: ${order.join(", ")}`);
      // Then visits in the infusion, their checkpoints overdue and due now:
      // the widest a row is (a course's sessions, a long chair, overrides).
      await inInfusion(simApi, "MRN-AN6OD");
      await simApi("admin.lee", "POST", "/clock", { advance: "16m" });
      const late = await inInfusion(simApi, "MRN-AN6DUE");
      await simApi("dr.osei", "POST", `/visits/${late.id}/entries`, { vitals: { sbp: 150, dbp: 95, hr: 104, spo2: 93, rr: 22 } });
      await simApi("admin.lee", "POST", "/clock", { advance: "11m" });
      await row("MRN-AN6DUE").locator("td.due .badge-now").waitFor({ timeout: 5000 });
      await row("MRN-AN6OD").locator("td.due .badge-overdue").waitFor({ timeout: 5000 });
      // Every column in the window: the page and the table no wider than it.
      const wide = await p.evaluate(() => ({ page: document.documentElement.scrollWidth, client: document.documentElement.clientWidth,
        table: document.querySelector("table.board").getBoundingClientRect().right,
        alert: document.querySelector("table.board thead th:last-child").getBoundingClientRect().right }));
      assert.ok(wide.page <= 1024 && wide.page <= wide.client, `the page is ${wide.page} px wide in a ${wide.client} px window`);
      assert.ok(wide.table <= wide.client && wide.alert <= wide.client, `the board ends at ${wide.table} px, its Alert column at ${wide.alert} px, in ${wide.client} px`);
      if (process.env.VIGIL_SCREENSHOTS) {
        await p.screenshot({ path: join(process.env.VIGIL_SCREENSHOTS, "board-1024.png"), fullPage: true });
        await p.setViewportSize({ width: 390, height: 844 });
        await p.screenshot({ path: join(process.env.VIGIL_SCREENSHOTS, "board-390.png"), fullPage: true });
      }
      await p.context().close();
    } finally {
      await sim.stop();
    }
  });
});

describe("a signature of a phase the visit has left (AL7)", () => {
  // Past screening with a clinician's override (naming its holds).
  async function pastScreening(id) {
    const get = (path) => api("dr.osei", "GET", path);
    const v = await get(`/visits/${id}`);
    await api("dr.osei", "POST", `/visits/${id}/override`, { reason: "test: on to the infusion", items: await unrecordedItems(get, id), password: USERS["dr.osei"].password,
      ...(v.blocks.length ? { holds: v.blocks.map((b) => b.rule) } : {}) });
  }
  const gateSays = async (id, part) => (await api("dr.osei", "GET", `/visits/${id}`)).gate.reasons.some((r) => r.includes(part));

  it("a dose check voided in the infusion is signed again from the infusion's page", async () => {
    const v = await api("nurse.kim", "POST", "/visits", { protocol: "ketamine_iv", patient: "MRN-AL7A", params: { weight: 72 } });
    await api("nurse.kim", "POST", `/visits/${v.id}/entries`, { baseline: { sbp: 120, dbp: 80, hr: 70, spo2: 98, rr: 14 }, dose: 36 });
    await api("dr.osei", "POST", `/visits/${v.id}/entries`, { dose_check: true, password: USERS["dr.osei"].password });
    await pastScreening(v.id);
    await api("nurse.kim", "POST", `/visits/${v.id}/amend`, { item: "screening.dose", value: 35, reason: "redrawn" });
    assert.ok(await gateSays(v.id, "(Screening before dosing) is void"));
    // The nurse sees what holds the phase, and that a clinician signs it.
    const nurse = await signedIn("nurse.kim");
    await nurse.goto(`${server.url}/#/visit/${v.id}`);
    const mine = nurse.locator(".checklist .item-from-earlier", { hasText: "Dose double-checked by a second person" });
    await mine.getByText("From Screening before dosing").waitFor({ timeout: 5000 });
    await mine.getByText(/A clinician signs this/).waitFor();
    assert.equal(await mine.getByRole("button", { name: /Sign/ }).count(), 0);
    await nurse.context().close();
    // The clinician signs it again there: what is attested is the dose now.
    const dr = await signedIn("dr.osei");
    await dr.goto(`${server.url}/#/visit/${v.id}`);
    const card = dr.locator(".checklist .item-from-earlier", { hasText: "Dose double-checked by a second person" });
    await card.getByRole("button", { name: "Sign again…" }).click();
    const dlg = dr.locator("dialog[open]");
    assert.match(await dlg.locator("dl.attests").innerText(), /drawn up 35 mg/);
    await dlg.getByLabel(/password/i).fill(USERS["dr.osei"].password);
    await dlg.getByRole("button", { name: "Sign", exact: true }).click();
    await dr.locator("dialog").waitFor({ state: "hidden" });
    await card.waitFor({ state: "detached" });
    assert.equal(await gateSays(v.id, "(Screening before dosing) is void"), false);
    await dr.context().close();
  });

  it("the suicide-risk assessment owed after PHQ-9 item 9 is amended in the infusion is recorded from the infusion's page", async () => {
    const v = await api("nurse.kim", "POST", "/visits", { protocol: "ketamine_iv", patient: "MRN-AL7B", params: { weight: 70 } });
    await api("nurse.kim", "POST", `/visits/${v.id}/entries`, { baseline: { sbp: 120, dbp: 80, hr: 70, spo2: 98, rr: 14 },
      phq9: { q1: 1, q2: 1, q3: 0, q4: 0, q5: 0, q6: 0, q7: 0, q8: 0, q9: 0 } });
    await pastScreening(v.id);
    await api("nurse.kim", "POST", `/visits/${v.id}/amend`, { item: "screening.phq9", value: { q1: 1, q2: 1, q3: 0, q4: 0, q5: 0, q6: 0, q7: 0, q8: 0, q9: 2 },
      reason: "the patient told the nurse in the chair" });
    assert.ok(await gateSays(v.id, "a change since the visit left screening requires it"));
    const dr = await signedIn("dr.osei");
    await dr.goto(`${server.url}/#/visit/${v.id}`);
    const card = dr.locator(".checklist .item-from-earlier", { hasText: "Suicide-risk assessment by a clinician" });
    await card.getByText(/A change since this phase requires it/).waitFor({ timeout: 5000 });
    await card.getByRole("button", { name: "Sign…" }).click();
    const dlg = dr.locator("dialog[open]");
    await dlg.getByLabel("Outcome").selectOption("moderate: proceed with a safety plan");
    await dlg.getByLabel(/password/i).fill(USERS["dr.osei"].password);
    await dlg.getByRole("button", { name: "Sign", exact: true }).click();
    await dr.locator("dialog").waitFor({ state: "hidden" });
    await card.waitFor({ state: "detached" });
    assert.equal(await gateSays(v.id, "a change since the visit left screening requires it"), false);
    const item = (await api("dr.osei", "GET", `/visits/${v.id}`)).phases.find((p) => p.id === "screening").items.find((it) => it.id === "suicide_risk");
    assert.equal(item.value, "moderate: proceed with a safety plan");
    await dr.context().close();
  });
});

// AK6: an amended reading's alert and the one its amendment raised again
// were two flags alike on the card, and the server's messages quoted the
// amendment's values as JSON.
describe("an amended reading's alerts (AK6)", () => {
  it("flags one alert per alarm on the card, and says the values of every message as a nurse reads them", async () => {
    const v = await inInfusion(api, "MRN-AK6");
    await api("nurse.kim", "POST", `/visits/${v.id}/entries`, { vitals: { sbp: 130, dbp: 80, hr: 72, spo2: 88, rr: 14 } });
    await api("nurse.kim", "POST", `/visits/${v.id}/amend`, { item: "infusion.vitals", value: { sbp: 130, dbp: 80, hr: 72, spo2: 97, rr: 14 }, reason: "the probe was off the finger" });
    await api("nurse.kim", "POST", `/visits/${v.id}/amend`, { item: "infusion.vitals", value: { sbp: 150, dbp: 95, hr: 80, spo2: 88, rr: 14 }, reason: "misread the monitor" });
    const visit = await api("nurse.kim", "GET", `/visits/${v.id}`);
    const spo2 = visit.alerts.filter((a) => a.rule === "spo2_low" && a.state !== "closed");
    assert.ok(spo2.length >= 2, `two spo2_low alerts open, the amended reading's and the one raised again: ${JSON.stringify(spo2)}`);
    assert.ok(spo2.some((a) => a.message.includes('{"sbp":')), "the server quotes the amendment's values as JSON");
    const p = await signedIn("nurse.kim");
    await p.goto(`${server.url}/#/visit/${v.id}`);
    const vitals = p.locator('.checklist .item[data-item="vitals"]');
    await vitals.locator(".last", { hasText: "150/95" }).waitFor();
    await p.locator(".visit-alerts li").first().waitFor();
    const flags = await vitals.locator(".item-flag", { hasText: "SpO2 88%" }).allInnerTexts();
    assert.equal(flags.length, 1, `one flag for the SpO2 alarm under the amended reading: ${flags.join(" | ")}`);
    assert.match(flags[0], /an earlier alert alike is listed under Alerts/);
    for (const [where, text] of [["the card", await vitals.innerText()], ["the alerts", await p.locator(".visit-alerts").innerText()],
      ["the banners", await p.locator("#alarms").innerText()], ["the history", await p.locator(".history").innerText()]])
      assert.doesNotMatch(text, /\{"\w+":/, `no JSON in ${where}: ${text}`);
    assert.match(await p.locator(".visit-alerts").innerText(), /amendment of Vitals from BP 130\/80, Heart rate 72, SpO₂ 88, Respiratory rate 14 to BP 130\/80, Heart rate 72, SpO₂ 97/);
    await p.context().close();
  });
});

// AK10: a time of another day said without its date, 12- and 24-hour times
// on one card, an acknowledge dialog that did not name its patient, and
// "Screening before dosingaborted" on the board.
describe("times, the patient and words (AK10)", () => {
  it("says the date of a time of another day on the 24-hour clock, names the patient in the acknowledge dialog, and sets aborted apart", async () => {
    const { sim, simApi } = await simulated();
    try {
      const v = await simApi("nurse.kim", "POST", "/visits", { protocol: "ketamine_iv", patient: "MRN-AK10", params: { weight: 70 } });
      await simApi("nurse.kim", "POST", `/visits/${v.id}/entries`, { fasting_hours: 6, baseline: { sbp: 210, dbp: 125, hr: 70, spo2: 98, rr: 14 } });
      await simApi("nurse.kim", "POST", `/visits/${v.id}/amend`, { item: "screening.fasting_hours", value: 8, reason: "misheard: eight hours" });
      const amended = (await simApi("nurse.kim", "GET", `/visits/${v.id}/events?limit=1000`)).events.find((e) => e.type === "item.amended");
      // The next day, in the afternoon: a time of day alone would read as today's.
      await simApi("admin.lee", "POST", "/clock", { advance: "1d4h" });
      // In American English, whose times of day the browser writes on the 12-hour clock.
      const p = await signedIn("nurse.kim", sim, "en-US");
      await p.goto(`${sim.url}/#/visit/${v.id}`);
      const card = p.locator('.checklist .item[data-item="fasting_hours"]');
      await card.locator(".amended-mark").waitFor();
      const when = new Date(amended.time);
      const day = when.getUTCDate();
      const month = when.toLocaleString("en-US", { month: "short", timeZone: "UTC" });
      const hhmm = when.toISOString().slice(11, 16); // the page's zone is UTC
      const last = await card.locator(".last").innerText();
      assert.match(last, new RegExp(`Amended by nurse\\.kim at [A-Z][a-z]{2}, ${month} ${day}, ${hhmm} from 6 h`), `the amendment of another day says its date: ${last}`);
      assert.match(last, new RegExp(`nurse\\.kim, [A-Z][a-z]{2}, ${month} ${day}, ${hhmm}`), `the entry of another day says its date: ${last}`);
      const page = await p.locator("main").innerText();
      assert.doesNotMatch(page, /\d\d:\d\d\s?[AP]M/, "every time on the 24-hour clock");
      const alert = p.locator(".visit-alerts li", { hasText: "210/125" });
      assert.match(await alert.innerText(), new RegExp(`raised [A-Z][a-z]{2}, ${month} ${day}, \\d\\d:\\d\\d`), "an alert of another day says its date");
      await alert.getByRole("button", { name: "With reason…" }).click();
      const dlg = p.locator("dialog[open]");
      assert.match(await dlg.locator("#dialog-title").innerText(), /MRN-AK10/, "the acknowledge dialog names its patient");
      await dlg.getByRole("button", { name: "Cancel" }).click();
      // A visit with a high alert open is a clinician's to stop.
      await simApi("dr.osei", "POST", `/visits/${v.id}/abort`, { reason: "patient declined the infusion today", password: USERS["dr.osei"].password });
      await p.locator('[data-nav="board"]').click();
      const row = p.locator("table.board tr", { hasText: "MRN-AK10" });
      await row.locator(".badge", { hasText: "aborted" }).waitFor();
      assert.match(await row.locator("td.phase").innerText(), /Screening before dosing aborted/);
      await p.context().close();
    } finally {
      await sim.stop();
    }
  });

  it("a refusal to move on says each of its reasons once", async () => {
    const v = await api("nurse.kim", "POST", "/visits", { protocol: "ketamine_iv", patient: "MRN-AK10B", params: { weight: 70 } });
    const { gate } = await api("nurse.kim", "GET", `/visits/${v.id}`);
    assert.ok(gate.reasons.length > 1, `screening's gate waits for several items: ${JSON.stringify(gate.reasons)}`);
    const p = await signedIn("nurse.kim");
    await p.goto(`${server.url}/#/visit/${v.id}`);
    await p.locator("#advance").click();
    const refusal = p.locator('.gate .error[data-error-for=""]');
    await refusal.waitFor();
    const text = await refusal.innerText();
    for (const r of gate.reasons) assert.equal(text.split(r).length - 1, 1, `"${r}" said once: ${text}`);
    await p.context().close();
  });
});
