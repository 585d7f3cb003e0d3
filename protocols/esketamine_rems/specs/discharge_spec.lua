-- Ready to leave: the REMS form's three questions against the monitoring
-- records (sedation_answer, dissociation_answer, respiratory_answer: a low alert
-- when "no" contradicts them), and the gate: the prescriber's yes, the ride home
-- here, the no-driving advice given.
local session = require "session"

return {
  spec "A 'no' the records contradict alerts low; correcting the answer clears it" {
    no_other = { "alerts" },
    session.predose(),
    session.dosing(),
    session.monitoring({ [25] = { moaas = "4", dissociation = "present", respiration = { spo2 = 90, rr = 14 } } }),
    expect "25m" { alert = "spo2_low" },
    at "26m" { ack = "spo2_low" },
    expect "40m" { resolved = "spo2_low" },
    session.discharge(nil, true),                         -- answers "no", "no", "no"
    expect "133m" { alert = "sedation_answer", priority = "low", message = "no sedation occurred" },
    expect "133m" { alert = "dissociation_answer", priority = "low", message = "no dissociation occurred" },
    expect "133m" { alert = "respiratory_answer", priority = "low", message = "no respiratory depression occurred" },
    at "134m" { amend = { item = "sedation_occurred", value = "yes", reason = "MOAA/S 4 at 25 minutes" } },
    expect "134m" { resolved = "sedation_answer" },
    at "134m" { amend = { item = "dissociation_occurred", value = "yes", reason = "present at 25 minutes" } },
    expect "134m" { resolved = "dissociation_answer" },
    at "134m" { amend = { item = "respiratory_depression_occurred", value = "yes", reason = "SpO2 90% at 25m" } },
    expect "134m" { resolved = "respiratory_answer" },
  },

  spec "Answers that match the records raise nothing" {
    no_other = { "alerts" },
    session.predose(),
    session.dosing(),
    session.monitoring({ [25] = { moaas = "4" } }),
    session.discharge({ sedation_occurred = "yes" }),
    expect "135m" { discharged = true },
  },

  spec "The discharge gate: the prescriber's yes, the ride here, the advice given" {
    session.predose(),
    session.dosing(),
    session.monitoring(),
    at "133m" { record = { bp_before_leaving = session.bp(124, 78), ride_present = false } },
    at "134m" { discharge = true },
    expect "134m" { gate_blocked = "discharge", reason = "vitals not judged acceptable for leaving" },
    expect "134m" { gate_blocked = "discharge", reason = "the ride home is not here" },
    expect "134m" { gate_blocked = "discharge", reason = "no-driving advice not given" },
    at "135m" { record = { ride_present = true, no_driving_advice = true, sedation_occurred = "no",
                           dissociation_occurred = "no", respiratory_depression_occurred = "no" } },
    at "135m" { actor = "dr:kim", record = { leaving_acceptable = "yes" } },
    at "136m" { discharge = true },
    expect "136m" { discharged = true },
  },

  -- 1.3.0 (docs/safety.md M5): the dose, its lot and what the form reports at leaving
  -- were skippable with "n/a", and "vitals acceptable before leaving" yes was filed with
  -- no blood pressure.
  spec "The dose, its lot and the answers at leaving cannot be skipped; acceptable needs a BP" {
    no_other = { "blocks" },
    session.predose(),
    at "3m" { skip = { item = "dose", reason = "not done today" } },
    expect "3m" { refused = true, error = "cannot be skipped" },
    at "4m" { skip = { item = "lot_number", reason = "not done today" } },
    expect "4m" { refused = true, error = "cannot be skipped" },
    session.dosing(),
    session.monitoring(),
    at "132m" { skip = { item = "bp_before_leaving", reason = "the cuff is broken" } },
    expect "132m" { refused = true, error = "cannot be skipped" },
    at "133m" { skip = { item = "respiratory_depression_occurred", reason = "not done today" } },
    expect "133m" { refused = true, error = "cannot be skipped" },
    at "134m" { actor = "dr:kim", record = { leaving_acceptable = "yes" } },
    expect "134m" { block = "leaving_without_vitals", reason = "no blood pressure before leaving is recorded" },
    at "135m" { record = { bp_before_leaving = session.bp(124, 78) } },
    expect "135m" { unblocked = "leaving_without_vitals" },
  },
}
