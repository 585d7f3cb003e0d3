-- The gates of the infusion, observation and discharge phases, with the
-- reasons a nurse reads. The infusion needs 40 minutes, the stop recorded and
-- three readings; observation needs observation_minutes, MOAA/S at least
-- moaas_recovered and no dissociation; discharge needs a modified Aldrete of
-- aldrete_min and the three checks.
local visit = require "visit"
local vitals = visit.vitals

return {
  spec "Not fit for discharge at the first attempt (Aldrete 8, no adult)" {
    params = { weight = 90 },
    no_other = { "alerts", "gates" },
    visit.screening(90),
    visit.infusion(nil, 45),
    visit.observation(),
    at "113m" { record = { aldrete = { activity = 1, respiration = 2, circulation = 2, consciousness = 1, spo2 = 2 },
                           responsible_adult = false, no_driving_advice = true, written_instructions = true } },
    at "115m" { discharge = true },
    expect "115m" { gate_blocked = "discharge",
                    reason = "modified Aldrete 8, needs 9 or more; no responsible adult present" },
    expect "120m" { phase = "discharge" },
    at "130m" { record = { aldrete = { activity = 2, respiration = 2, circulation = 2, consciousness = 2, spo2 = 1 },
                           responsible_adult = true } },
    expect "130m" { gate = "open" },
    at "131m" { discharge = true },
    expect "131m" { discharged = true },
  },

  spec "The infusion cannot end early or without its readings" {
    params = { weight = 70 },
    visit.screening(70),
    at "10m" { record = { infusion_started = true, pump_rate = 150 } },
    at "20m" { record = { vitals = vitals(130, 80), moaas = "5", dissociation = "none" } },
    at "30m" { record = { vitals = vitals(130, 80), moaas = "5", dissociation = "none" } },
    at "35m" { advance = true },
    expect "35m" { gate_blocked = "infusion", reason = "infusion not recorded as finished and pump stopped" },
    expect "35m" { gate_blocked = "infusion", reason = "2 of 3 vitals readings recorded" },
    at "40m" { record = { vitals = vitals(130, 80), moaas = "5", dissociation = "none" } },
    at "50m" { record = { vitals = vitals(130, 80), moaas = "5", dissociation = "none", infusion_stopped = true,
                          volume_infused = 100, dose_given = 35 } },
    at "51m" { advance = true },
    expect "51m" { entered = "observation" },
  },

  spec "Observation lasts observation_minutes and until sedation and dissociation resolve" {
    params = { weight = 70, observation_minutes = 90 },
    visit.screening(70),
    visit.infusion(),
    at "66m" { record = { vitals = vitals(128, 80), moaas = "4", dissociation = "present" } },
    at "81m" { record = { vitals = vitals(128, 80), moaas = "4", dissociation = "present" } },
    at "96m" { record = { vitals = vitals(128, 80), moaas = "5", dissociation = "present" } },
    at "111m" { record = { vitals = vitals(128, 80), moaas = "4", dissociation = "present" } },
    at "112m" { advance = true },
    expect "112m" { gate_blocked = "observation",
                    reason = "observed 61 of 90 minutes; sedation not resolved (MOAA/S 4, needs 5); "
                             .. "dissociation not resolved (present)" },
    at "126m" { record = { vitals = vitals(128, 80), moaas = "5", dissociation = "none" } },
    at "141m" { record = { vitals = vitals(128, 80), moaas = "5", dissociation = "none" } },
    expect "140m" { gate = "blocked", reason = "observed 89 of 90 minutes" },
    expect "141m" { gate = "open" },
    at "142m" { advance = true },
    expect "142m" { entered = "discharge" },
  },
}
