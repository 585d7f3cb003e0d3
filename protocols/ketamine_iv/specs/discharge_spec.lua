-- The modified Aldrete's SpO2 and respiration points restate measurements (rule
-- aldrete_restates, docs/safety.md H12): points the last vitals contradict raise a
-- high alert, which holds the discharge until the score is amended.
local visit = require "visit"
local vitals = visit.vitals

return spec "An Aldrete SpO2 of 2 after a last SpO2 of 92% alerts high and holds the discharge" {
  params = { weight = 70 },
  no_other = { "alerts" },
  visit.screening(70),
  visit.infusion(),
  at "66m" { record = { vitals = vitals(128, 80), moaas = "5", dissociation = "none" } },
  at "81m" { record = { vitals = vitals(128, 80), moaas = "5", dissociation = "none" } },
  at "96m" { record = { vitals = vitals(128, 80), moaas = "5", dissociation = "none" } },
  -- 92% is not below spo2_min (no alert), and scores 1 Aldrete point, not 2.
  at "111m" { record = { vitals = vitals(128, 80, { spo2 = 92 }), moaas = "5", dissociation = "none" } },
  at "112m" { advance = true },
  expect "112m" { entered = "discharge" },
  at "113m" { record = { aldrete = { activity = 2, respiration = 2, circulation = 2, consciousness = 2, spo2 = 2 },
                         responsible_adult = true, no_driving_advice = true, written_instructions = true } },
  expect "113m" { alert = "aldrete_restates", priority = "high",
                  message = "spo2 2 points, but the last SpO2 92% allows at most 1" },
  at "115m" { discharge = true },
  expect "115m" { gate_blocked = "discharge", reason = "not acknowledged: Modified Aldrete contradicts the last vitals" },
  at "116m" { amend = { item = "aldrete", reason = "scored again",
                        value = { activity = 2, respiration = 2, circulation = 2, consciousness = 2, spo2 = 1 } } },
  expect "116m" { resolved = "aldrete_restates" },
  expect "116m" { gate = "open" },
  at "117m" { discharge = true },
  expect "117m" { discharged = true },
}
