-- The dose given against the dose drawn up (docs/safety.md T7, U10): the infusion's
-- rule dose_given, past dose_given_tolerance_pct, a carried high alert that holds the
-- infusion until a clinician reviews it; with no dose drawn up (screening overridden),
-- the prescribed dose, weight x dose_mg_per_kg.
local visit = require "visit"

return {
  spec "Twice the dose drawn up alerts high and holds the infusion until a clinician reviews it" {
    params = { weight = 70 },
    visit.screening(70),
    visit.infusion(nil, 70),
    expect "50m" { alert = "dose_given", priority = "high",
                   message = "Dose given 70 mg is more than the 35 mg drawn up by more than 10%" },
    expect "51m" { gate_blocked = "infusion", reason = "Dose given 70 mg" },
    at "55m" { actor = "dr:kim", ack = "dose_given", reason = "pump history: 35 mg given, 70 was a typing error" },
    expect "55m" { resolved = "dose_given" },
    at "56m" { advance = true },
    expect "56m" { entered = "observation" },
  },

  spec "A dose given within the tolerance of the dose drawn up raises nothing" {
    params = { weight = 70 },
    no_other = { "alerts" },
    visit.screening(70),
    visit.infusion(nil, 38),
    expect "51m" { entered = "observation" },
  },

  spec "Less than drawn up (a pump that stopped early) alerts too, saying so" {
    params = { weight = 70, dose_given_tolerance_pct = 5 },
    visit.screening(70),
    visit.infusion(nil, 33),
    expect "50m" { alert = "dose_given", priority = "high",
                   message = "Dose given 33 mg is less than the 35 mg drawn up by more than 5%" },
    expect "51m" { refused = true },
  },

  spec "With no dose drawn up the dose given is compared with the prescribed dose" {
    params = { weight = 80 },
    at "5m" { actor = "dr:kim", override = "dose drawn up by the pharmacy, not recorded here" },
    at "10m" { record = { infusion_started = true, pump_rate = 400 } },
    at "50m" { record = { dose_given = 200 } },
    expect "50m" { alert = "dose_given", priority = "high",
                   message = "Dose given 200 mg is more than the 40 mg prescribed (80 kg x 0.5 mg/kg), no dose drawn up" },
  },
}
