-- Scenario: a hypertensive episode during the infusion, confirmed on a repeat
-- reading, acknowledged, and settling; the visit is discharged.
-- Weight 80 kg, dose 40 mg. Baseline 130/80. Infusion phase entered at 10,
-- observation at 51, discharge at 112 (all minutes from the visit start).
--
-- What the nurse should see:
--   6     note from rule phq9: "PHQ-9 total 15: moderately severe." (a note, not an alert).
--   30    vitals 184/104 (infusion checkpoint due at 30):
--           * rule bp_high, alert id bp_high_unconfirmed, MEDIUM, not latching:
--             "BP 184/104 is at or above 180/110: repeat the reading in 5 minutes to confirm."
--           * rule bp_rise, alert id bp_rise, MEDIUM: "+54/+24 mmHg from the baseline 130/80".
--   31    nurse acknowledges bp_rise (so it does not escalate).
--   34    extra (confirmation) vitals 188/112, not a scheduled checkpoint (it
--         satisfies nothing: the next due time is 40):
--           * rule bp_high, alert id bp_high, HIGH: "BP at or above 180/110 on two
--             readings in a row (184/104, then 188/112) ... Consider pausing or
--             stopping the infusion."
--           * bp_high_unconfirmed resolves (the rule ran without returning it).
--           * bp_rise still holds (+58/+32): still active, not raised again.
--   35    nurse acknowledges bp_high.
--   40    vitals 172/100: bp_high's condition clears; acknowledged, so bp_high
--         RESOLVES at 40. bp_rise still holds (+42 systolic).
--   46    bp_rise still holds 15 minutes after its acknowledgement: raised again,
--         MEDIUM, following it, "... [acknowledged at 08:31 UTC by nurse:ana, still
--         so 15 min later: raised again]" (docs/safety.md AN11).
--   47    nurse acknowledges it.
--   50    vitals 152/92: bp_rise's condition clears; acknowledged, so both RESOLVE at 50.
--   51    advance to observation (infusion gate passes: stopped, 5 readings).
--   66    observation vitals 160/94: no alert (below 180/110, +30/+14), but rule
--         bp_not_recovered BLOCKS leaving observation (160 is more than 20% above 130).
--   81    vitals 150/90: bp_not_recovered no longer blocks.
--   112   advance to discharge (observation gate passes).
--   115   discharge: gate passes; visit discharged.
-- Alerts, in order: bp_high/bp_high_unconfirmed MEDIUM at 30 (resolved 34, never
-- acknowledged, no escalation: 4 min < 5); bp_rise MEDIUM at 30 (ack 31, resolved 50);
-- bp_high/bp_high HIGH at 34 (ack 35, resolved 40); bp_rise raised again at 46 (ack 47,
-- resolved 50). No other alerts, no escalations.
-- Overdue marks: none. Blocks: bp_not_recovered in observation from 66 to 81.
-- Final status: discharged at 115.
return {
  title = "Hypertensive episode during the infusion",
  patient = "chair-2",
  params = { weight = 80 },
  actor = "nurse:ana",
  run_until = "2h30m",
  steps = {
    -- Screening
    { at = "0m", record = { consent = true, ci_hypertension = "no", ci_vascular = "no", ci_psychosis = "no",
                            ci_hypersensitivity = "no", pregnancy = "not applicable", substance_use = "no",
                            ride_confirmed = true } },
    { at = "2m", record = { baseline = { sbp = 130, dbp = 80, hr = 74, spo2 = 98, rr = 14 } } },
    { at = "4m", record = { dose = 40 } },
    { at = "5m", actor = "nurse:ben", record = { dose_check = true } },
    { at = "6m", record = { phq9 = { q1 = 2, q2 = 3, q3 = 2, q4 = 2, q5 = 1, q6 = 2, q7 = 2, q8 = 1, q9 = 0 } } },
    { at = "10m", advance = true },

    -- Infusion (entered at 10m)
    { at = "10m", record = { infusion_started = true, pump_rate = 150 } },
    { at = "20m", record = { vitals = { sbp = 146, dbp = 88, hr = 82, spo2 = 98, rr = 14 },
                             moaas = "5", dissociation = "present" } },
    { at = "30m", record = { vitals = { sbp = 184, dbp = 104, hr = 92, spo2 = 97, rr = 15 },
                             moaas = "4", dissociation = "present" } },
    { at = "31m", ack = "bp_rise" },
    { at = "34m", record = { vitals = { sbp = 188, dbp = 112, hr = 94, spo2 = 97, rr = 15 } } },
    { at = "35m", ack = "bp_high" },
    { at = "40m", record = { vitals = { sbp = 172, dbp = 100, hr = 88, spo2 = 97, rr = 14 },
                             moaas = "4", dissociation = "present" } },
    { at = "47m", ack = "bp_rise" },
    { at = "50m", record = { vitals = { sbp = 152, dbp = 92, hr = 82, spo2 = 98, rr = 14 },
                             moaas = "5", dissociation = "present", infusion_stopped = true,
                             volume_infused = 100, dose_given = 40 } },
    { at = "51m", advance = true },

    -- Observation (entered at 51m)
    { at = "66m", record = { vitals = { sbp = 160, dbp = 94, hr = 80, spo2 = 98, rr = 14 },
                             moaas = "5", dissociation = "none" } },
    { at = "81m", record = { vitals = { sbp = 150, dbp = 90, hr = 78, spo2 = 98, rr = 14 },
                             moaas = "5", dissociation = "none" } },
    { at = "96m", record = { vitals = { sbp = 142, dbp = 86, hr = 76, spo2 = 98, rr = 14 },
                             moaas = "5", dissociation = "none" } },
    { at = "111m", record = { vitals = { sbp = 136, dbp = 84, hr = 74, spo2 = 98, rr = 14 },
                              moaas = "5", dissociation = "none" } },
    { at = "112m", advance = true },

    -- Discharge (entered at 112m)
    { at = "113m", record = { aldrete = { activity = 2, respiration = 2, circulation = 2, consciousness = 2, spo2 = 2 },
                              responsible_adult = true, no_driving_advice = true, written_instructions = true } },
    { at = "115m", discharge = true },
  },
}
