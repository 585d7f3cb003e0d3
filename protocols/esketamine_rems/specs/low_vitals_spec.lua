-- Low blood pressure, a slow heart rate and low pre-dose vitals (docs/safety.md Q3,
-- Q4): a systolic at or below sbp_low (90) or a heart rate at or below hr_min (40)
-- alerts high after dosing and before leaving (R5), and holds leaving whatever
-- "acceptable for leaving" says; before dosing a reading past sbp_low, hr_min, spo2_min or rr_min is also a
-- hold, an amendment of it in dosing holding the devices.
local session = require "session"
local bp = session.bp

return {
  spec "Low pre-dose vitals alert high and hold dosing until a reading within the limits" {
    session.predose(128, 78, true),
    at "2m" { record = { predose_vitals = bp(86, 50, { hr = 36, spo2 = 88, rr = 6 }) } },
    expect "2m" { alert = "bp_low", priority = "high", message = "BP 86/50: systolic at or below 90" },
    expect "2m" { alert = "hr_low", priority = "high", message = "Heart rate 36/min is at or below 40" },
    expect "2m" { alert = "spo2_low", priority = "high", message = "SpO2 88% is below 92%" },
    expect "2m" { alert = "rr_low", priority = "high", message = "Respiratory rate 6/min is below 10" },
    expect "2m" { block = "hr_low", reason = "Pre-dose heart rate 36/min is at or below 40: do not dose" },
    at "3m" { advance = true },
    expect "3m" { gate_blocked = "predose", reason = "Pre-dose systolic BP 86 mmHg is at or below 90" },
    at "4m" { record = { predose_vitals = bp(118, 72, { spo2 = 97, rr = 14 }) } },
    expect "4m" { unblocked = "hr_low" },
    at "4m" { ack = "bp_low" },
    at "4m" { ack = "hr_low" },
    at "4m" { ack = "spo2_low" },
    at "4m" { ack = "rr_low" },
    at "5m" { advance = true },
    expect "5m" { entered = "dosing" },
    at "6m" { amend = { item = "predose.predose_vitals", reason = "the monitor was misread",
                        value = bp(118, 72, { spo2 = 89, rr = 14 }) } },
    expect "6m" { block = "predose:spo2_low", reason = "Pre-dose SpO2 89% is below 92%" },
    at "7m" { record = { dose = "56 mg", lot_number = "EKA2211", devices_administered = true } },
    expect "7m" { refused = true, error = "the dose waits while a hold is open" },
  },

  spec "Low BP and a slow heart rate after dosing alert high; before leaving they hold leaving" {
    session.predose(),
    session.dosing(),
    session.monitoring({}, bp(84, 50, { hr = 38 }), true),
    expect "50m" { alert = "bp_low", priority = "high", message = "BP 84/50: systolic at or below 90" },
    expect "50m" { alert = "hr_low", priority = "high", message = "Heart rate 38/min is at or below 40" },
    at "51m" { ack = "bp_low" },
    at "51m" { ack = "hr_low" },
    at "60m" { record = { bp = bp(118, 72) } },
    expect "60m" { resolved = "bp_low" },
    expect "60m" { resolved = "hr_low" },
    at "131m" { advance = true },
    session.discharge({ bp_before_leaving = bp(112, 70, { hr = 39 }) }, true),
    expect "133m" { block = "bp_leaving", reason = "BP before leaving 112/70, heart rate 39/min: at or below" },
    expect "133m" { alert = "hr_low", priority = "high", message = "Heart rate 39/min is at or below 40" },
    at "133m" { ack = "hr_low" },
    at "134m" { discharge = true },
    expect "134m" { gate_blocked = "discharge", reason = "not fit to leave" },
    at "140m" { record = { bp_before_leaving = bp(116, 72) } },
    expect "140m" { unblocked = "bp_leaving" },
    at "141m" { discharge = true },
    expect "141m" { discharged = true },
  },
}
