-- The treatment course (docs/clinical/course.md): six sessions make the acute
-- series and the PHQ-9 response shows at discharge; a missed session calls the
-- patient; a dose changed from the last session's alerts the clinician; a
-- session sooner than the minimum interval holds screening for a clinician.
local course = require "course"
local session, t = course.session, course.at

return {
  spec "Six sessions three days apart make the acute series, and discharge shows the response" {
    params = { weight = 70 },
    actor = "nurse:ana",
    no_other = { "alerts", "blocks" },
    session(0, 70, 20), session(3, 70, 17), session(6, 70, 14),
    session(9, 70, 11), session(12, 70, 9), session(15, 70, 7),
    expect(t(12, 120)) { course = { sessions = 5, completed = 5, stage = "induction", response = true } },
    expect(t(15, 112)) { note = "Course session 6: PHQ-9 7 today, 20 at the first session: a fall of 65 %" },
    expect(t(15, 120)) { course = { sessions = 6, completed = 6, stage = "maintenance", response = true,
                                    remission = false, overdue = false } },
  },

  spec "A missed session calls the patient; a changed dose alerts the clinician" {
    params = { weight = 70 },
    actor = "nurse:ana",
    no_other = { "alerts" },
    session(0, 70, 18),
    -- Due 3 days after the first session, overdue 2 days later.
    expect(t(5) .. ".." .. t(5, 1)) { alert = "missed_session", source = "course", message = "call the patient" },
    expect(t(5, 60)) { course = { overdue = true, sessions = 1 } },
    -- The patient comes on day 6 with a higher dose (0.65 mg/kg, 45.5 mg: 30 % above 35 mg).
    session(6, 70, 15, 45.5, { weight = 70, dose_mg_per_kg = 0.65 }),
    expect(t(6)) { resolved = "missed_session" },
    expect(t(6, 4)) { alert = "dose_change", priority = "medium", message = "differs from the last session's 35 mg" },
    -- Confirmed by the clinician, with a reason: the alert is carried (docs/safety.md P9), so a
    -- nurse's acknowledgement is refused and the dose waits for the clinician's.
    at(t(6, 5)) { actor = "dr:kim", ack = "dose_change", reason = "0.65 mg/kg prescribed after a partial response" },
    expect(t(6, 5)) { resolved = "dose_change" },
    expect(t(6, 120)) { course = { completed = 2, overdue = false } },
  },

  spec "A session sooner than the minimum interval holds screening until a clinician overrides" {
    params = { weight = 70 },
    actor = "nurse:ana",
    session(0, 70, 18),
    -- Six hours after the first session began: screening is done, the gate holds.
    at(t(0, 360)) { start = true },
    at(t(0, 361)) { record = { consent = true, ci_hypertension = "no", ci_vascular = "no", ci_psychosis = "no",
                               ci_hypersensitivity = "no", pregnancy = "neither", substance_use = "no",
                               ride_confirmed = true } },
    at(t(0, 365)) { advance = true },
    expect(t(0, 365)) { gate_blocked = "screening", reason = "the course's minimum interval is 1 day:" },
    at(t(0, 370)) { actor = "dr:kim", override = "second session today agreed with the psychiatrist" },
    expect(t(0, 370)) { overridden = "screening" },
  },
}
