-- Leaving's repeat readings (docs/safety.md T6): breathing and MOAA/S taken now, at the
-- chair, with the monitoring's spo2_low, rr_low and sedation_deep under the same names;
-- on the REMS form's record; a MOAA/S below moaas_recovered holds leaving.
local session = require "session"

return {
  spec "A low breathing reading at leaving alerts as in the monitoring and is on the form's record" {
    session.predose(),
    session.dosing(),
    session.monitoring(),
    session.discharge(nil, true),
    at "134m" { record = { respiration = { spo2 = 86, rr = 7 } } },
    expect "134m" { alert = "spo2_low", priority = "high", message = "SpO2 86% is below" },
    expect "134m" { alert = "rr_low", priority = "high", message = "Respiratory rate 7/min is below 10" },
    at "140m" { record = { respiration = { spo2 = 97, rr = 14 } } },
    expect "140m" { resolved = "spo2_low" },
    expect "140m" { resolved = "rr_low" },
    at "141m" { discharge = true },
    expect "141m" { gate_blocked = "discharge", reason = "Form answers confirmed against the monitoring record" },
    -- The form's "no" recorded after it is checked against it (the answer's rule runs on the answer).
    at "142m" { record = { respiratory_depression_occurred = "no" } },
    expect "142m" { block = "respiratory_answer", reason = "the monitoring record shows SpO2 86%, RR 7/min" },
    at "143m" { amend = { item = "discharge.respiratory_depression_occurred", reason = "the repeat was low",
                          value = "yes" } },
    expect "143m" { unblocked = "respiratory_answer" },
  },

  spec "A MOAA/S at leaving alerts as in the monitoring; below moaas_recovered it holds leaving" {
    session.predose(),
    session.dosing(),
    session.monitoring(),
    session.discharge(nil, true),
    at "134m" { record = { moaas = "0" } },
    expect "134m" { alert = "sedation_deep", id = "sedation_unresponsive", priority = "high" },
    at "136m" { record = { moaas = "2" } },
    expect "136m" { alert = "sedation_deep", id = "sedation_deep", priority = "medium", message = "MOAA/S 2" },
    at "138m" { record = { moaas = "4" } },
    expect "138m" { resolved = "sedation_deep" },
    at "139m" { discharge = true },
    expect "139m" { gate_blocked = "discharge", reason = "sedation not resolved at leaving (MOAA/S 4, needs 5)" },
    at "140m" { record = { sedation_occurred = "no" } },
    expect "140m" { block = "sedation_answer", reason = "the monitoring record shows MOAA/S as low as 0" },
  },
}
