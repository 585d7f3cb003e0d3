-- Blood pressure: the pre-dose 140/90 guide (bp_caution, a low alert above it),
-- the pre-dose hold at the 180/110 flag (bp_hold), after dosing one reading at
-- the flag alerts high (bp_high) and a rise of +40/+25 from the pre-dose reading
-- alerts medium (bp_rise), and before leaving the flag holds the discharge
-- (bp_leaving). Params sbp_caution, dbp_caution, sbp_alert, dbp_alert, sbp_rise,
-- dbp_rise.
local session = require "session"
local bp = session.bp

return {
  spec "140/90 is the guide: at it no alert, above it a low alert for the prescriber" {
    no_other = { "alerts", "blocks" },
    session.predose(140, 90, true),
    expect "2m" { no_alert = "bp_caution" },
    at "5m" { record = { predose_vitals = bp(141, 90, { spo2 = 98, rr = 14 }) } },
    expect "5m" { alert = "bp_caution", priority = "low", message = "141/90 is above 140/90" },
    -- Still above the guide (diastolic): the same alert stands, not a second one.
    at "8m" { record = { predose_vitals = bp(138, 91, { spo2 = 98, rr = 14 }) } },
    expect "8m" { no_alert = "bp_caution" },
    at "11m" { record = { predose_vitals = bp(136, 84, { spo2 = 98, rr = 14 }) } },
    expect "11m" { resolved = "bp_caution" },
  },

  spec "At the 180/110 flag before dosing the checklist holds until a repeat is under it" {
    no_other = { "alerts", "blocks" },
    session.predose(179, 109, true),
    expect "2m" { alert = "bp_caution" },
    at "4m" { record = { predose_vitals = bp(180, 100, { spo2 = 98, rr = 14 }) } },
    expect "4m" { block = "bp_hold", reason = "180/100 is at or above 180/110" },
    -- The hold alerts too (docs/safety.md AN12): medium, asking for the prescriber.
    expect "4m" { alert = "bp_hold", priority = "medium", message = "the dose is held; tell the prescriber" },
    expect "4m" { resolved = "bp_caution" },
    at "5m" { advance = true },
    expect "5m" { gate_blocked = "predose", reason = "do not dose without the prescriber's review" },
    at "9m" { record = { predose_vitals = bp(150, 110, { spo2 = 98, rr = 14 }) } },
    expect "9m" { block = "bp_hold", reason = "150/110" },
    at "14m" { record = { predose_vitals = bp(136, 86, { spo2 = 98, rr = 14 }) } },
    expect "14m" { unblocked = "bp_hold" },
    expect "14m" { resolved = "bp_hold" },
    at "15m" { advance = true },
    expect "15m" { entered = "dosing" },
  },

  -- docs/safety.md AN13: the dose waits for pre-dose vitals of now (predose_vitals_max_age_min,
  -- 30); the repeat in dosing meets the pre-dose holds and alerts, and is the pre-dose reading
  -- the monitoring's rise reads.
  spec "Pre-dose vitals older than 30 minutes hold the dose until a repeat in dosing" {
    no_other = { "alerts", "blocks" },
    session.predose(128, 78),
    at "40m" { record = { dose = "56 mg", lot_number = "EKA2211" } },
    expect "40m" { refused = true, error = "the pre-dose vitals are 38 minutes old (the dose needs them taken within 30)" },
    at "41m" { record = { vitals = bp(182, 96, { spo2 = 98, rr = 14 }) } },
    expect "41m" { block = "bp_hold", reason = "Pre-dose BP 182/96 is at or above 180/110" },
    expect "41m" { alert = "bp_hold", priority = "medium", message = "the dose is held; tell the prescriber" },
    at "42m" { ack = "bp_hold" },
    at "42m" { record = { dose = "56 mg", lot_number = "EKA2211" } },
    expect "42m" { refused = true, error = "Pre-dose BP 182/96 is at or above 180/110" },
    at "47m" { record = { vitals = bp(146, 88, { spo2 = 98, rr = 14 }) } },
    expect "47m" { unblocked = "bp_hold" },
    expect "47m" { resolved = "bp_hold" },
    expect "47m" { alert = "bp_caution", priority = "low", message = "Pre-dose BP 146/88 is above 140/90" },
    at "48m" { record = { dose = "56 mg", lot_number = "EKA2211", devices_administered = true } },
    at "49m" { advance = true },
    expect "49m" { entered = "monitoring" },
    -- The rise reads the repeat: 178/100 is +32/+12 over 146/88, under the rise (over the first
    -- 128/78 it would be +50/+22).
    at "60m" { record = { bp = bp(178, 100) } },
    expect "60m" { no_alert = "bp_rise" },
  },

  -- docs/safety.md AG7: above the guide the prescriber's review is a signature on the reading:
  -- the vitals judged acceptable are not enough, and a repeat reading needs its own.
  spec "Above the guide the prescriber signs the review of the reading before dosing" {
    session.predose(178, 104, true),
    at "3m" { advance = true },
    expect "3m" { gate_blocked = "predose", reason = "Prescriber's review of a pre-dose BP above the guide" },
    at "4m" { actor = "dr:kim", record = { bp_caution_review = true } },
    at "9m" { record = { predose_vitals = bp(176, 102, { spo2 = 98, rr = 14 }) } },
    at "10m" { advance = true },
    expect "10m" { gate_blocked = "predose", reason = "Prescriber's review of a pre-dose BP above the guide" },
    at "11m" { actor = "dr:kim", record = { bp_caution_review = true } },
    at "12m" { advance = true },
    expect "12m" { entered = "dosing" },
  },

  -- docs/safety.md AN2, AN3: the review attests the prescriber's answer (another answer after it
  -- voids it), and it is her own judgement: she may review a reading she took herself.
  spec "Another answer after the prescriber's review voids it; she may review her own reading" {
    session.predose(176, 106, true),
    at "3m" { actor = "dr:kim", amend = { item = "predose_acceptable", value = "no", reason = "BP too high today" } },
    at "4m" { actor = "dr:kim", record = { bp_caution_review = true } },
    at "5m" { amend = { item = "predose_acceptable", value = "yes", reason = "repeat BP later was fine" } },
    at "6m" { advance = true },
    expect "6m" { gate_blocked = "predose", reason = "Prescriber's review of a pre-dose BP above the guide is void" },
    at "9m" { actor = "dr:kim", record = { predose_vitals = bp(172, 100, { spo2 = 98, rr = 14 }) } },
    at "10m" { actor = "dr:kim", record = { bp_caution_review = true } },
    at "11m" { advance = true },
    expect "11m" { entered = "dosing" },
  },

  spec "After dosing one reading at the flag alerts high; a +40 rise alerts medium" {
    no_other = { "alerts", "blocks" },
    session.predose(),                                   -- pre-dose 128/78
    session.dosing(),
    session.monitoring(nil, bp(179, 109), true),         -- BP at 40 min: under the flag; +51/+31
    expect "50m" { no_alert = "bp_high" },
    expect "50m" { alert = "bp_rise", priority = "medium", message = "+51/+31" },
    at "52m" { ack = "bp_rise" },
    at "60m" { record = { bp = bp(180, 96) } },          -- at the flag
    expect "60m" { alert = "bp_high", priority = "high", message = "BP 180/96 has a systolic of 180, at or above 180 (the flag 180/110) after dosing" },
    at "62m" { ack = "bp_high" },
    at "70m" { record = { bp = bp(167, 103) } },         -- +39/+25: the diastolic rise alone
    expect "70m" { resolved = "bp_high" },
    at "80m" { record = { bp = bp(160, 100) } },         -- +32/+22: under both rises
    expect "80m" { resolved = "bp_rise" },
  },

  -- The hold alerts as the monitoring's bp_high does (docs/safety.md AL9: 192/114 held leaving
  -- and told nobody).
  spec "Before leaving, a BP at the flag holds the discharge and alerts high" {
    no_other = { "blocks", "alerts" },
    session.predose(),
    session.dosing(),
    session.monitoring(),
    session.discharge({ bp_before_leaving = bp(182, 96) }, true),
    expect "133m" { block = "bp_leaving", reason = "BP before leaving 182/96 has a systolic of 182, at or above 180 (the flag 180/110)" },
    expect "133m" { alert = "bp_high", priority = "high", message = "BP 182/96 has a systolic of 182, at or above 180 (the flag 180/110)" },
    -- +54/+18 over the pre-dose 128/78: the monitoring's bp_rise too (AN16).
    expect "133m" { alert = "bp_rise", priority = "medium", message = "BP 182/96 is +54/+18 mmHg from the pre-dose 128/78" },
    at "134m" { discharge = true },
    expect "134m" { gate_blocked = "discharge", reason = "keep monitoring" },
    at "140m" { record = { bp_before_leaving = bp(150, 90) } },
    expect "140m" { unblocked = "bp_leaving" },
    expect "140m" { resolved = "bp_high" },
    expect "140m" { resolved = "bp_rise" },
    at "140m" { ack = "bp_high" },
    at "140m" { ack = "bp_rise" },
    at "141m" { discharge = true },
    expect "141m" { discharged = true },
  },

  -- docs/safety.md AN16: a rise over the pre-dose reading before leaving alerts as in the
  -- monitoring (178/108 after 128/80 raised nothing), and the BP before leaving is of now
  -- (param discharge_vitals_max_age_min: one 27 minutes old went).
  spec "Before leaving, a rise over the pre-dose BP alerts, and the BP is no older than 20 minutes" {
    no_other = { "blocks", "alerts" },
    session.predose(),
    session.dosing(),
    session.monitoring(),
    session.discharge({ bp_before_leaving = bp(172, 96) }, true),
    expect "133m" { alert = "bp_rise", priority = "medium", message = "BP 172/96 is +44/+18 mmHg from the pre-dose 128/78" },
    at "135m" { ack = "bp_rise" },
    at "136m" { record = { bp_before_leaving = bp(138, 84) } },
    expect "136m" { resolved = "bp_rise" },
    at "150m" { record = { respiration = { spo2 = 98, rr = 14 } } },
    at "157m" { discharge = true },
    expect "157m" { gate_blocked = "discharge", reason = "blood pressure before leaving taken 21 minutes ago (needs within 20)" },
    at "157m" { record = { bp_before_leaving = bp(136, 82) } },
    at "157m" { discharge = true },
    expect "157m" { discharged = true },
  },
  -- docs/safety.md AQ1: the prescriber's "yes" judged the BP before leaving of its time (here
  -- 124/78); a BP after it that raises an alert (178/108: the rise from the pre-dose 128/78, its
  -- alert acknowledged) voids it, a calm repeat does not give it back, her new answer does.
  spec "Before leaving, a BP after the prescriber's yes that raises an alert voids the yes" {
    no_other = { "blocks", "alerts" },
    session.predose(),
    session.dosing(),
    session.monitoring(),
    session.discharge(nil, true),
    at "137m" { record = { bp_before_leaving = bp(178, 108) } },
    expect "137m" { alert = "bp_rise", priority = "medium", message = "BP 178/108 is +50/+30 mmHg from the pre-dose 128/78" },
    at "138m" { ack = "bp_rise" },
    at "138m" { discharge = true },
    expect "138m" { gate_blocked = "discharge", reason = "blood pressure before leaving 178/108 at " },
    expect "138m" { gate_blocked = "discharge",
                    reason = "came after the prescriber's \"yes\" (on 124/78) and raised an alert: the prescriber answers again" },
    at "141m" { record = { bp_before_leaving = bp(134, 82) } },
    expect "141m" { resolved = "bp_rise" },
    at "142m" { discharge = true },
    expect "142m" { gate_blocked = "discharge", reason = "178/108 at " },
    at "143m" { actor = "dr:kim", record = { leaving_acceptable = "yes" } },
    at "144m" { discharge = true },
    expect "144m" { discharged = true },
  },

  -- A limit of the reading voids it as the rise does: a slow heart rate after the "yes" (hr_low,
  -- and bp_leaving's hold while it is the latest), then a calm repeat: still held until she
  -- answers again.
  spec "Before leaving, a slow heart rate after the prescriber's yes voids it too" {
    no_other = { "blocks", "alerts" },
    session.predose(),
    session.dosing(),
    session.monitoring(),
    session.discharge(nil, true),
    at "136m" { record = { bp_before_leaving = bp(126, 80, { hr = 38 }) } },
    expect "136m" { alert = "hr_low", priority = "high", message = "Heart rate 38/min is at or below 40" },
    expect "136m" { block = "bp_leaving", reason = "heart rate 38/min" },
    at "137m" { ack = "hr_low" },
    at "139m" { record = { bp_before_leaving = bp(126, 80, { hr = 66 }) } },
    expect "139m" { unblocked = "bp_leaving" },
    expect "139m" { resolved = "hr_low" },
    at "140m" { discharge = true },
    expect "140m" { gate_blocked = "discharge", reason = "126/80 at " },
    at "141m" { actor = "dr:kim", record = { leaving_acceptable = "yes" } },
    at "142m" { discharge = true },
    expect "142m" { discharged = true },
  },

  -- A calm BP before leaving after the "yes" voids nothing (AQ1: the narrower control; a gate on
  -- every reading after the "yes" asked the prescriber again after each calm repeat).
  spec "Before leaving, a calm BP after the prescriber's yes voids nothing" {
    no_other = { "blocks", "alerts" },
    session.predose(),
    session.dosing(),
    session.monitoring(),
    session.discharge(nil, true),
    at "139m" { record = { bp_before_leaving = bp(136, 86) } },
    at "140m" { discharge = true },
    expect "140m" { discharged = true },
  },
  -- docs/safety.md AS1: a BP entered after the "yes" at the very same time (a clock that did not
  -- move) is not one she judged: the order of recording says it came after.
  spec "Before leaving, a BP entered after the prescriber's yes at the same minute voids it" {
    no_other = { "blocks", "alerts" },
    session.predose(),
    session.dosing(),
    session.monitoring(),
    session.discharge(nil, true),
    at "133m" { record = { bp_before_leaving = bp(178, 108) } },
    expect "133m" { alert = "bp_rise", priority = "medium", message = "BP 178/108 is +50/+30 mmHg from the pre-dose 128/78" },
    at "134m" { ack = "bp_rise" },
    at "134m" { discharge = true },
    expect "134m" { gate_blocked = "discharge", reason = "blood pressure before leaving 178/108 at " },
    expect "134m" { gate_blocked = "discharge",
                    reason = "came after the prescriber's \"yes\" (on 124/78) and raised an alert" },
    at "135m" { actor = "dr:kim", record = { leaving_acceptable = "yes" } },
    at "135m" { discharge = true },
    expect "135m" { discharged = true },
  },

  -- The prescriber who records the BP before leaving and her answer in one entry judged it: her
  -- "yes" with 178/108 stands (AS1's try, strict "<" on observed times, held this).
  spec "Before leaving, a BP in the entry of the prescriber's yes is one she judged" {
    no_other = { "blocks", "alerts" },
    session.predose(),
    session.dosing(),
    session.monitoring(),
    at "133m" { record = { sedation_occurred = "no", dissociation_occurred = "no", respiratory_depression_occurred = "no",
                           ride_present = true, no_driving_advice = true } },
    at "134m" { actor = "dr:kim", record = { bp_before_leaving = bp(178, 108), leaving_acceptable = "yes" } },
    expect "134m" { alert = "bp_rise", priority = "medium", message = "BP 178/108 is +50/+30 mmHg from the pre-dose 128/78" },
    at "135m" { actor = "dr:kim", ack = "bp_rise" },
    at "135m" { discharge = true },
    expect "135m" { discharged = true },
  },

  -- docs/safety.md AS3: the BP she judged amended after her "yes" (124/78 to 178/108) voids it,
  -- its time unchanged: what she judged changed.
  spec "Before leaving, an amendment of the judged BP after the prescriber's yes voids it" {
    no_other = { "blocks", "alerts" },
    session.predose(),
    session.dosing(),
    session.monitoring(),
    session.discharge(nil, true),
    at "137m" { amend = { item = "bp_before_leaving", value = bp(178, 108), reason = "mis-typed" } },
    expect "137m" { alert = "bp_rise", priority = "medium", message = "BP 178/108 is +50/+30 mmHg from the pre-dose 128/78" },
    at "138m" { ack = "bp_rise" },
    at "138m" { discharge = true },
    expect "138m" { gate_blocked = "discharge",
                    reason = "on record at the prescriber's \"yes\", was amended after it" },
    at "139m" { actor = "dr:kim", record = { leaving_acceptable = "yes" } },
    at "139m" { discharge = true },
    expect "139m" { discharged = true },
  },

  -- docs/safety.md AS8: a BP entered after her "yes" that voided it, amended since to a calm value,
  -- still voids it (what it first said is not in the view): the prescriber answers again.
  spec "Before leaving, an amendment of a BP entered after the prescriber's yes voids it" {
    no_other = { "blocks", "alerts" },
    session.predose(),
    session.dosing(),
    session.monitoring(),
    session.discharge(nil, true),
    at "137m" { record = { bp_before_leaving = bp(178, 108) } },
    expect "137m" { alert = "bp_rise", priority = "medium", message = "BP 178/108 is +50/+30 mmHg from the pre-dose 128/78" },
    at "138m" { amend = { item = "bp_before_leaving", value = bp(128, 80), reason = "typed into the wrong field" } },
    expect "138m" { resolved = "bp_rise" },
    at "138m" { ack = "bp_rise" },
    at "139m" { discharge = true },
    expect "139m" { gate_blocked = "discharge", reason = "entered after the prescriber's \"yes\", was amended since" },
    at "140m" { actor = "dr:kim", record = { leaving_acceptable = "yes" } },
    at "140m" { discharge = true },
    expect "140m" { discharged = true },
  },

  -- docs/safety.md AS7: a BP after her "yes" under every limit, yet as far from the one she judged
  -- (124/78) as a rise from the pre-dose that alerts (+40 systolic), voids it; a calm repeat near
  -- it does not (AQ1).
  spec "Before leaving, a BP far from the one the prescriber judged voids her yes" {
    no_other = { "blocks", "alerts" },
    session.predose(),
    session.dosing(),
    session.monitoring(),
    session.discharge(nil, true),
    at "137m" { record = { bp_before_leaving = bp(164, 100) } },
    at "138m" { discharge = true },
    expect "138m" { gate_blocked = "discharge", reason = "and is +40/+22 mmHg from the reading she judged" },
    at "139m" { actor = "dr:kim", record = { leaving_acceptable = "yes" } },
    at "140m" { record = { bp_before_leaving = bp(150, 92) } },
    at "140m" { discharge = true },
    expect "140m" { discharged = true },
  },

  -- docs/safety.md AS4: a fast heart rate before leaving alerts high (hr_high, param hr_max) and
  -- voids the "yes" given before it, as the BP alerts do.
  spec "Before leaving, a fast heart rate after the prescriber's yes alerts and voids it" {
    no_other = { "blocks", "alerts" },
    session.predose(),
    session.dosing(),
    session.monitoring(),
    session.discharge(nil, true),
    at "137m" { record = { bp_before_leaving = bp(130, 80, { hr = 150 }) } },
    expect "137m" { alert = "hr_high", priority = "high", message = "Heart rate 150/min is above 130" },
    at "138m" { ack = "hr_high" },
    at "138m" { discharge = true },
    expect "138m" { gate_blocked = "discharge", reason = "blood pressure before leaving 130/80 at " },
    expect "138m" { gate_blocked = "discharge", reason = "came after the prescriber's \"yes\" (on 124/78) and raised an alert" },
    at "139m" { record = { bp_before_leaving = bp(130, 80, { hr = 88 }) } },
    expect "139m" { resolved = "hr_high" },
    at "140m" { discharge = true },
    expect "140m" { gate_blocked = "discharge", reason = "130/80 at " },
    at "141m" { actor = "dr:kim", record = { leaving_acceptable = "yes" } },
    at "141m" { discharge = true },
    expect "141m" { discharged = true },
  },
  -- docs/safety.md AS6: a BP whose diastolic alone reaches the flag says so ("BP 150/110 is at or
  -- above 180/110" read false).
  spec "Before leaving, a diastolic at the flag is named as the part that reaches it" {
    session.predose(),
    session.dosing(),
    session.monitoring(),
    session.discharge(nil, true),
    at "137m" { record = { bp_before_leaving = bp(150, 110) } },
    expect "137m" { alert = "bp_high", priority = "high",
                    message = "BP 150/110 has a diastolic of 110, at or above 110 (the flag 180/110) after dosing" },
    expect "137m" { block = "bp_leaving",
                    reason = "BP before leaving 150/110 has a diastolic of 110, at or above 110 (the flag 180/110)" },
  },
}
