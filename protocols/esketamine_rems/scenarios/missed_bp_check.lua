-- Scenario: the 40-minute blood pressure is missed (the cuff was off after the
-- patient moved). 56 mg.
--
-- What the nurse should see (minutes from the session start):
--   3     advance -> dosing; 10 devices given; 10 advance -> monitoring.
--   50    BP at 40 min due (10 minutes' grace); not recorded.
--   60    monitoring item "bp_40m" OVERDUE: an item.overdue event, the overdue alert
--         for monitoring.bp_40m (MEDIUM, latching) and the protocol's on.overdue note
--         "Check 'monitoring.bp_40m' overdue in phase monitoring, 60 minutes into the
--         session."
--   65    still unacknowledged: the overdue alert ESCALATES (one level up, still MEDIUM).
--   66    BP recorded late, 136/84: the overdue alert RESOLVES; 67 acknowledged.
--   131   advance refused: the BP at 40 min was missed (recorded at 66, outside its grace;
--         monitoring declares missed = "hold", docs/safety.md G8); the clinician overrides
--         with a reason -> ready to leave; 135 discharged.
-- Alerts: the overdue alert for monitoring.bp_40m only (MEDIUM at 60, escalated 65,
-- resolved 66, acknowledged 67). Overdue marks: monitoring.bp_40m, due at 50.
-- REMS form: the 40-minute BP reads 136/84 taken 56 minutes after dosing.
return {
  title = "Missed 40-minute blood pressure",
  patient = "room-4",
  actor = "nurse:ana",
  run_until = "3h",
  steps = {
    { at = "0m", record = { consent = true, ci_vascular = "no", ci_hypersensitivity = "no", pregnancy = "neither",
                            substance_use = "no", self_harm_thoughts = "0", comed_benzodiazepine = "no", comed_hypnotic = "no",
                            comed_psychostimulant = "no", comed_maoi = "no", ride_confirmed = true,
                            prescriber_on_site = true, pulse_oximeter = true } },
    { at = "2m", record = { predose_vitals = { sbp = 122, dbp = 76, hr = 66, spo2 = 99, rr = 14 } } },
    { at = "2m", actor = "dr:kim", record = { predose_acceptable = "yes" } },
    { at = "3m", advance = true },

    { at = "4m", record = { dose = "56 mg", lot_number = "EKA2211" } },
    { at = "10m", record = { devices_administered = true } },
    { at = "10m", advance = true },

    -- Monitoring (entered at 10m): checks due 25, 40, 55 ...; BP at 40 min due 50.
    { at = "25m", record = { respiration = { spo2 = 98, rr = 14 }, moaas = "4", dissociation = "present" } },
    { at = "40m", record = { respiration = { spo2 = 98, rr = 14 }, moaas = "4", dissociation = "present" } },
    { at = "55m", record = { respiration = { spo2 = 98, rr = 14 }, moaas = "5", dissociation = "present" } },
    { at = "66m", record = { bp_40m = { sbp = 136, dbp = 84, hr = 72 } } },
    { at = "67m", ack = "bp_40m" },
    { at = "70m", record = { respiration = { spo2 = 98, rr = 14 }, moaas = "5", dissociation = "none" } },
    { at = "85m", record = { respiration = { spo2 = 98, rr = 14 }, moaas = "5", dissociation = "none" } },
    { at = "100m", record = { respiration = { spo2 = 98, rr = 14 }, moaas = "5", dissociation = "none" } },
    { at = "115m", record = { respiration = { spo2 = 98, rr = 14 }, moaas = "5", dissociation = "none" } },
    { at = "130m", record = { respiration = { spo2 = 98, rr = 14 }, moaas = "5", dissociation = "none" } },
    { at = "131m", advance = true },   -- refused: the 40-minute BP was missed (G8)
    { at = "131m", actor = "dr:kim", override = "40-minute BP taken at 66 minutes, normal: reviewed" },

    { at = "133m", record = { bp_before_leaving = { sbp = 124, dbp = 78, hr = 68 }, sedation_occurred = "yes",
                              dissociation_occurred = "yes", respiratory_depression_occurred = "no",
                              ride_present = true, no_driving_advice = true } },
    { at = "133m", actor = "dr:kim", record = { leaving_acceptable = "yes" } },
    { at = "135m", discharge = true },
  },
}
