-- The discharge's repeat reading (docs/safety.md T6): vitals taken now, at the chair,
-- with the observation's limit rules under the same names, and the last vitals the
-- discharge's checks read.
local visit = require "visit"
local vitals = visit.vitals

return {
  spec "A low repeat reading at discharge alerts as in the observation and holds the discharge" {
    params = { weight = 70 },
    visit.screening(70),
    visit.infusion(),
    visit.observation(),
    at "113m" { record = { vitals = vitals(88, 60, { spo2 = 91 }) } },
    expect "113m" { alert = "bp_low", priority = "high", message = "systolic at or below 90" },
    expect "113m" { alert = "spo2_low", priority = "high", message = "SpO2 91% is below 92%" },
    -- It is the last vitals: the Aldrete cross-check and the discharge's low BP hold read it.
    at "114m" { record = { aldrete = { activity = 2, respiration = 2, circulation = 2, consciousness = 2, spo2 = 2 },
                           responsible_adult = true, no_driving_advice = true, written_instructions = true } },
    expect "114m" { alert = "aldrete_restates", priority = "high",
                    message = "spo2 2 points, but the last SpO2 91% allows at most 1" },
    at "115m" { discharge = true },
    expect "115m" { gate_blocked = "discharge", reason = "last vitals systolic 88 at or below 90" },
    at "120m" { record = { vitals = vitals(124, 78) } },
    expect "120m" { resolved = "bp_low" },
    expect "120m" { resolved = "spo2_low" },
    -- The Aldrete cross-check runs on the repeat too (docs/safety.md U2, U9): the calm one
    -- ends its contradiction, the score needs no amendment.
    expect "120m" { resolved = "aldrete_restates" },
  },

  spec "Each of the observation's limits alerts on the repeat reading at discharge too" {
    params = { weight = 70 },
    visit.screening(70),
    visit.infusion(),
    visit.observation(),
    at "113m" { record = { vitals = vitals(210, 100, { hr = 125, rr = 8 }) } },
    expect "113m" { alert = "bp_high", id = "bp_high", priority = "high", message = "BP 210/100 is above" },
    expect "113m" { alert = "bp_rise", priority = "medium" },
    expect "113m" { alert = "hr_high", id = "hr_high_unconfirmed", priority = "low" },
    expect "113m" { alert = "rr_low", priority = "high", message = "Respiratory rate 8/min is below 10" },
    expect "113m" { no_alert = true, message = "infusion" },
    at "119m" { record = { vitals = vitals(130, 80, { hr = 128 }) } },
    expect "119m" { alert = "hr_high", id = "hr_high", priority = "medium", message = "for at least 5 minutes" },
    at "120m" { record = { vitals = vitals(130, 80, { hr = 38 }) } },
    expect "120m" { alert = "hr_low", priority = "high", message = "Heart rate 38/min is at or below 40" },
  },
}
