-- Scenario: an uneventful visit, end to end. Weight 70 kg, dose 35 mg (0.5 mg/kg).
--
-- What the nurse should see (minutes from the visit start):
--   0-6   screening recorded; no alerts; notes: "PHQ-9 total 10: moderate." (rule phq9).
--   10    advance: screening gate passes -> infusion (phase starts at 10).
--   20, 30, 40, 50   vitals, MOAA/S and dissociation checkpoints (infusion due times
--         10/20/30/40 min after phase entry), all on time; BP peaks at 144/90 at 40
--         (+16/+10 from the 128/80 baseline): under every limit, no alert.
--   50    infusion minimum (40 min) reached; infusion_stopped recorded.
--   51    advance: infusion gate passes -> observation (phase starts at 51).
--   66, 81, 96, 111  observation checkpoints (15/30/45/60 min after entry), on time.
--   111   observation minimum (60 min) reached.
--   112   advance: observation gate passes (61 min observed, MOAA/S 5,
--         dissociation none) -> discharge.
--   113   modified Aldrete 10 and the three checks recorded.
--   115   discharge: discharge gate passes; visit discharged.
-- Alerts: none. Overdue marks: none. Blocks: none. Final status: discharged at 115.
return {
  title = "Uneventful visit",
  patient = "chair-1",
  params = { weight = 70 },
  actor = "nurse:ana",
  run_until = "2h30m",
  steps = {
    -- Screening
    { at = "0m", record = { consent = true, ci_hypertension = "no", ci_vascular = "no", ci_psychosis = "no",
                            ci_hypersensitivity = "no", pregnancy = "neither", substance_use = "no",
                            ride_confirmed = true, fasting_hours = 3 } },
    { at = "2m", record = { baseline = { sbp = 128, dbp = 80, hr = 72, spo2 = 98, rr = 14 } } },
    { at = "4m", record = { dose = 35 } },
    { at = "5m", actor = "nurse:ben", record = { dose_check = true } },
    { at = "6m", record = { phq9 = { q1 = 2, q2 = 2, q3 = 1, q4 = 2, q5 = 1, q6 = 1, q7 = 1, q8 = 0, q9 = 0 } } },
    { at = "10m", advance = true },

    -- Infusion (entered at 10m)
    { at = "10m", record = { infusion_started = true, pump_rate = 150 } },
    { at = "20m", record = { vitals = { sbp = 134, dbp = 84, hr = 76, spo2 = 98, rr = 14 },
                             moaas = "5", dissociation = "present" } },
    { at = "30m", record = { vitals = { sbp = 140, dbp = 88, hr = 78, spo2 = 97, rr = 14 },
                             moaas = "4", dissociation = "present" } },
    { at = "40m", record = { vitals = { sbp = 144, dbp = 90, hr = 80, spo2 = 97, rr = 13 },
                             moaas = "4", dissociation = "present" } },
    { at = "50m", record = { vitals = { sbp = 138, dbp = 86, hr = 76, spo2 = 98, rr = 14 },
                             moaas = "5", dissociation = "present", infusion_stopped = true,
                             volume_infused = 100, dose_given = 35 } },
    { at = "51m", advance = true },

    -- Observation (entered at 51m)
    { at = "66m", record = { vitals = { sbp = 134, dbp = 84, hr = 74, spo2 = 98, rr = 14 },
                             moaas = "5", dissociation = "none" } },
    { at = "81m", record = { vitals = { sbp = 130, dbp = 82, hr = 72, spo2 = 98, rr = 14 },
                             moaas = "5", dissociation = "none" } },
    { at = "96m", record = { vitals = { sbp = 128, dbp = 80, hr = 72, spo2 = 98, rr = 14 },
                             moaas = "5", dissociation = "none" } },
    { at = "111m", record = { vitals = { sbp = 126, dbp = 80, hr = 70, spo2 = 98, rr = 14 },
                              moaas = "5", dissociation = "none" } },
    { at = "112m", advance = true },

    -- Discharge (entered at 112m)
    { at = "113m", record = { aldrete = { activity = 2, respiration = 2, circulation = 2, consciousness = 2, spo2 = 2 },
                              responsible_adult = true, no_driving_advice = true, written_instructions = true } },
    { at = "115m", discharge = true },
  },
}
