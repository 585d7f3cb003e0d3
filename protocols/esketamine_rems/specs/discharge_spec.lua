-- Ready to leave: the REMS form's three questions against the monitoring
-- records (sedation_answer, dissociation_answer, respiratory_answer: a block while
-- a "no" contradicts them, until corrected or the prescriber confirms it), and the gate: the prescriber's yes, the ride home
-- here, the no-driving advice given.
local session = require "session"

return {
  -- 1.5.1 (docs/safety.md N6): a low alert was acknowledged and the form filed "no".
  spec "A 'no' the records contradict holds leaving until corrected or the prescriber confirms it" {
    no_other = { "alerts" },
    session.predose(),
    session.dosing(),
    session.monitoring({ [25] = { moaas = "1", dissociation = "present", respiration = { spo2 = 90, rr = 14 } } }),
    expect "25m" { alert = "spo2_low" },
    expect "25m" { alert = "sedation_deep", id = "sedation_deep" },
    at "26m" { ack = "spo2_low" },
    at "26m" { actor = "dr:kim", ack = "sedation_deep" },
    expect "40m" { resolved = "spo2_low" },
    session.discharge(nil, true),                         -- answers "no", "no", "no"
    expect "133m" { block = "sedation_answer", reason = "no sedation occurred, but the monitoring record shows MOAA/S as low as 1" },
    expect "133m" { block = "dissociation_answer", reason = "dissociation present" },
    expect "133m" { block = "respiratory_answer", reason = "SpO2 90%" },
    at "134m" { discharge = true },
    expect "134m" { gate_blocked = "discharge", reason = "no sedation occurred" },
    expect "134m" { gate_blocked = "discharge", reason = "Form answers confirmed against the monitoring record" },
    at "134m" { amend = { item = "sedation_occurred", value = "yes", reason = "MOAA/S 1 at 25 minutes" } },
    expect "134m" { unblocked = "sedation_answer" },
    -- The nurse who answered cannot confirm the answers; the prescriber can.
    at "135m" { record = { answers_confirmed = true } },
    expect "135m" { refused = true },
    at "136m" { actor = "dr:kim", record = { answers_confirmed = true } },
    expect "136m" { unblocked = "dissociation_answer" },
    expect "136m" { unblocked = "respiratory_answer" },
    at "137m" { discharge = true },
    expect "137m" { discharged = true },
  },

  spec "A change to an answer voids the prescriber's confirmation" {
    session.predose(),
    session.dosing(),
    session.monitoring({ [25] = { moaas = "4", dissociation = "present" } }),
    session.discharge({ sedation_occurred = "yes" }, true),
    expect "133m" { block = "dissociation_answer" },
    at "134m" { actor = "dr:kim", record = { answers_confirmed = true } },
    expect "134m" { unblocked = "dissociation_answer" },
    at "135m" { amend = { item = "sedation_occurred", value = "no", reason = "misread the record" } },
    expect "135m" { block = "sedation_answer" },
    at "136m" { discharge = true },
    expect "136m" { gate_blocked = "discharge", reason = "no sedation occurred" },
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
