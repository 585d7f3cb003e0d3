-- Blood pressure rules: bp_high (a reading at the 180/110 flag asks for a
-- confirmation; two in a row alert high; one above 200/120 alerts at once),
-- bp_rise (+40/+25 from the baseline) and, in observation, bp_not_recovered
-- (systolic more than 20% from the baseline blocks leaving). Params sbp_alert,
-- dbp_alert, sbp_severe, dbp_severe, sbp_rise, dbp_rise, bp_recovery_pct.
local visit = require "visit"
local vitals = visit.vitals

return {
  spec "A reading at the flag is confirmed by the next one, then settles" {
    params = { weight = 80 },
    actor = "nurse:ana",
    no_other = { "alerts", "blocks" },

    visit.screening(80),
    at "10m" { record = { infusion_started = true, pump_rate = 150 } },
    at "20m" { record = { vitals = vitals(146, 88), moaas = "5", dissociation = "present" } },
    at "30m" { record = { vitals = vitals(184, 104), moaas = "4", dissociation = "present" } },
    expect "30m" { alert = "bp_high", id = "bp_high_unconfirmed", priority = "medium",
                   message = "repeat the reading in 5 minutes" },
    expect "30m" { alert = "bp_rise", priority = "medium", message = "+54/+24" },
    at "31m" { ack = "bp_rise" },
    at "34m" { record = { vitals = vitals(188, 112) } },
    expect "34m" { alert = "bp_high", id = "bp_high", priority = "high", message = "two readings in a row" },
    expect "34m" { resolved = "bp_high", id = "bp_high_unconfirmed" },
    at "35m" { ack = "bp_high" },
    at "40m" { record = { vitals = vitals(172, 100), moaas = "4", dissociation = "present" } },
    expect "40m" { resolved = "bp_high", id = "bp_high" },
    -- Still +42 fifteen minutes after its acknowledgement: raised again (docs/safety.md AN11).
    expect "46m" { alert = "bp_rise", priority = "medium", message = "still so 15 min later: raised again" },
    at "47m" { ack = "bp_rise" },
    at "50m" { record = { vitals = vitals(152, 92), moaas = "5", dissociation = "present", infusion_stopped = true,
                          volume_infused = 100, dose_given = 40 } },
    expect "50m" { resolved = "bp_rise" },
    at "51m" { advance = true },

    at "66m" { record = { vitals = vitals(160, 94), moaas = "5", dissociation = "none" } },
    expect "66m" { block = "bp_not_recovered", reason = "Systolic 160 is more than 20% away from the baseline 130" },
    expect "70m" { gate = "blocked", reason = "keep observing" },
    at "81m" { record = { vitals = vitals(150, 90), moaas = "5", dissociation = "none" } },
    expect "81m" { unblocked = "bp_not_recovered" },
    at "96m" { record = { vitals = vitals(142, 86), moaas = "5", dissociation = "none" } },
    at "111m" { record = { vitals = vitals(136, 84), moaas = "5", dissociation = "none" } },
    at "112m" { advance = true },
    visit.discharge(),
    expect "115m" { discharged = true },
  },

  spec "One reading above 200/120 alerts high at once; the pre-dose hold and caution" {
    params = { weight = 80 },
    no_other = { "alerts" },
    at "0m" { record = { consent = true, ci_hypertension = "no", ci_vascular = "no", ci_psychosis = "no",
                         ci_hypersensitivity = "no", pregnancy = "neither", substance_use = "no",
                         ride_confirmed = true } },
    -- At the hold limit before dosing: a block and a medium alert (docs/safety.md AN12).
    at "2m" { record = { baseline = vitals(182, 100) } },
    expect "2m" { block = "bp_hold", reason = "at or above the hold limit 180/110" },
    expect "2m" { alert = "bp_hold", priority = "medium", message = "the start is held; tell the clinician" },
    at "3m" { advance = true },
    expect "3m" { gate_blocked = "screening", reason = "at or above the hold limit" },
    -- Rested and repeated: above the 140/90 caution only.
    at "8m" { record = { baseline = vitals(146, 88) } },
    expect "8m" { unblocked = "bp_hold" },
    expect "8m" { resolved = "bp_hold" },
    expect "8m" { alert = "bp_caution", priority = "low", message = "weigh risk against benefit" },
    at "9m" { record = { dose = 40 } },
    at "9m" { actor = "nurse:ben", record = { dose_check = true } },
    at "9m" { record = { phq9 = { q1 = 0, q2 = 0, q3 = 0, q4 = 0, q5 = 0, q6 = 0, q7 = 0, q8 = 0, q9 = 0 } } },
    at "10m" { advance = true },
    expect "10m" { entered = "infusion" },
    -- Started: a reading before the start meets the pre-dose hold instead (docs/safety.md AP1).
    at "10m" { record = { infusion_started = true, pump_rate = 150 } },
    at "20m" { record = { vitals = vitals(204, 100), moaas = "5", dissociation = "none" } },
    expect "20m" { alert = "bp_high", id = "bp_high", priority = "high", message = "above 200/120" },
    expect "20m" { alert = "bp_rise", priority = "medium" },
    -- 179/109 is under the flag; +39/+21 is under the rise limits.
    at "30m" { record = { vitals = vitals(179, 109), moaas = "5", dissociation = "none" } },
    expect "30m" { no_alert = "bp_high" },
    expect "30m" { resolved = "bp_high" },
    expect "30m" { escalated = "bp_rise", priority = "medium" },
  },

  -- docs/safety.md AP3: 215/125, then 181/100 still at the hold: the severe alert stays the
  -- hold's (no medium beside it), until a reading out of the hold resolves it.
  spec "A severe pre-dose BP stays the hold's high alert until a reading out of the hold" {
    params = { weight = 80 },
    no_other = { "alerts" },
    at "0m" { record = { consent = true, ci_hypertension = "no", ci_vascular = "no", ci_psychosis = "no",
                         ci_hypersensitivity = "no", pregnancy = "neither", substance_use = "no",
                         ride_confirmed = true } },
    at "2m" { record = { baseline = vitals(215, 125) } },
    expect "2m" { alert = "bp_hold", id = "bp_hold_severe", priority = "high", message = "above 200/120" },
    at "4m" { record = { baseline = vitals(181, 100) } },
    expect "4m" { block = "bp_hold", reason = "Baseline BP 181/100 is at or above the hold limit 180/110" },
    expect "7m" { escalated = "bp_hold", priority = "high" },
    at "8m" { ack = "bp_hold" },
    at "12m" { record = { baseline = vitals(136, 84) } },
    expect "12m" { unblocked = "bp_hold" },
    expect "12m" { resolved = "bp_hold", id = "bp_hold_severe" },
  },

  spec "The flag met again within 10 minutes is confirmed, whatever lay between" {
    params = { weight = 80 },
    no_other = { "alerts" },
    visit.screening(80),
    at "10m" { record = { infusion_started = true, pump_rate = 150 } },
    -- docs/safety.md AN14: alternating around 180/110 two minutes apart.
    at "12m" { record = { vitals = vitals(185, 112) } },
    expect "12m" { alert = "bp_high", id = "bp_high_unconfirmed", priority = "medium" },
    expect "12m" { alert = "bp_rise", priority = "medium" },
    at "14m" { record = { vitals = vitals(179, 109) } },
    expect "14m" { resolved = "bp_high", id = "bp_high_unconfirmed" },
    at "16m" { record = { vitals = vitals(186, 113) } },
    expect "16m" { alert = "bp_high", id = "bp_high", priority = "high",
                   message = "again within 10 minutes (185/112, 4 minutes before 186/113)" },
  },

  -- docs/safety.md AN13: the start waits for vitals of now (predose_vitals_max_age_min, 30);
  -- a repeat in the infusion before the start meets the pre-dose hold (AN12: above 200/120 high).
  spec "A baseline older than 30 minutes holds the start until a repeat under the hold" {
    params = { weight = 80 },
    no_other = { "alerts" },
    visit.screening(80),
    at "45m" { record = { infusion_started = true, pump_rate = 150 } },
    expect "45m" { refused = true, error = "the pre-dose vitals are 43 minutes old (the start needs them taken within 30)" },
    at "46m" { record = { vitals = vitals(204, 100) } },
    expect "46m" { block = "bp_hold", reason = "Pre-start BP 204/100 is at or above the hold limit 180/110" },
    expect "46m" { alert = "bp_hold", id = "bp_hold_severe", priority = "high", message = "above 200/120" },
    expect "46m" { alert = "bp_high", id = "bp_high", priority = "high" },
    expect "46m" { alert = "bp_rise", priority = "medium" },
    at "47m" { ack = "bp_hold" },
    at "47m" { ack = "bp_high" },
    at "47m" { ack = "bp_rise" },
    at "47m" { record = { infusion_started = true } },
    expect "47m" { refused = true, error = "Pre-start BP 204/100 is at or above the hold limit" },
    at "52m" { record = { vitals = vitals(136, 84) } },
    expect "52m" { unblocked = "bp_hold" },
    -- Accepted now (a step refused unlooked-for fails the spec).
    at "53m" { record = { infusion_started = true, pump_rate = 150 } },
  },

  spec "A high reading just before observation is confirmed by the first observation reading" {
    params = { weight = 70 },
    no_other = { "alerts" },
    visit.screening(70),
    visit.infusion({ [50] = vitals(150, 112) }),
    expect "50m" { alert = "bp_high", id = "bp_high_unconfirmed", priority = "medium" },
    expect "50m" { alert = "bp_rise", message = "+20/+32" },
    -- Leaving the infusion resolves its alerts: they could no longer clear.
    expect "51m" { resolved = "bp_high" },
    expect "51m" { resolved = "bp_rise" },
    at "66m" { record = { vitals = vitals(160, 110), moaas = "5", dissociation = "none" } },
    expect "66m" { alert = "bp_high", id = "bp_high", priority = "high", message = "(150/112, then 160/110)" },
    expect "66m" { alert = "bp_rise", message = "+30/+30" },
    expect "66m" { block = "bp_not_recovered", reason = "Systolic 160" },
    -- Unacknowledged for 5 minutes: re-notified, one level up (the priority stays).
    expect "71m" { escalated = "bp_high", priority = "high", level = 1 },
    expect "71m" { escalated = "bp_rise", priority = "medium" },
  },

  -- docs/safety.md AP1: with a baseline of minutes, a reading in the infusion before the start at the hold
  -- (190/115: two mediums) or above the severe limit (205/125: a high, acknowledged) held nothing.
  spec "A pre-start reading at the hold holds the start with a fresh baseline, acknowledged or not" {
    params = { weight = 80 },
    visit.screening(80),
    at "11m" { record = { vitals = vitals(190, 115) } },
    expect "11m" { block = "bp_hold", reason = "Pre-start BP 190/115 is at or above the hold limit 180/110" },
    expect "11m" { alert = "bp_hold", id = "bp_hold", priority = "medium", message = "the start is held" },
    at "12m" { record = { infusion_started = true, pump_rate = 150 } },
    expect "12m" { refused = true, error = "Pre-start BP 190/115 is at or above the hold limit" },
    at "14m" { record = { vitals = vitals(205, 125) } },
    expect "14m" { block = "bp_hold", reason = "Pre-start BP 205/125 is at or above the hold limit 180/110" },
    expect "14m" { alert = "bp_hold", id = "bp_hold_severe", priority = "high",
                   message = "above 200/120 before the start: tell the clinician now; do not start" },
    at "15m" { ack = "bp_hold" },
    at "15m" { ack = "bp_high" },
    at "15m" { ack = "bp_rise" },
    at "15m" { record = { infusion_started = true } },
    expect "15m" { refused = true, error = "Pre-start BP 205/125 is at or above the hold limit" },
    at "20m" { record = { vitals = vitals(136, 84) } },
    expect "20m" { unblocked = "bp_hold" },
    -- Accepted now (a step refused unlooked-for fails the spec).
    at "21m" { record = { infusion_started = true, pump_rate = 150 } },
  },

  -- docs/workstation.md V4: from a baseline above the pre-dose caution figure (140/90), a fall is judged
  -- against that figure, a rise against the baseline; 126 after 176 held every hypertensive patient.
  spec "A fall from a high baseline is judged against the caution figure: 112/72 recovered, 111 or 71 not" {
    params = { weight = 70 },
    visit.screening(70),
    at "3m" { record = { baseline = vitals(176, 102) } },
    expect "3m" { alert = "bp_caution", priority = "low", message = "Baseline BP 176/102 is above 140/90" },
    at "4m" { ack = "bp_caution" },
    visit.infusion(),
    -- 20 % under 140 is 112, under 90 is 72: at the edge, not more than 20 % below.
    at "66m" { record = { vitals = vitals(112, 72), moaas = "5", dissociation = "none" } },
    at "81m" { record = { vitals = vitals(111, 72), moaas = "5", dissociation = "none" } },
    expect "81m" { block = "bp_not_recovered",
                   reason = "Systolic 111 is more than 20% below 140 (the pre-dose caution figure, under the baseline "
                            .. "176)" },
    at "96m" { record = { vitals = vitals(126, 71), moaas = "5", dissociation = "none" } },
    expect "96m" { block = "bp_not_recovered", reason = "Diastolic 71 is more than 20% below 90" },
    at "111m" { record = { vitals = vitals(126, 80), moaas = "5", dissociation = "none" } },
    expect "111m" { unblocked = "bp_not_recovered" },
    at "112m" { advance = true },
    -- The Aldrete as published: 126 is 28 % under 176, circulation 1, a total of 9.
    at "113m" { record = { aldrete = { activity = 2, respiration = 2, circulation = 1, consciousness = 2, spo2 = 2 },
                           responsible_adult = true, no_driving_advice = true, written_instructions = true } },
    at "115m" { discharge = true },
    expect "115m" { discharged = true },
  },
}
