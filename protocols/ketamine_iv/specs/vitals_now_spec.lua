-- Fast breathing and the age of the last vitals (docs/safety.md U2, U3): a respiratory
-- rate at or above rr_max (25, NEWS2's 3-point band) alerts high wherever vitals are
-- taken; at discharge the last vitals must be within every limit (a heart rate above
-- hr_max, a respiratory rate below rr_min or at or above rr_max hold, as a low BP does)
-- and no older than discharge_vitals_max_age_min (20 minutes).
local visit = require "visit"
local vitals = visit.vitals

local FIT = { aldrete = { activity = 2, respiration = 2, circulation = 2, consciousness = 2, spo2 = 2 },
              responsible_adult = true, no_driving_advice = true, written_instructions = true }

return {
  spec "A respiratory rate of 25 alerts high in the infusion, the observation and at discharge" {
    params = { weight = 70 },
    visit.screening(70),
    visit.infusion(),
    at "21m" { record = { vitals = vitals(134, 84, { rr = 25 }) } },
    expect "21m" { alert = "rr_high", priority = "high", message = "Respiratory rate 25/min is at or above 25" },
    expect "21m" { alert = "rr_high", message = "Consider stopping the infusion." },
    at "22m" { record = { vitals = vitals(134, 84, { rr = 24 }) } },
    expect "22m" { resolved = "rr_high" },
    at "22m" { ack = "rr_high" },
    visit.observation(),
    at "67m" { record = { vitals = vitals(128, 80, { rr = 25 }) } },
    expect "67m" { alert = "rr_high", priority = "high", message = "Respiratory rate 25/min is at or above 25" },
    at "68m" { record = { vitals = vitals(128, 80) } },
    expect "68m" { resolved = "rr_high" },
    at "68m" { ack = "rr_high" },
    at "113m" { record = { vitals = vitals(128, 80, { rr = 25 }) } },
    expect "113m" { alert = "rr_high", priority = "high", message = "Respiratory rate 25/min is at or above 25" },
  },

  spec "A fast heart or breathing rate as the last vitals holds the discharge until a calm repeat" {
    params = { weight = 70 },
    visit.screening(70),
    visit.infusion(),
    visit.observation(),
    at "113m" { record = FIT },
    at "113m" { record = { vitals = vitals(128, 80, { hr = 121, rr = 25 }) } },
    at "113m" { ack = "rr_high" },
    at "113m" { ack = "hr_high" },
    at "114m" { discharge = true },
    expect "114m" {
      gate_blocked = "discharge",
      reason = "last vitals heart rate 121 above 120, respiratory rate 25 at or above 25: record vitals within the "
               .. "limits, or a clinician overrides",
    },
    at "116m" { record = { vitals = vitals(128, 80, { rr = 9 }) } },
    at "116m" { ack = "rr_low" },
    at "117m" { discharge = true },
    expect "117m" { gate_blocked = "discharge", reason = "last vitals respiratory rate 9 below 10" },
    at "118m" { record = { vitals = vitals(128, 80) } },
    at "119m" { discharge = true },
    expect "119m" { discharged = true },
  },

  spec "The discharge waits for vitals taken within 20 minutes" {
    params = { weight = 70 },
    visit.screening(70),
    visit.infusion(),
    visit.observation(),
    at "113m" { record = FIT },
    at "135m" { discharge = true },
    expect "135m" { gate_blocked = "discharge", reason = "last vitals 24 minutes old (needs within 20): take the vitals now" },
    at "136m" { record = { vitals = vitals(128, 80) } },
    at "136m" { discharge = true },
    expect "136m" { discharged = true },
  },

  spec "With no vitals after the dose the discharge asks for them" {
    params = { weight = 70 },
    visit.screening(70),
    at "11m" { actor = "dr:kim", override = "infusion not given: cannula failed, patient observed" },
    at "12m" { actor = "dr:kim", override = "observation by the clinician at the bedside" },
    expect "12m" { entered = "discharge" },
    at "13m" { record = FIT },
    at "14m" { discharge = true },
    expect "14m" { gate_blocked = "discharge", reason = "no vitals recorded after the dose: take the vitals now" },
    at "15m" { record = { vitals = vitals(128, 80) } },
    at "15m" { discharge = true },
    expect "15m" { discharged = true },
  },
}
