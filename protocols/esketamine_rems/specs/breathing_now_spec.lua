-- Fast breathing and the age of the breathing reading at leaving (docs/safety.md U2, U3):
-- a respiratory rate at or above rr_max (25, NEWS2's 3-point band) alerts high in the
-- monitoring and at leaving, and as the newest breathing reading holds leaving; that
-- reading must be no older than discharge_vitals_max_age_min (20 minutes).
local session = require "session"

return {
  spec "A respiratory rate of 25 alerts high in the monitoring" {
    session.predose(),
    session.dosing(),
    session.monitoring({ [25] = { respiration = { spo2 = 97, rr = 25 } } }, nil, true),
    expect "25m" { alert = "rr_high", priority = "high", message = "Respiratory rate 25/min is at or above 25" },
    at "26m" { record = { respiration = { spo2 = 97, rr = 24 } } },
    expect "26m" { resolved = "rr_high" },
  },

  spec "Fast breathing at leaving alerts and holds leaving until a calm repeat" {
    session.predose(),
    session.dosing(),
    session.monitoring(),
    session.discharge(nil, true),
    at "134m" { record = { respiration = { spo2 = 97, rr = 25 } } },
    expect "134m" { alert = "rr_high", priority = "high", message = "Respiratory rate 25/min is at or above 25" },
    at "134m" { ack = "rr_high" },
    at "135m" { discharge = true },
    expect "135m" { gate_blocked = "discharge", reason = "respiratory rate 25 at or above 25 at leaving" },
    at "136m" { record = { respiration = { spo2 = 97, rr = 14 } } },
    at "136m" { discharge = true },
    expect "136m" { discharged = true },
  },

  spec "Leaving waits for breathing taken within 20 minutes" {
    session.predose(),
    session.dosing(),
    session.monitoring(),
    session.discharge(nil, true),
    at "152m" { discharge = true },
    expect "152m" {
      gate_blocked = "discharge",
      reason = "breathing last recorded 22 minutes ago (needs within 20): take SpO2 and the respiratory rate now",
    },
    at "153m" { record = { respiration = { spo2 = 97, rr = 14 } } },
    at "153m" { discharge = true },
    expect "153m" { discharged = true },
  },
}
