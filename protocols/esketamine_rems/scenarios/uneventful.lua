-- Scenario: an uneventful 56 mg session, end to end.
--
-- What the nurse should see (minutes from the session start):
--   0-2   pre-dose checks; pre-dose vitals 128/78 (under the 140/90 guide): no alert.
--   3     advance: predose gate passes -> dosing.
--   4     dose 56 mg, lot EKA2211; 9: second device; 10: devices recorded as given
--         (the time of dosing for the REMS form).
--   10    advance -> monitoring (phase starts at 10). Breathing, MOAA/S and
--         dissociation due every 15 minutes from entry (25, 40, 55 ... 130); BP at 40
--         minutes due at 50 (10 minutes' grace).
--   25-55 mild sedation (MOAA/S 4) and dissociation "present", as expected; no alert
--         (MOAA/S 4 is above the deep-sedation cut-off 2).
--   50    BP at 40 min 142/88: +14/+10 from the pre-dose reading, under every flag.
--   70    sedation and dissociation resolved.
--   130   the 2-hour minimum reached; 131 advance: monitoring gate passes.
--   133   BP before leaving 126/80, acceptable; the form answers: sedation yes,
--         dissociation yes, respiratory depression no (all match the records).
--   135   discharged.
-- Alerts: none. Overdue marks: none. Blocks: none. Final status: discharged at 135.
-- REMS form: dosed at 10; ready to leave 121 minutes after dosing; 125 minutes
-- monitored.
return {
  title = "Uneventful esketamine session",
  patient = "room-1",
  actor = "nurse:ana",
  run_until = "3h",
  steps = {
    -- Before dosing
    { at = "0m", record = { consent = true, ci_vascular = "no", ci_hypersensitivity = "no", pregnancy = "neither",
                            substance_use = "no", self_harm_thoughts = "0", comed_benzodiazepine = "no", comed_hypnotic = "no",
                            comed_psychostimulant = "no", comed_maoi = "no", ride_confirmed = true,
                            prescriber_on_site = true, pulse_oximeter = true } },
    { at = "2m", record = { predose_vitals = { sbp = 128, dbp = 78, hr = 70, spo2 = 98, rr = 14 } } },
    { at = "2m", actor = "dr:kim", record = { predose_acceptable = "yes" } },
    { at = "3m", advance = true },

    -- Dosing (entered at 3m)
    { at = "4m", record = { dose = "56 mg", lot_number = "EKA2211" } },
    { at = "10m", record = { devices_administered = true } },
    { at = "10m", advance = true },

    -- Monitoring (entered at 10m)
    { at = "25m", record = { respiration = { spo2 = 97, rr = 14 }, moaas = "4", dissociation = "present" } },
    { at = "40m", record = { respiration = { spo2 = 97, rr = 13 }, moaas = "4", dissociation = "present" } },
    { at = "50m", record = { bp_40m = { sbp = 142, dbp = 88, hr = 76 } } },
    { at = "55m", record = { respiration = { spo2 = 98, rr = 14 }, moaas = "4", dissociation = "present" } },
    { at = "70m", record = { respiration = { spo2 = 98, rr = 14 }, moaas = "5", dissociation = "none" } },
    { at = "85m", record = { respiration = { spo2 = 98, rr = 14 }, moaas = "5", dissociation = "none" } },
    { at = "100m", record = { respiration = { spo2 = 98, rr = 14 }, moaas = "5", dissociation = "none" } },
    { at = "115m", record = { respiration = { spo2 = 98, rr = 14 }, moaas = "5", dissociation = "none" } },
    { at = "130m", record = { respiration = { spo2 = 98, rr = 14 }, moaas = "5", dissociation = "none" } },
    { at = "131m", advance = true },

    -- Ready to leave (entered at 131m)
    { at = "133m", record = { bp_before_leaving = { sbp = 126, dbp = 80, hr = 70 }, sedation_occurred = "yes",
                              dissociation_occurred = "yes", respiratory_depression_occurred = "no",
                              ride_present = true, no_driving_advice = true } },
    { at = "133m", actor = "dr:kim", record = { leaving_acceptable = "yes" } },
    { at = "135m", discharge = true },
  },
}
