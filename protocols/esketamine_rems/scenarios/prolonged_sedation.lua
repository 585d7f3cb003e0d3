-- Scenario: deep sedation with respiratory depression early in monitoring, sedation
-- not resolved at two hours, and a REMS form answer that contradicts the records.
-- 84 mg; the patient takes a benzodiazepine.
--
-- What the nurse should see (minutes from the session start):
--   0     comed_benzodiazepine "yes": rule comed_benzodiazepine, LOW alert id
--         comed_sedating ("they can deepen sedation"); acknowledged at 1.
--   2     advance -> dosing; 14 devices given; 14 advance -> monitoring (checks due
--         29, 44, 59 ... ; BP at 40 min due 54).
--   29    SpO2 90%, RR 9, MOAA/S 2:
--           * rules spo2_low and rr_low: HIGH "spo2_low" and HIGH "rr_low";
--           * rule sedation_deep: MEDIUM "sedation_deep".
--   30    all three acknowledged (airway supported, the prescriber told).
--   44    SpO2 95%, RR 12, MOAA/S 3: the three alerts RESOLVE.
--   134   the 2-hour minimum passed, but MOAA/S is 4: advance REFUSED (gate.blocked
--         monitoring: "sedation not resolved (MOAA/S 4, needs 5)").
--   149   MOAA/S 5, dissociation none; 150 advance passes.
--   152   the form says sedation "no": rule sedation_answer BLOCKS leaving (the
--         records show MOAA/S 2, 3, 4; docs/safety.md N6). 153 the nurse amends the
--         answer to "yes": the rule runs again without it and the block clears.
--   155   discharged.
-- Alerts: comed_sedating LOW at 0 (ack 1; resolved 2 when predose is left);
-- spo2_low HIGH, rr_low HIGH, sedation_deep MEDIUM at 29 (ack 30, resolved 44);
-- Blocks: sedation_answer at 152 (cleared 153). Gates: monitoring refused at 134.
return {
  title = "Prolonged sedation with respiratory depression",
  patient = "room-3",
  params = { dose_mg = "84" }, -- prescribed 84 mg (a clinician starts the visit)
  actor = "nurse:ben",
  run_until = "3h",
  steps = {
    { at = "0m", record = { consent = true, ci_vascular = "no", ci_hypersensitivity = "no", pregnancy = "neither",
                            substance_use = "no", self_harm_thoughts = "0", comed_benzodiazepine = "yes", comed_hypnotic = "no",
                            comed_psychostimulant = "no", comed_maoi = "no", ride_confirmed = true,
                            prescriber_on_site = true, pulse_oximeter = true } },
    { at = "1m", actor = "dr:kim", ack = "comed_benzodiazepine" },
    { at = "1m", record = { predose_vitals = { sbp = 124, dbp = 76, hr = 68, spo2 = 97, rr = 14 } } },
    { at = "1m", actor = "dr:kim", record = { predose_acceptable = "yes" } },
    { at = "2m", advance = true },

    { at = "3m", record = { dose = "84 mg", lot_number = "EKA3307" } },
    { at = "14m", record = { devices_administered = true } },
    { at = "14m", advance = true },

    -- Monitoring (entered at 14m)
    { at = "29m", record = { respiration = { spo2 = 90, rr = 9 }, moaas = "2", dissociation = "present" } },
    { at = "30m", actor = "dr:kim", ack = "spo2_low" },
    { at = "30m", actor = "dr:kim", ack = "rr_low" },
    { at = "30m", actor = "dr:kim", ack = "sedation_deep" },
    { at = "44m", record = { respiration = { spo2 = 95, rr = 12 }, moaas = "3", dissociation = "present" } },
    { at = "54m", record = { bp_40m = { sbp = 132, dbp = 82, hr = 72 } } },
    { at = "59m", record = { respiration = { spo2 = 96, rr = 13 }, moaas = "3", dissociation = "present" } },
    { at = "74m", record = { respiration = { spo2 = 97, rr = 14 }, moaas = "4", dissociation = "none" } },
    { at = "89m", record = { respiration = { spo2 = 97, rr = 14 }, moaas = "4", dissociation = "none" } },
    { at = "104m", record = { respiration = { spo2 = 97, rr = 14 }, moaas = "4", dissociation = "none" } },
    { at = "119m", record = { respiration = { spo2 = 97, rr = 14 }, moaas = "4", dissociation = "none" } },
    { at = "134m", record = { respiration = { spo2 = 98, rr = 14 }, moaas = "4", dissociation = "none" } },
    { at = "134m", advance = true },                    -- refused: sedation not resolved
    { at = "149m", record = { respiration = { spo2 = 98, rr = 14 }, moaas = "5", dissociation = "none" } },
    { at = "150m", advance = true },

    { at = "152m", record = { bp_before_leaving = { sbp = 128, dbp = 80, hr = 70 }, sedation_occurred = "no",
                              dissociation_occurred = "yes", respiratory_depression_occurred = "yes",
                              ride_present = true, no_driving_advice = true } },
    { at = "153m", amend = { item = "sedation_occurred", value = "yes", reason = "MOAA/S 2 at 29 minutes" } },
    { at = "154m", actor = "dr:kim", record = { leaving_acceptable = "yes" } },
    { at = "155m", discharge = true },
  },
}
