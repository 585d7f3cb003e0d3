-- Scenario: not fit for discharge at the first attempt. The infusion and the
-- observation are uneventful; at the discharge assessment the patient is drowsy
-- and unsteady after walking to the discharge chair (modified Aldrete 8) and the
-- ride has not arrived. Weight 90 kg, dose 45 mg. Phases: infusion from 10,
-- observation from 51, discharge from 112 (minutes from the visit start).
--
-- What the nurse should see:
--   6     note from rule phq9: "PHQ-9 total 17: moderately severe." (a note, not an alert).
--   113   Aldrete recorded: activity 1, respiration 2, circulation 2, consciousness 1,
--         spo2 2 (total 8); no_driving_advice and written_instructions true;
--         responsible_adult recorded false (ride not here yet).
--   115   discharge REFUSED by the discharge gate; the visit stays in the discharge
--         phase. Gate reason: "modified Aldrete 8, needs 9 or more; no responsible
--         adult present".
--   130   Aldrete scored again (all 2, total 10); responsible_adult recorded true
--         (ride arrived). Both are new observations, so they are recorded, not amended.
--   131   discharge: gate passes; visit discharged.
-- Alerts: none. Overdue marks: none. Blocks: none.
-- Gates: screening (10), infusion (51), observation (112) pass; discharge refused
-- at 115, passes at 131. Final status: discharged at 131.
return {
  title = "Not fit for discharge at the first attempt",
  patient = "chair-4",
  params = { weight = 90 },
  actor = "nurse:ana",
  run_until = "2h30m",
  steps = {
    -- Screening
    { at = "0m", record = { consent = true, ci_hypertension = "no", ci_vascular = "no", ci_psychosis = "no",
                            ci_hypersensitivity = "no", pregnancy = "not applicable", substance_use = "no",
                            ride_confirmed = true } },
    { at = "2m", record = { baseline = { sbp = 126, dbp = 82, hr = 68, spo2 = 97, rr = 16 } } },
    { at = "4m", record = { dose = 45 } },
    { at = "5m", actor = "nurse:ben", record = { dose_check = true } },
    { at = "6m", record = { phq9 = { q1 = 3, q2 = 3, q3 = 2, q4 = 2, q5 = 2, q6 = 2, q7 = 2, q8 = 1, q9 = 0 } } },
    { at = "10m", advance = true },

    -- Infusion (entered at 10m)
    { at = "10m", record = { infusion_started = true, pump_rate = 150 } },
    { at = "20m", record = { vitals = { sbp = 132, dbp = 86, hr = 72, spo2 = 97, rr = 15 },
                             moaas = "4", dissociation = "present" } },
    { at = "30m", record = { vitals = { sbp = 140, dbp = 90, hr = 76, spo2 = 96, rr = 14 },
                             moaas = "4", dissociation = "present" } },
    { at = "40m", record = { vitals = { sbp = 142, dbp = 92, hr = 76, spo2 = 96, rr = 14 },
                             moaas = "3", dissociation = "present" } },
    { at = "50m", record = { vitals = { sbp = 136, dbp = 88, hr = 72, spo2 = 97, rr = 15 },
                             moaas = "4", dissociation = "present", infusion_stopped = true,
                             volume_infused = 100, dose_given = 45 } },
    { at = "51m", advance = true },

    -- Observation (entered at 51m)
    { at = "66m", record = { vitals = { sbp = 132, dbp = 86, hr = 70, spo2 = 97, rr = 15 },
                             moaas = "4", dissociation = "present" } },
    { at = "81m", record = { vitals = { sbp = 130, dbp = 84, hr = 70, spo2 = 97, rr = 16 },
                             moaas = "5", dissociation = "none" } },
    { at = "96m", record = { vitals = { sbp = 128, dbp = 82, hr = 68, spo2 = 97, rr = 16 },
                             moaas = "5", dissociation = "none" } },
    { at = "111m", record = { vitals = { sbp = 126, dbp = 82, hr = 68, spo2 = 97, rr = 16 },
                              moaas = "5", dissociation = "none" } },
    { at = "112m", advance = true },

    -- Discharge (entered at 112m)
    { at = "113m", record = { aldrete = { activity = 1, respiration = 2, circulation = 2, consciousness = 1, spo2 = 2 },
                              responsible_adult = false, no_driving_advice = true, written_instructions = true } },
    { at = "115m", discharge = true },        -- refused by the gate
    { at = "130m", record = { aldrete = { activity = 2, respiration = 2, circulation = 2, consciousness = 2, spo2 = 2 },
                              responsible_adult = true } },
    { at = "131m", discharge = true },
  },
}
