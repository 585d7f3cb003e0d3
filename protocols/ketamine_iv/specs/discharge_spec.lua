-- The modified Aldrete's SpO2, respiration and circulation points restate measurements (rule
-- aldrete_restates, docs/safety.md H12, AL2): points the last vitals contradict raise a
-- high alert, which holds the discharge until the score is amended. The last vitals' systolic
-- more than bp_recovery_pct from the baseline holds the discharge, as it holds the
-- observation (docs/safety.md AL2); the diastolic more than dbp_recovery_pct too (AN15).
local visit = require "visit"
local vitals = visit.vitals

return {
  spec "An Aldrete SpO2 of 2 after a last SpO2 of 92% alerts high and holds the discharge" {
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
  },

  spec "A last systolic far from the baseline holds the discharge; the Aldrete's circulation is checked against it" {
    params = { weight = 70 },
    no_other = { "alerts" },
    visit.screening(70),
    visit.infusion(),
    visit.observation(),
    -- 104 after the baseline's 130 is 20% away, at the edge (Aldrete circulation 2): nothing.
    at "113m" { record = { vitals = vitals(104, 64) } },
    at "113m" { record = { aldrete = { activity = 2, respiration = 2, circulation = 2, consciousness = 2, spo2 = 2 },
                           responsible_adult = true, no_driving_advice = true, written_instructions = true } },
    expect "113m" { gate = "open" },
    -- 100 is 23% away: 1 circulation point at most, and the discharge holds.
    at "114m" { record = { vitals = vitals(100, 60) } },
    expect "114m" { alert = "aldrete_restates", priority = "high",
                    message = "circulation 2 points, but the last systolic 100 against the baseline 130 allows at most 1" },
    at "115m" { amend = { item = "aldrete", reason = "scored again",
                          value = { activity = 2, respiration = 2, circulation = 1, consciousness = 2, spo2 = 2 } } },
    expect "115m" { resolved = "aldrete_restates" },
    at "115m" { discharge = true },
    expect "115m" { gate_blocked = "discharge",
                    reason = "last vitals systolic 100 is more than 20% away from the baseline 130: record vitals back "
                             .. "near the baseline, or a clinician overrides" },
    -- 160 is 23% above it: held too.
    at "117m" { record = { vitals = vitals(160, 90) } },
    at "117m" { discharge = true },
    expect "117m" { gate_blocked = "discharge", reason = "last vitals systolic 160 is more than 20% away" },
    at "119m" { record = { vitals = vitals(122, 78) } },
    expect "119m" { gate = "open" },
    at "120m" { discharge = true },
    expect "120m" { discharged = true },
  },

  -- docs/safety.md AN15: 130/105 after 120/75 went home on the systolic alone.
  spec "A last diastolic far from the baseline holds the discharge too (dbp_recovery_pct)" {
    params = { weight = 70 },
    no_other = { "alerts" },
    visit.screening(70),
    visit.infusion(),
    visit.observation(),
    -- 98 after the baseline's 80 is 22.5% away, the systolic 132 within: held.
    at "113m" { record = { vitals = vitals(132, 98) } },
    at "113m" { record = { aldrete = { activity = 2, respiration = 2, circulation = 2, consciousness = 2, spo2 = 2 },
                           responsible_adult = true, no_driving_advice = true, written_instructions = true } },
    at "114m" { discharge = true },
    expect "114m" { gate_blocked = "discharge",
                    reason = "last vitals diastolic 98 is more than 20% away from the baseline 80: record vitals back "
                             .. "near the baseline, or a clinician overrides" },
    -- 96 is 20%, at the edge: it goes.
    at "118m" { record = { vitals = vitals(130, 96) } },
    expect "118m" { gate = "open" },
    at "119m" { discharge = true },
    expect "119m" { discharged = true },
  },
}
