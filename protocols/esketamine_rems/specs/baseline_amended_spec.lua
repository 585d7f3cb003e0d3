-- A pre-dose BP changed after the dose is a clinician's decision (docs/safety.md U6, AQ2, AW1,
-- AW2). After the devices every rise is judged from it (bp_rise, and through it the prescriber's
-- leaving "yes") and the REMS form reports it as the BP before dosing. Changed after the dose by
-- someone who is not a clinician, by an amendment or a later entry, whatever else the change
-- carries, leaving holds naming who and both readings (lib.predose_changed) and the carried medium
-- alert baseline_amended says what the change does; a clinician's amendment or entry (`clinician =
-- true`, as the server says of one) confirms it; a nurse's before the dose is the reading the dose
-- was given on.
local session = require "session"
local bp = session.bp

return {
  spec "A nurse's amendment of the pre-dose BP after the dose holds leaving until a clinician confirms it" {
    no_other = { "alerts" },
    session.predose(),
    session.dosing(),
    session.monitoring(),
    -- 170/104 is +42/+26 over the pre-dose 128/78: a rise that alerts; over 138/88 (under the guide:
    -- no review signature is asked again) +32/+16, none.
    at "118m" { record = { bp = bp(170, 104) } },
    expect "118m" { alert = "bp_rise", priority = "medium" },
    at "119m" { actor = "dr:kim", ack = "bp_rise", reason = "seen, repeat at leaving" },
    at "120m" { amend = { item = "predose.predose_vitals", value = bp(138, 88, { spo2 = 98, rr = 14 }),
                          reason = "mis-typed" } },
    expect "120m" { alert = "baseline_amended", priority = "medium",
                    message = "Pre-dose BP amended after the dose by nurse: 128/78 to 138/88. Every rise is now "
                              .. "judged from 138/88. The last BP 170/104, a rise that alerts from 128/78, no longer "
                              .. "is. The REMS form's BP before dosing says 138/88. Leaving holds until a clinician "
                              .. "confirms it (amends it again) or overrides." },
    session.discharge(nil, true),
    at "135m" { discharge = true },
    expect "135m" { gate_blocked = "discharge",
                    reason = "the pre-dose BP was amended after the dose by nurse (128/78 to 138/88): a clinician "
                             .. "confirms it (amends it again or overrides)" },
    at "136m" { actor = "dr:kim", amend = { item = "predose.predose_vitals", clinician = true,
                                            value = bp(138, 88, { spo2 = 98, rr = 14 }),
                                            reason = "confirmed against the paper record" } },
    at "137m" { actor = "dr:kim", ack = "baseline_amended", reason = "confirmed: 138/88 is the pre-dose reading" },
    expect "137m" { acknowledged = "baseline_amended" },
    at "138m" { discharge = true },
    expect "138m" { discharged = true },
  },

  spec "A clinician's amendment of the pre-dose BP after the dose, or a nurse's before it, holds nothing" {
    no_other = { "alerts" },
    session.predose(nil, nil, true),
    at "2m" { amend = { item = "predose_vitals", value = bp(130, 80, { spo2 = 98, rr = 14 }), reason = "mis-typed" } },
    at "3m" { advance = true },
    session.dosing(),
    session.monitoring(),
    at "120m" { actor = "dr:kim", amend = { item = "predose.predose_vitals", clinician = true,
                                            value = bp(132, 80, { spo2 = 98, rr = 14 }), reason = "mis-typed" } },
    expect "120m" { no_alert = "baseline_amended" },
    session.discharge(),
    expect "135m" { discharged = true },
  },

  spec "A pre-dose BP entered after the devices holds leaving as an amendment does" {
    no_other = { "alerts" },
    session.predose(),
    session.dosing(),
    session.monitoring(),
    at "118m" { record = { bp = bp(170, 104) } },
    expect "118m" { alert = "bp_rise", priority = "medium" },
    at "119m" { actor = "dr:kim", ack = "bp_rise", reason = "seen, repeat at leaving" },
    -- Observed in predose (2m30s, after the reading of 2m), entered now: the newest pre-dose BP.
    at "120m" { record = { predose_vitals = bp(138, 88, { spo2 = 98, rr = 14 }), observed_at = "2m30s" } },
    expect "120m" { alert = "baseline_amended", priority = "medium",
                    message = "Pre-dose BP entered again after the dose by nurse: 128/78 to 138/88. Every rise is "
                              .. "now judged from 138/88. The last BP 170/104, a rise that alerts from 128/78, no "
                              .. "longer is. The REMS form's BP before dosing says 138/88." },
    session.discharge(nil, true),
    at "135m" { discharge = true },
    expect "135m" { gate_blocked = "discharge",
                    reason = "the pre-dose BP was entered again after the dose by nurse (128/78 to 138/88)" },
    at "136m" { actor = "dr:kim", amend = { item = "predose.predose_vitals", clinician = true,
                                            value = bp(138, 88, { spo2 = 98, rr = 14 }),
                                            reason = "the 2m30s reading is the pre-dose one" } },
    at "137m" { actor = "dr:kim", ack = "baseline_amended", reason = "confirmed" },
    at "138m" { discharge = true },
    expect "138m" { discharged = true },
  },

  spec "A second amendment of the pre-dose heart rate only keeps leaving held" {
    no_other = { "alerts" },
    session.predose(),
    session.dosing(),
    session.monitoring(),
    at "120m" { amend = { item = "predose.predose_vitals", value = bp(138, 88, { spo2 = 98, rr = 14 }),
                          reason = "mis-typed" } },
    expect "120m" { alert = "baseline_amended", priority = "medium", message = "128/78 to 138/88" },
    at "121m" { actor = "dr:kim", ack = "baseline_amended", reason = "will check the paper record" },
    at "122m" { amend = { item = "predose.predose_vitals", value = bp(138, 88, { hr = 72, spo2 = 98, rr = 14 }),
                          reason = "HR mis-typed" } },
    expect "122m" { alert = "baseline_amended", priority = "medium", message = "128/78 to 138/88" },
    session.discharge(nil, true),
    at "135m" { discharge = true },
    expect "135m" { gate_blocked = "discharge",
                    reason = "the pre-dose BP was amended after the dose by nurse (128/78 to 138/88)" },
  },

  spec "A pre-dose BP above the guide recorded after the dose says so, not 'before dosing'" {
    no_other = { "alerts" },
    session.predose(),
    session.dosing(),
    session.monitoring(nil, nil, true),
    at "120m" { amend = { item = "predose.predose_vitals", value = bp(146, 92, { spo2 = 98, rr = 14 }),
                          reason = "mis-typed" } },
    -- docs/safety.md AX6: the dose is given; the prescriber is told, not asked to weigh dosing.
    expect "120m" { alert = "bp_caution", priority = "low",
                    message = "Pre-dose BP 146/92 is above 140/90: recorded after the dose: tell the prescriber." },
    expect "120m" { alert = "baseline_amended", priority = "medium", message = "128/78 to 146/92" },
  },
}
