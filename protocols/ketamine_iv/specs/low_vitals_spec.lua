-- Low blood pressure and low pre-dose vitals (docs/safety.md Q3, Q4): a systolic at or
-- below sbp_low (90, NEWS2's 3-point band) alerts high wherever BP is taken; before
-- dosing a baseline past sbp_low, hr_min, spo2_min or rr_min is also a hold, an
-- amendment of it in the infusion holding the dose; the discharge waits while the
-- last vitals are at or below sbp_low or hr_min.
local visit = require "visit"
local vitals = visit.vitals

return {
  spec "Low pre-dose vitals alert high and hold screening until a reading within the limits" {
    params = { weight = 70 },
    visit.screening(70, true),
    at "7m" { record = { baseline = vitals(88, 50, { hr = 38, spo2 = 90, rr = 8 }) } },
    expect "7m" { alert = "bp_low", priority = "high", message = "BP 88/50: systolic at or below 90" },
    expect "7m" { alert = "hr_low", priority = "high", message = "Heart rate 38/min is at or below 40" },
    expect "7m" { alert = "spo2_low", priority = "high", message = "SpO2 90% is below 92%" },
    expect "7m" { alert = "rr_low", priority = "high", message = "Respiratory rate 8/min is below 10" },
    expect "7m" { block = "bp_low", reason = "Pre-dose systolic BP 88 mmHg is at or below 90: do not dose" },
    expect "7m" { block = "spo2_low", reason = "Pre-dose SpO2 90% is below 92%" },
    at "8m" { advance = true },
    expect "8m" { gate_blocked = "screening", reason = "Pre-dose heart rate 38/min is at or below 40" },
    at "9m" { record = { baseline = vitals(118, 72) } },
    expect "9m" { unblocked = "bp_low" },
    at "9m" { ack = "bp_low" },
    at "9m" { ack = "hr_low" },
    at "9m" { ack = "spo2_low" },
    at "9m" { ack = "rr_low" },
    at "10m" { advance = true },
    expect "10m" { entered = "infusion" },
    -- Amended before the dose: the hold comes back and holds the infusion's start.
    at "11m" { amend = { item = "screening.baseline", reason = "the monitor was misread",
                         value = vitals(118, 72, { rr = 7 }) } },
    expect "11m" { block = "screening:rr_low", reason = "Pre-dose respiratory rate 7/min is below 10" },
    at "13m" { record = { infusion_started = true, pump_rate = 150 } },
    expect "13m" { refused = true, error = "the dose waits while a hold is open" },
  },

  spec "Low blood pressure alerts high in the infusion and observation, and holds the discharge" {
    params = { weight = 70 },
    visit.screening(70),
    visit.infusion({ [30] = vitals(55, 25) }),
    expect "30m" { alert = "bp_low", priority = "high", message = "BP 55/25: systolic at or below 90" },
    expect "30m" { alert = "bp_low", message = "Consider stopping the infusion." },
    at "31m" { ack = "bp_low" },
    expect "40m" { resolved = "bp_low" },
    visit.observation(vitals(110, 70, { hr = 40 })),
    at "112m" { ack = "hr_low" },
    at "112m" { actor = "dr:kim", override = "heart rate 40 is this athlete's usual resting rate" },
    expect "112m" { entered = "discharge" },
    visit.discharge(),
    expect "115m" { gate_blocked = "discharge", reason = "last vitals heart rate 40 at or below 40" },
  },

  spec "Low blood pressure after the infusion alerts high and the discharge waits" {
    params = { weight = 70 },
    visit.screening(70),
    visit.infusion(),
    visit.observation(vitals(112, 80)),
    at "111m" { record = { vitals = vitals(90, 60, { hr = 38 }) } },
    expect "111m" { alert = "bp_low", priority = "high", message = "BP 90/60: systolic at or below 90" },
    expect "111m" { no_alert = "bp_low", message = "Consider stopping the infusion." },
    at "112m" { ack = "bp_low" },
    at "112m" { ack = "hr_low" },
    at "112m" { actor = "dr:kim", override = "reviewed at the bedside: lying down, feels well",
                holds = { "bp_not_recovered" } },
    visit.discharge(),
    expect "115m" { gate_blocked = "discharge", reason = "last vitals systolic 90 at or below 90, heart rate 38" },
  },

  -- docs/safety.md AP1: with a baseline of minutes, SpO2 85, RR 7, HR 35 in the infusion raised three
  -- highs, acknowledged, and the start went. The pre-start reading holds it as the baseline does.
  spec "A pre-start reading past a low limit holds the start as the baseline does, acknowledged or not" {
    params = { weight = 70 },
    visit.screening(70),
    at "11m" { record = { vitals = vitals(88, 50, { hr = 35, spo2 = 85, rr = 7 }) } },
    expect "11m" { alert = "spo2_low", priority = "high", message = "SpO2 85% is below 92%: assess the airway and "
                                                                   .. "check the probe; call the clinician." },
    expect "11m" { block = "bp_low", reason = "Pre-start systolic BP 88 mmHg is at or below 90: do not start the "
                                              .. "infusion; tell the clinician, rest and repeat the reading" },
    expect "11m" { block = "hr_low", reason = "Pre-start heart rate 35/min is at or below 40" },
    expect "11m" { block = "spo2_low", reason = "Pre-start SpO2 85% is below 92%" },
    expect "11m" { block = "rr_low", reason = "Pre-start respiratory rate 7/min is below 10" },
    at "12m" { ack = "bp_low" },
    at "12m" { ack = "hr_low" },
    at "12m" { ack = "spo2_low" },
    at "12m" { ack = "rr_low" },
    at "12m" { record = { infusion_started = true, pump_rate = 150 } },
    expect "12m" { refused = true, error = "Pre-start SpO2 85% is below 92%" },
    -- The newest reading counts: three limits back, the fourth still holds.
    at "14m" { record = { vitals = vitals(118, 72, { rr = 8 }) } },
    expect "14m" { unblocked = "spo2_low" },
    expect "14m" { unblocked = "hr_low" },
    expect "14m" { unblocked = "bp_low" },
    at "15m" { record = { infusion_started = true, pump_rate = 150 } },
    expect "15m" { refused = true, error = "Pre-start respiratory rate 8/min is below 10" },
    at "17m" { record = { vitals = vitals(118, 72) } },
    expect "17m" { unblocked = "rr_low" },
    -- Accepted now (a step refused unlooked-for fails the spec); once started, a low reading alerts only.
    at "18m" { record = { infusion_started = true, pump_rate = 150 } },
    at "28m" { record = { vitals = vitals(118, 72, { spo2 = 90 }) } },
    expect "28m" { alert = "spo2_low", message = "Consider stopping the infusion." },
    at "29m" { ack = "spo2_low" },
    at "30m" { record = { vitals = vitals(118, 72), moaas = "5", dissociation = "none" } },
  },
}
