-- Scenario: pre-dose BP above the 140/90 guide, and marked hypertension at the
-- 40-minute check. 84 mg.
--
-- What the nurse should see (minutes from the session start):
--   2     pre-dose vitals 146/88: above the 140/90 guide, under the 180/110 hold:
--         rule bp_caution, LOW alert: "the prescriber should weigh risk against benefit".
--   3     the prescriber acknowledges it, judges the vitals acceptable and signs the
--         review of the BP above the guide (bp_caution_review: the prescriber's, attesting
--         her answer, docs/safety.md AG7, AN2).
--   4     advance -> dosing; 16: three devices given; 16 advance -> monitoring.
--   56    BP at 40 min 188/104:
--           * rule bp_high, HIGH: at or above 180/110 after dosing: tell the prescriber;
--           * rule bp_rise, MEDIUM: +42/+16 from the pre-dose 146/88.
--   58    both acknowledged.
--   70    an extra BP (as clinically warranted) 166/96: under the flag, +20/+8:
--         both alerts RESOLVE (acknowledged, so they close).
--   85    BP 150/90.
--   137   advance -> ready to leave (2 hours from 16 at 136).
--   139   BP before leaving 144/88, acceptable; 140 discharged.
-- Alerts, in order: bp_caution LOW at 2 (ack 3, resolved at 4 when predose is
-- left); bp_high HIGH at 56 (ack 58, resolved 70); bp_rise MEDIUM at 56 (ack 58,
-- resolved 70). No escalations. Overdue marks: none. Blocks: none.
return {
  title = "Hypertension at the 40-minute check",
  patient = "room-2",
  params = { dose_mg = "84" }, -- prescribed 84 mg (a clinician starts the visit)
  actor = "nurse:ana",
  run_until = "3h",
  steps = {
    { at = "0m", record = { consent = true, ci_vascular = "no", ci_hypersensitivity = "no", pregnancy = "not applicable",
                            substance_use = "no", self_harm_thoughts = "0", comed_benzodiazepine = "no", comed_hypnotic = "no",
                            comed_psychostimulant = "no", comed_maoi = "no", ride_confirmed = true,
                            prescriber_on_site = true, pulse_oximeter = true } },
    { at = "2m", record = { predose_vitals = { sbp = 146, dbp = 88, hr = 74, spo2 = 98, rr = 14 } } },
    { at = "3m", actor = "dr:kim", ack = "bp_caution" },
    { at = "3m", actor = "dr:kim", record = { predose_acceptable = "yes" } },
    { at = "3m", actor = "dr:kim", record = { bp_caution_review = true } },
    { at = "4m", advance = true },

    { at = "5m", record = { dose = "84 mg", lot_number = "EKA3307" } },
    { at = "16m", record = { devices_administered = true } },
    { at = "16m", advance = true },

    -- Monitoring (entered at 16m): checks due 31, 46, 61 ... 136; BP at 40 min due 56.
    { at = "31m", record = { respiration = { spo2 = 97, rr = 14 }, moaas = "4", dissociation = "present" } },
    { at = "46m", record = { respiration = { spo2 = 97, rr = 14 }, moaas = "4", dissociation = "present" } },
    { at = "56m", record = { bp_40m = { sbp = 188, dbp = 104, hr = 88 } } },
    { at = "58m", actor = "dr:kim", ack = "bp_high" },
    { at = "58m", actor = "dr:kim", ack = "bp_rise" },
    { at = "61m", record = { respiration = { spo2 = 97, rr = 14 }, moaas = "5", dissociation = "present" } },
    { at = "70m", record = { bp = { sbp = 166, dbp = 96, hr = 82 } } },
    { at = "76m", record = { respiration = { spo2 = 98, rr = 14 }, moaas = "5", dissociation = "none" } },
    { at = "85m", record = { bp = { sbp = 150, dbp = 90, hr = 78 } } },
    { at = "91m", record = { respiration = { spo2 = 98, rr = 14 }, moaas = "5", dissociation = "none" } },
    { at = "106m", record = { respiration = { spo2 = 98, rr = 14 }, moaas = "5", dissociation = "none" } },
    { at = "121m", record = { respiration = { spo2 = 98, rr = 14 }, moaas = "5", dissociation = "none" } },
    { at = "136m", record = { respiration = { spo2 = 98, rr = 14 }, moaas = "5", dissociation = "none" } },
    { at = "137m", advance = true },

    { at = "139m", record = { bp_before_leaving = { sbp = 144, dbp = 88, hr = 74 }, sedation_occurred = "yes",
                              dissociation_occurred = "yes", respiratory_depression_occurred = "no",
                              ride_present = true, no_driving_advice = true } },
    { at = "139m", actor = "dr:kim", record = { leaving_acceptable = "yes" } },
    { at = "140m", discharge = true },
  },
}
