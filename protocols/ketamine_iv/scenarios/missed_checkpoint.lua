-- Scenario: a missed vitals checkpoint during the infusion. The BP cuff did not
-- cycle at the 20-minute checkpoint; sedation and dissociation were recorded on
-- time, vitals were not. Weight 65 kg, dose 32.5 mg. Infusion phase entered at 10
-- (minutes from the visit start), so infusion checkpoints are due at 20, 30, 40, 50
-- with 5 minutes' grace.
--
-- What the nurse should see:
--   6     note from rule phq9: "PHQ-9 total 8: mild." (a note, not an alert).
--   20    moaas and dissociation recorded; infusion vitals (due 20) not recorded.
--   25    infusion item "vitals" OVERDUE (checkpoint due at 20, grace 5m):
--           * an item.overdue event and the overdue alert for item vitals, MEDIUM
--             (the item's overdue = { priority = "medium", escalate = "5m", latching = true });
--           * the protocol's on.overdue hook adds a note: "Checkpoint 'vitals' overdue
--             in phase infusion, 25 minutes into the visit."
--   30    the overdue alert, still unacknowledged, ESCALATES (re-notified at a higher
--         level, 5 minutes after it was raised; its priority stays MEDIUM). moaas and dissociation for the
--         30-minute checkpoint recorded on time.
--   32    vitals recorded late (138/86): satisfies the 20 and the 30 checkpoints
--         (a reading at t satisfies every due time up to t + 5m). No clinical alert.
--         The overdue alert is latching: it stays until acknowledged.
--   33    nurse acknowledges it (ack = "vitals": this assumes the overdue alert is
--         keyed by the item id; the infusion phase has no rule named "vitals").
--   40, 50  on time. Infusion gate at 51 holds: the 20-minute vitals were missed (recorded
--         at 32, outside its grace; the infusion declares missed = "hold", docs/safety.md G8);
--         the clinician overrides with a reason. 3 vitals readings (32, 40, 50).
--   112   advance to discharge; 115 discharged.
-- Alerts: the overdue alert for infusion.vitals only (MEDIUM at 25, escalated at 30,
-- acknowledged at 33). Overdue marks: infusion.vitals checkpoint due 20, overdue at 25.
-- No other overdue (moaas, dissociation always on time), no clinical alerts, no blocks.
-- Final status: discharged at 115.
return {
  title = "Missed vitals checkpoint during the infusion",
  patient = "chair-3",
  params = { weight = 65 },
  actor = "nurse:ana",
  run_until = "2h30m",
  steps = {
    -- Screening
    { at = "0m", record = { consent = true, ci_hypertension = "no", ci_vascular = "no", ci_psychosis = "no",
                            ci_hypersensitivity = "no", pregnancy = "neither", substance_use = "no",
                            ride_confirmed = true } },
    { at = "2m", record = { baseline = { sbp = 124, dbp = 78, hr = 70, spo2 = 99, rr = 14 } } },
    { at = "4m", record = { dose = 32.5 } },
    { at = "5m", actor = "nurse:ben", record = { dose_check = true } },
    { at = "6m", record = { phq9 = { q1 = 1, q2 = 2, q3 = 1, q4 = 1, q5 = 1, q6 = 1, q7 = 1, q8 = 0, q9 = 0 } } },
    { at = "10m", advance = true },

    -- Infusion (entered at 10m)
    { at = "10m", record = { infusion_started = true, pump_rate = 150 } },
    { at = "20m", record = { moaas = "5", dissociation = "present" } },   -- vitals missed
    { at = "30m", record = { moaas = "4", dissociation = "present" } },   -- vitals still missing
    { at = "32m", record = { vitals = { sbp = 138, dbp = 86, hr = 78, spo2 = 98, rr = 14 } } },
    { at = "33m", ack = "vitals" },
    { at = "40m", record = { vitals = { sbp = 140, dbp = 88, hr = 78, spo2 = 97, rr = 14 },
                             moaas = "4", dissociation = "present" } },
    { at = "50m", record = { vitals = { sbp = 134, dbp = 84, hr = 74, spo2 = 98, rr = 14 },
                             moaas = "5", dissociation = "present", infusion_stopped = true,
                             volume_infused = 100, dose_given = 35 } },
    { at = "51m", advance = true },   -- refused: the 20-minute vitals were missed (G8)
    { at = "51m", actor = "dr:kim", override = "20-minute vitals missed (cuff), readings since normal: reviewed" },

    -- Observation (entered at 51m)
    { at = "66m", record = { vitals = { sbp = 130, dbp = 82, hr = 72, spo2 = 98, rr = 14 },
                             moaas = "5", dissociation = "none" } },
    { at = "81m", record = { vitals = { sbp = 128, dbp = 80, hr = 70, spo2 = 98, rr = 14 },
                             moaas = "5", dissociation = "none" } },
    { at = "96m", record = { vitals = { sbp = 126, dbp = 78, hr = 70, spo2 = 99, rr = 14 },
                             moaas = "5", dissociation = "none" } },
    { at = "111m", record = { vitals = { sbp = 124, dbp = 78, hr = 70, spo2 = 99, rr = 14 },
                              moaas = "5", dissociation = "none" } },
    { at = "112m", advance = true },

    -- Discharge (entered at 112m)
    { at = "113m", record = { aldrete = { activity = 2, respiration = 2, circulation = 2, consciousness = 2, spo2 = 2 },
                              responsible_adult = true, no_driving_advice = true, written_instructions = true } },
    { at = "115m", discharge = true },
  },
}
