-- protocol.lua: IV racemic ketamine for treatment-resistant depression.
--
-- Four phases (one file each): screening, infusion, observation, discharge.
-- lib.lua holds the alert checks shared by infusion and observation.
-- Every clinical threshold is a parameter below, with its source in
-- docs/clinical/ (README.md lists them all); the phase files name the parameters they use.
-- Scenarios for `vigil simulate` are in scenarios/.
--
-- Changes:
--   1.1.0  screening answers cannot be skipped (skippable = false); the discharge rule
--          aldrete_restates checks the Aldrete's SpO2 and respiration points against the
--          last vitals (docs/safety.md, H12 and H13). The engine of the same release holds
--          every phase on an open high alert and runs screening's rules on later amendments.
--   1.2.0  the treatment course (the acute series, then maintenance; docs/clinical/course.md), a dose
--          change from the last session's alerts the clinician, discharge notes the PHQ-9 response.
--   1.4.0  drug = { names = ... }: an allergy to ketamine on the patient's hospital record is a high
--          alert at the visit's start that holds screening (docs/safety.md L7).
--   1.4.1  the course's dose_given (infusion.infusion_started): a session whose infusion started counts
--          for the minimum interval whether its visit completes, is aborted or is still open, and only
--          a clinician aborts it (docs/safety.md M1).
--   1.5.0  every alert a rule raises carries its value and every rule says how a value gets worse, or
--          worse = false when nothing can be worse (docs/safety.md M4: lint refuses an alert without a
--          value); the unconfirmed BP and heart-rate alerts, MOAA/S 0, substance use and PHQ-9 item 9
--          now have one, so a worse reading after an acknowledgement is announced again (H1). A heart
--          rate at or below hr_min (40, NEWS2's 3-point band) is a high alert (hr_low), as HR, SpO2 and
--          RR of 0 are recorded now, not refused (M6). The drug's other names and codes (Ketanest,
--          Ketamin, Kétamine, esketamine, Spravato, RxNorm 6130) match an allergy on the record (N4).
--   1.6.0  low blood pressure alerts (param sbp_low: systolic at or below 90, NEWS2's 3-point band) in
--          screening, the infusion and observation, and holds the discharge (docs/safety.md Q4); the
--          baseline's SpO2, respiratory rate, heart rate and systolic BP below their limits are a high
--          alert and a hold before dosing (Q3), an amendment in the infusion holding the dose too.
--   1.6.1  the infusion's 40 minutes and its 10-minute checkpoints count from infusion_started
--          (timed_from), not from entering the phase (docs/safety.md P7).
--   1.6.2  the veterinary brands Ketaset, Ketaject and Vetalar and SNOMED CT 373464007 (Ketamine,
--          substance) match an allergy on the hospital record (docs/safety.md Q6).
--   1.7.0  the infusion's record (issue 19): the pump rate set, the volume infused and the dose given
--          (mL/h, mL, mg), required to leave the infusion (docs/clinical/ketamine-dosing.md).
--   1.7.1  the dose_change alert ("the clinician confirms the change") is carried (carry = true): a
--          nurse's acknowledgement is refused, a clinician's needs a reason, and the dose waits for it
--          (docs/safety.md P9).
--   1.7.2  the observation's gate needs 3 vitals readings of the phase, as the infusion's does: with
--          every checkpoint skipped the discharge's checks saw no post-infusion reading (docs/safety.md T2).
--   1.7.3  the discharge has a repeat reading of its own (discharge.vitals, not scheduled, not required)
--          with the observation's limit rules under the same names: a calm one taken now resolves a
--          late low reading of the observation that held the discharge, without back-dating; it is the
--          last vitals the discharge's checks read (docs/safety.md T6).
--   1.7.4  the dose given is checked (rule dose_given, param dose_given_tolerance_pct): against the dose
--          drawn up, or the prescribed dose when none was drawn up, a difference past the tolerance is a
--          carried high alert that holds the infusion until a clinician reviews it (docs/safety.md T7, U10).
--   1.7.5  vitals of the phase, vitals of now (docs/safety.md U2): the observation's gate counts readings
--          observed at least vitals_apart_min (5 minutes) apart, and the discharge needs its last vitals
--          observed within discharge_vitals_max_age_min (20 minutes); aldrete_restates runs on the repeat
--          reading too. Fast breathing (U3): rr_high (param rr_max, 25: NEWS2's 3-point band) alerts high
--          in the infusion, the observation and on the discharge's repeat reading, and the last vitals with
--          a heart rate above hr_max or a respiratory rate below rr_min or at or above rr_max hold the
--          discharge, as a low BP or heart rate does.
--   1.7.6  the dose given (infusion.dose_given) cannot be skipped (skippable = false): a changed value is
--          an amendment with a reason (U11) and its check (T7) always runs; it is one of the course's
--          dose_given items, so a session whose infusion start was passed by an override with the dose
--          given recorded counts as a dose (docs/safety.md AG1, AG2).
--   1.7.7  the course's dose is the dose given (infusion.dose_given), the dose drawn up
--          (screening.dose) standing in, marked, until it is recorded: the patient page, the FHIR
--          CarePlan and the next session's dose_change read 45 mg given, not 52.5 mg drawn up
--          (docs/safety.md AD4, docs/workstation.md X3).
--   1.7.8  the observation's vitals count per checkpoint (docs/safety.md AG4): each reading counts for the
--          checkpoint it is within 5 minutes of (visit.checkpoints), and more than one of the phase's
--          checkpoints without a reading holds the gate until a clinician overrides with a reason.
--   1.7.9  the discharge reads the BP against the baseline (docs/safety.md AL2): the last vitals' systolic
--          more than bp_recovery_pct (20 %) from the baseline's holds the discharge, as it holds the
--          observation (lib.bp_not_recovered, one check for both), and aldrete_restates checks the
--          circulation points against the last systolic and the baseline (the score's own bands).
--   1.7.10 the infusion's time is checked (rule infusion_time, param infusion_min_minutes): stopped sooner
--          than 36 minutes after it started (infusion_started's and infusion_stopped's observed times), the
--          dose ran faster than prescribed: a carried high alert that holds the infusion until a clinician
--          reviews it (docs/safety.md AL8: 35 mg in 4 minutes at 1000 mL/h raised nothing).
--   1.7.11 the pump's volume infused (infusion.volume_infused) is one of the course's dose_recorded items:
--          a session that left the infusion with a volume infused above 0, its start and dose given passed
--          by overrides, counts as a dose (docs/safety.md AI3, AL3).
--   1.7.12 the pre-dose hold alerts (bp_hold: medium at 180/110, high above 200/120: docs/safety.md AN12); the
--          start waits for vitals of now (the infusion's before_dose, param predose_vitals_max_age_min, 30 min: a
--          repeat in the infusion before the start, held at the hold limit: AN13); marked hypertension is
--          confirmed by the flag met again within bp_confirm_window_min (10 min), whatever lay between (AN14).
--   1.7.14 consent or the responsible adult amended false after screening holds the infusion's start
--          until it is taken back; after the start it alerts, carried (docs/safety.md AN10).
--   1.7.15 the pump's volume infused (infusion.volume_infused) is one of the course's dose_given items, no
--          longer a dose_recorded one: above 0 it says the dose was given wherever the visit is, so an abort
--          in the infusion after it is a clinician's and the session holds the minimum interval (docs/safety.md
--          AP2); like the start and the dose given it cannot be skipped (a pump that failed is a clinician's
--          gate override with a reason), and recording it is held as theirs are (N7, P2).
--   1.7.16 a pre-start reading in the infusion holds the start as the baseline does, at the BP hold and at the
--          low limits, until a reading out of the hold (docs/safety.md AP1); the stop, the volume infused and
--          the dose given are taken only after infusion_started is recorded yes (`after`, AO1).
--   1.7.17 high alerts latch: not acknowledged, they stay active and escalate after their cause clears, until
--          acknowledged (defaults.latch = "high", docs/safety.md AP3); the severe pre-dose hold alert stays while a
--          reading is at the hold (AP3); an alert's words follow the newest reading (AP4).
--   1.7.18 the observation's and the discharge's BP-recovery check compares the diastolic too (param
--          dbp_recovery_pct, 20 %: docs/safety.md AN15).
--   1.7.19 the BP-recovery check judges a fall from a high baseline against the pre-dose caution figure
--          (the lower of the baseline and sbp_caution, dbp_caution): 126/80 after 176/102 is recovered
--          (docs/workstation.md V4); a rise is judged against the baseline as before.
--   1.7.20 a baseline amended after the dose by someone who is not a clinician holds the discharge until a
--          clinician confirms it, and a carried medium alert says what the amendment changes (docs/safety.md
--          U6, AQ2).
--   1.7.21 the baseline's BP changed after the dose by someone who is not a clinician holds the discharge whatever
--          changed it (a later entry: AW1; a second amendment of the heart rate alone: AW2) until a clinician
--          stands by it; bp_caution and bp_hold say what to do after the start (AW3).

local v = require "vigil"
local lib = require "lib"

return v.protocol "ketamine_iv" {
  version = "1.7.21", -- 1.7.21: the baseline changed after the dose, by an entry or any amendment, holds the discharge (AW1, AW2), words after the start (AW3); 1.7.20: a baseline amended after the dose by a non-clinician holds the discharge (U6, AQ2); 1.7.19: a fall from a high baseline judged against the caution figure (V4); 1.7.18: the BP-recovery check reads the diastolic too (AN15); 1.7.17: high alerts latch until acknowledged (AP3); 1.7.16: pre-start vitals hold the start (AP1), the pump's record waits for the start (AO1); 1.7.15: the volume infused says the dose was given wherever the visit is (AP2); 1.7.14: a stopping answer amended false after screening holds the start, alerts after it (AN10); 1.7.13: an acknowledged alert whose cause holds is raised again after 15 minutes, a clinician's the second time (AN11); 1.7.12: the pre-dose hold alerts (AN12), the start waits for vitals of now (AN13), the flag met again within 10 minutes is confirmed (AN14); 1.7.11: the volume infused says the dose was given for the course (AL3); 1.7.10: an infusion stopped sooner than the minimum time alerts high (AL8); 1.7.9: the discharge reads the BP against the baseline, the Aldrete's circulation too (AL2); 1.7.8: the observation counts vitals per checkpoint (AG4); 1.7.7: the course's dose is the dose given, the dose drawn up until it is recorded (AD4, X3); 1.7.6: the dose given cannot be skipped and says the dose was given (AG1, AG2); 1.7.5: vitals spread over the observation and of now at discharge (U2), fast breathing and HR at discharge (U3); 1.7.4: the dose given is checked against the dose drawn up or prescribed (T7, U10); 1.7.3: a repeat reading at discharge (T6); 1.7.2: the observation needs 3 vitals readings (T2); 1.7.1: the dose_change alert is carried: only a clinician acknowledges it, with a reason (P9); 1.7.0: the infusion's record (rate, volume infused, dose given); 1.6.2: veterinary brands and SNOMED CT's ketamine match an allergy (Q6); 1.6.1: the infusion's time counts from infusion_started (P7); 1.6.0: low BP alerts and holds the discharge (Q4), low pre-dose vitals hold the dose (Q3); 1.5.0: every alert has a value, every rule a worse (M4), hr_low (M6); 1.4.1: the dose given counts for the minimum interval (M1); 1.4.0: the drug it gives (an allergy on the hospital record alerts: L7); 1.3.0: a "high" suicide-risk assessment blocks whatever PHQ-9 item 9 says (K1); 1.2.0 also: missed = "hold" (G8)
  title = "IV ketamine infusion for treatment-resistant depression",
  description = "Racemic ketamine 0.5 mg/kg IV over 40 minutes: screening, infusion with vitals, sedation and "
                .. "dissociation every 10 minutes, at least 60 minutes' observation, and discharge on a modified "
                .. "Aldrete score. No guideline gives binding stop thresholds for off-label IV ketamine: every "
                .. "threshold here is a sourced default (see each parameter's source) for the clinic to review "
                .. "and adapt before use. vigil prompts and records; the decisions stay with the clinician.",
  sources = {
    "Sanacora G et al. A consensus statement on the use of ketamine in the treatment of mood disorders. "
      .. "JAMA Psychiatry 2017;74:399-405",
    "Spravato (esketamine) prescribing information and REMS",
    "Aldrete JA. The post-anesthesia recovery score revisited. J Clin Anesth 1995;7:89-91",
    "American Society of Anesthesiologists. Practice guidelines for moderate procedural sedation and analgesia, 2018",
    "Royal College of Physicians. National Early Warning Score (NEWS) 2, 2017",
    "Kroenke K, Spitzer RL, Williams JB. The PHQ-9. J Gen Intern Med 2001;16:606-613",
    "docs/clinical/README.md (vigil): each parameter below, its source, strength and caveats",
  },
  -- The drug this protocol gives: an allergy on the patient's hospital record (HL7 AL1) whose
  -- substance names it or has one of its codes is a high alert at the visit's start that holds
  -- screening until a clinician acknowledges it with a reason (docs/safety.md L7).
  -- The names and codes, compared after letter case is folded and marks are taken off the letters
  -- (Kétamine is ketamine; docs/safety.md N4); the source of each: docs/clinical/screening.md, "The
  -- drug's other names". Racemic ketamine and esketamine share their allergy (the Spravato label's
  -- contraindication names both), so both protocols list both. Esketamine's RxNorm code is left out
  -- (not in our sources): a clinic adds it from RxNorm with the codes its hospital's system sends.
  drug = {
    names = { "ketamine", "ketamin", "kétamine", "esketamine", "ketalar", "ketanest", "spravato",
              "ketaset", "ketaject", "vetalar" }, -- veterinary brands (Q6)
    -- 6130: ketamine's RxNorm ingredient code; 373464007: SNOMED CT's Ketamine (substance) (Q6).
    -- Sources: docs/clinical/screening.md, "The drug's other names".
    codes = { "KET", "6130", "373464007" },
  },
  -- Alerts latch until acknowledged and re-notify after 5 minutes unacknowledged;
  -- a checkpoint is overdue 5 minutes after its due time.
  -- Source: docs/clinical/alarms.md: latching is the clinic's configuration;
  -- "escalate rather than repeat".
  -- An acknowledgement silences a cause that persists for 15 minutes, not for good: then
  -- the alert is raised again, and from its second time only a clinician acknowledges it
  -- (docs/safety.md AN11). Source: docs/clinical/alarms.md, "Protocol defaults": our
  -- convention, UNCONFIRMED.
  defaults = { grace = "5m", escalate = "5m", latching = true, overdue_priority = "medium",
               realert_after = "15m", realert_clinician = 2,
               -- A high alert not acknowledged stays active and escalates after its cause clears,
               -- until someone acknowledges it (IEC 60601-1-8's latching alarm; docs/safety.md
               -- AP3; docs/clinical/alarms.md "Protocol defaults", the clinic's configuration).
               latch = "high" },

  -- Every param but the weight is part of the prescription (prescribed = true): only a
  -- clinician starts a visit with another value than the default here. less_than
  -- declares the relations a visit's values must keep (docs/safety.md, H5).
  params = {
    -- The visit ------------------------------------------------------------
    -- Source: docs/clinical/ketamine-dosing.md, "Weight" (the dose is mg/kg).
    v.param "weight" {
      title = "Body weight today", unit = "kg", range = { 30, 250 },
      source = "docs/clinical/ketamine-dosing.md: baseline weight, the dose is mg/kg",
    },
    -- Source: docs/clinical/ketamine-dosing.md: 0.5 mg/kg IV over 40 min, Sanacora 2017 [S].
    v.param "dose_mg_per_kg" {
      prescribed = true,
      title = "Ordered dose per kg", default = 0.5, unit = "mg/kg", range = { 0.1, 1.0 },
      source = "docs/clinical/ketamine-dosing.md: 0.5 mg/kg over 40 min (Sanacora 2017)",
    },
    -- Source: none (docs/clinical/ketamine-dosing.md). A calculation check, not a clinical
    -- limit: 10% catches a wrong weight or a decimal slip; the clinic sets its own.
    v.param "dose_tolerance_pct" {
      prescribed = true,
      title = "Allowed difference between drawn and calculated dose", default = 10, unit = "%", range = { 0, 25 },
      source = "no clinical source: dose calculation check, clinic choice",
    },
    -- Source: none (docs/clinical/ketamine-dosing.md, "The infusion's record"). A recording
    -- check, not a clinical limit: the dose given (the pump's volume at the bag's
    -- concentration) against the dose drawn up, else the prescribed dose (docs/safety.md T7, U10).
    v.param "dose_given_tolerance_pct" {
      prescribed = true,
      title = "Allowed difference between the dose given and the dose drawn up", default = 10, unit = "%",
      range = { 0, 25 },
      source = "no clinical source: a recording check, clinic choice",
    },
    -- Source: docs/clinical/ketamine-dosing.md, "Infusion time": 0.5 mg/kg over 40 minutes (Sanacora
    -- 2017 [S]); the 4 minutes' allowance (10 %, as the dose checks') is our convention. An infusion
    -- stopped sooner after it started ran faster than prescribed (rule infusion_time; docs/safety.md AL8).
    v.param "infusion_min_minutes" {
      prescribed = true,
      title = "Shortest infusion: stopped sooner after its start alerts", default = 36, unit = "min",
      range = { 10, 120 },
      source = "docs/clinical/ketamine-dosing.md: over 40 minutes (Sanacora 2017); the 10 % allowance is ours",
    },

    -- Blood pressure ----------------------------------------------------------
    -- Source: docs/clinical/vitals-limits.md, "Pre-dose hold": SBP >= 180 or DBP >= 110;
    -- esketamine label data [P/S]; Del Sant 2020 [S]. Hold before dosing.
    v.param "sbp_hold" {
      prescribed = true,
      title = "Pre-dose hold: systolic at or above", default = 180, unit = "mm[Hg]", range = { 120, 220 },
      source = "docs/clinical/vitals-limits.md: marked hypertension (esketamine label data; Del Sant 2020)",
    },
    v.param "dbp_hold" {
      prescribed = true,
      title = "Pre-dose hold: diastolic at or above", default = 110, unit = "mm[Hg]", range = { 70, 140 },
      source = "docs/clinical/vitals-limits.md: marked hypertension (esketamine label data; Del Sant 2020)",
    },
    -- Source: docs/clinical/vitals-limits.md: Spravato pre-dose BP above about 140/90, weigh
    -- risk against benefit [S]. Also the reference of a fall after dosing from a baseline above it
    -- (lib.bp_not_recovered; docs/clinical/discharge-criteria.md, "BP back near baseline").
    v.param "sbp_caution" {
      prescribed = true, less_than = "sbp_hold",
      title = "Pre-dose caution: systolic above", default = 140, unit = "mm[Hg]", range = { 100, 200 },
      source = "docs/clinical/vitals-limits.md: Spravato pre-dose BP above about 140/90",
    },
    v.param "dbp_caution" {
      prescribed = true, less_than = "dbp_hold",
      title = "Pre-dose caution: diastolic above", default = 90, unit = "mm[Hg]", range = { 60, 130 },
      source = "docs/clinical/vitals-limits.md: Spravato pre-dose BP above about 140/90",
    },
    -- Source: docs/clinical/vitals-limits.md, "Marked hypertension": SBP >= 180 or DBP >= 110
    -- (esketamine label data [P/S]; Del Sant 2020 [S]); confirmed on a second reading
    -- as in one clinic's stop rule [W].
    v.param "sbp_alert" {
      prescribed = true, less_than = "sbp_severe",
      title = "Marked hypertension: systolic at or above", default = 180, unit = "mm[Hg]", range = { 140, 220 },
      source = "docs/clinical/vitals-limits.md: marked hypertension (esketamine label data; Del Sant 2020)",
    },
    v.param "dbp_alert" {
      prescribed = true, less_than = "dbp_severe",
      title = "Marked hypertension: diastolic at or above", default = 110, unit = "mm[Hg]", range = { 90, 140 },
      source = "docs/clinical/vitals-limits.md: marked hypertension (esketamine label data; Del Sant 2020)",
    },
    -- Source: docs/clinical/vitals-limits.md, "Severe hypertension": "> 200/120 once" [W],
    -- one academic clinic's rule.
    v.param "sbp_severe" {
      prescribed = true,
      title = "Severe hypertension, one reading: systolic above", default = 200, unit = "mm[Hg]",
      range = { 160, 260 },
      source = "docs/clinical/vitals-limits.md: > 200/120 once (one clinic's rule, [W])",
    },
    v.param "dbp_severe" {
      prescribed = true,
      title = "Severe hypertension, one reading: diastolic above", default = 120, unit = "mm[Hg]",
      range = { 100, 160 },
      source = "docs/clinical/vitals-limits.md: > 200/120 once (one clinic's rule, [W])",
    },
    -- Source: docs/clinical/vitals-limits.md, "Marked hypertension": the flag met again within
    -- this many minutes of a reading at it is the confirmation, whatever lay between (docs/safety.md
    -- AN14): the repeat's 5 minutes and a checkpoint's 5 minutes' grace; clinic convention (ours)
    -- on the shape of one clinic's "two readings 5 minutes apart" [W].
    v.param "bp_confirm_window_min" {
      prescribed = true,
      title = "Marked hypertension confirmed by another reading at the flag within", default = 10, unit = "min",
      range = { 5, 30 },
      source = "docs/clinical/vitals-limits.md: the repeat's 5 minutes and its grace (clinic convention, on one "
               .. "clinic's rule [W])",
    },
    -- Source: docs/clinical/vitals-limits.md, "Pre-dose vitals of now": the pre-dose hold and the
    -- rise read the baseline, so it is of the start; no source says how old it may be: 30 minutes
    -- is clinic convention (ours), UNCONFIRMED. Older than it, the infusion's start waits for a
    -- repeat (docs/safety.md AN13: a baseline 4 hours old, then the start).
    v.param "predose_vitals_max_age_min" {
      prescribed = true,
      title = "Infusion start: the pre-dose vitals taken within", default = 30, unit = "min", range = { 10, 120 },
      source = "docs/clinical/vitals-limits.md: the baseline is of the start; 30 min is clinic convention (UNCONFIRMED)",
    },
    -- Source: docs/clinical/vitals-limits.md, "Rise from baseline": >= 40 systolic / >= 25
    -- diastolic from baseline (esketamine label data [P/S]; Del Sant 2020 [S]).
    v.param "sbp_rise" {
      prescribed = true,
      title = "Rise from baseline: systolic at least", default = 40, unit = "mm[Hg]", range = { 10, 80 },
      source = "docs/clinical/vitals-limits.md: rise >= 40 systolic (esketamine label data)",
    },
    v.param "dbp_rise" {
      prescribed = true,
      title = "Rise from baseline: diastolic at least", default = 25, unit = "mm[Hg]", range = { 10, 60 },
      source = "docs/clinical/vitals-limits.md: rise >= 25 diastolic (esketamine label data)",
    },
    -- Source: docs/clinical/vitals-limits.md, "Low blood pressure": NEWS2 systolic <= 90 mmHg
    -- scores 3 [P]. Alert at or below 90, the band NEWS2 scores highest (docs/safety.md Q4).
    v.param "sbp_low" {
      prescribed = true, less_than = "sbp_caution",
      title = "Low blood pressure: systolic at or below", default = 90, unit = "mm[Hg]", range = { 70, 110 },
      source = "docs/clinical/vitals-limits.md: NEWS2 systolic <= 90 scores 3",
    },
    -- Source: docs/clinical/discharge-criteria.md: modified Aldrete circulation "within 20%"
    -- of baseline scores 2 (Aldrete 1995) [P/S]; discharge "back to baseline" [W]. The observation's
    -- block and the discharge's gate (the last vitals: docs/safety.md AL2) both read it. A fall is
    -- judged from the lower of the baseline and sbp_caution (dbp_caution for dbp_recovery_pct):
    -- docs/clinical/discharge-criteria.md "A fall from a high baseline", our extrapolation (V4).
    v.param "bp_recovery_pct" {
      prescribed = true,
      title = "Leave observation and discharge when systolic is within this much of baseline", default = 20,
      unit = "%",
      range = { 5, 50 },
      source = "docs/clinical/discharge-criteria.md: modified Aldrete circulation within 20% of baseline",
    },
    -- Source: docs/clinical/discharge-criteria.md, "BP back near baseline": the same band for the
    -- diastolic (PADSS's vital signs and the Aldrete's circulation give "BP within 20% of the
    -- pre-operative value", not systolic only) [P/S], used as a gate: our convention. Both checks
    -- read it (docs/safety.md AN15: 130/105 after a baseline of 120/75 went home).
    v.param "dbp_recovery_pct" {
      prescribed = true,
      title = "Leave observation and discharge when diastolic is within this much of baseline", default = 20,
      unit = "%",
      range = { 5, 50 },
      source = "docs/clinical/discharge-criteria.md: BP within 20% of baseline (Aldrete circulation, PADSS vital "
               .. "signs), applied to the diastolic",
    },

    -- Heart rate, oxygenation, breathing --------------------------------------
    -- Source: docs/clinical/vitals-limits.md, "Tachycardia": HR > 120 sustained 5 min [W].
    v.param "hr_max" {
      prescribed = true,
      title = "Tachycardia: heart rate above (sustained 5 min)", default = 120, unit = "/min", range = { 90, 180 },
      source = "docs/clinical/vitals-limits.md: HR > 120 sustained 5 min (one clinic's rule, [W])",
    },
    -- Source: docs/clinical/vitals-limits.md, "Bradycardia": NEWS2 pulse <= 40 /min scores 3 [P].
    -- Alert at or below 40: the band NEWS2 scores highest; a heart rate of 0 is recorded (M6).
    v.param "hr_min" {
      prescribed = true, less_than = "hr_max",
      title = "Slow heart rate: at or below", default = 40, unit = "/min", range = { 30, 60 },
      source = "docs/clinical/vitals-limits.md: NEWS2 pulse <= 40 scores 3",
    },
    -- Source: docs/clinical/vitals-limits.md: NEWS2 SpO2 scale 1 <= 91% scores 3 [P]; Aldrete
    -- SpO2 "> 92% on room air" scores 2 [P/S]. Alert below 92%.
    v.param "spo2_min" {
      prescribed = true,
      title = "Low SpO2: below", default = 92, unit = "%", range = { 85, 96 },
      source = "docs/clinical/vitals-limits.md: NEWS2 SpO2 scale 1 (<= 91 scores 3); Aldrete SpO2 band",
    },
    -- Source: docs/clinical/vitals-limits.md: NEWS2 9-11 /min scores 1, <= 8 scores 3 [P].
    -- No source gives 10 itself: alerting below 10 is a deliberately early choice
    -- inside the 9-11 band for a sedated patient; 9 would match the NEWS2 3-point
    -- band exactly. Clinic to review.
    v.param "rr_min" {
      prescribed = true, less_than = "rr_max",
      title = "Slow breathing: respiratory rate below", default = 10, unit = "/min", range = { 6, 12 },
      source = "docs/clinical/vitals-limits.md: NEWS2 bands (9-11 scores 1, <= 8 scores 3); 10 is a clinic choice",
    },
    -- Source: docs/clinical/vitals-limits.md, "Fast breathing": NEWS2 25 /min or more scores 3 [P]
    -- (21-24 scores 2). Alert at or above 25: the band NEWS2 scores highest, as rr_min's other end
    -- (docs/safety.md U3).
    v.param "rr_max" {
      prescribed = true,
      title = "Fast breathing: respiratory rate at or above", default = 25, unit = "/min", range = { 21, 40 },
      source = "docs/clinical/vitals-limits.md: NEWS2 respiration >= 25 scores 3",
    },

    -- Sedation --------------------------------------------------------------
    -- Source: docs/clinical/sedation-dissociation-scales.md: MOAA/S 5 (alert) .. 0 (none);
    -- "sedation practice" (ASA moderate sedation 2018) [S]. 2 = responds only to
    -- prodding or shaking, deeper than the light sedation expected at 0.5 mg/kg.
    -- The cut-off is a clinic choice on that scale.
    v.param "moaas_alert" {
      prescribed = true, less_than = "moaas_recovered",
      title = "Deep sedation: MOAA/S at or below", default = 2, unit = "{score}", range = { 1, 4 },
      source = "docs/clinical/sedation-dissociation-scales.md: MOAA/S; ASA 2018 (cut-off: clinic choice)",
    },
    -- Source: docs/clinical/sedation-dissociation-scales.md: MOAA/S 5 = alert; Spravato: until
    -- sedation has resolved [P].
    v.param "moaas_recovered" {
      prescribed = true,
      title = "Sedation resolved: MOAA/S at least", default = 5, unit = "{score}", range = { 3, 5 },
      source = "docs/clinical/sedation-dissociation-scales.md: MOAA/S 5 = alert; Spravato: until resolved",
    },

    -- Observation and discharge ---------------------------------------------
    -- Source: docs/clinical/discharge-criteria.md, "Observation time": no guideline for IV racemic
    -- ketamine; clinic default (e.g. 60 min), UNCONFIRMED, made a parameter. It cannot
    -- go below the observation phase's literal minimum of 60 minutes.
    v.param "observation_minutes" {
      prescribed = true,
      title = "Minimum observation after the infusion", default = 60, unit = "min", range = { 60, 240 },
      source = "docs/clinical/discharge-criteria.md: clinic default, no guideline number (UNCONFIRMED)",
    },
    -- Source: docs/clinical/discharge-criteria.md, "Vitals spread over the observation": readings
    -- closer than this count once toward the observation gate's 3 (docs/safety.md U2). 5 is how close
    -- two honest readings of consecutive 15-minute checkpoints can be (each within its 5 minutes'
    -- grace either side): clinic convention (ours), no source gives a spacing.
    v.param "vitals_apart_min" {
      prescribed = true,
      title = "Observation vitals count when at least this far apart", default = 5, unit = "min",
      range = { 1, 15 },
      source = "docs/clinical/discharge-criteria.md: the checkpoints' cadence less their grace (clinic convention)",
    },
    -- Source: docs/clinical/discharge-criteria.md, "Vitals at discharge no older than": sedation
    -- practice monitors every 5-15 minutes until fit for discharge (ASA 2018) [S]; 20 is the
    -- observation's 15-minute cadence and its 5 minutes' grace: clinic convention (ours).
    v.param "discharge_vitals_max_age_min" {
      prescribed = true,
      title = "Discharge: the last vitals taken within", default = 20, unit = "min", range = { 5, 60 },
      source = "docs/clinical/discharge-criteria.md: ASA 2018 every 5-15 min until fit for discharge; "
               .. "20 = the 15-min cadence and its grace (clinic convention)",
    },
    -- Source: docs/clinical/discharge-criteria.md: modified Aldrete (1995) [P/S], >= 9 fit to leave.
    v.param "aldrete_min" {
      prescribed = true,
      title = "Modified Aldrete needed to leave", default = 9, unit = "{score}", range = { 7, 10 },
      source = "docs/clinical/discharge-criteria.md: modified Aldrete (1995) >= 9 fit to leave phase I recovery",
    },

    -- The course -------------------------------------------------------------
    -- UNCONFIRMED: clinic default, review. Source: docs/clinical/course.md, "Dose change".
    v.param "dose_change_pct" {
      prescribed = true,
      title = "Dose change from the last session that alerts the clinician", default = 25, unit = "%",
      range = { 5, 100 },
      source = "docs/clinical/course.md: clinic default (UNCONFIRMED), no published figure",
    },
  },

  -- The treatment course: the acute series, then maintenance. Each number and
  -- its source: docs/clinical/course.md.
  course = v.course {
    -- Source: docs/clinical/course.md, "Acute series": about six infusions over
    -- 2-3 weeks at 2-3 a week (Sanacora 2017 consensus [S]).
    sessions = 6, within = "21d", interval = "3d",
    -- UNCONFIRMED: clinic default, review (no published minimum interval).
    min_interval = "1d",
    -- The infusion started is the dose given: from then the session counts for
    -- the minimum interval, even if its visit is aborted (docs/safety.md M1).
    -- The dose given recorded says so too: a session whose start was passed by a
    -- clinician's override with the dose given recorded counts (docs/safety.md AG2).
    -- So does the pump's volume infused, wherever the visit is: it is recorded once
    -- the pump has run, never before the dose as esketamine's dose_recorded items
    -- are. A session whose start and dose given were passed by overrides (AI3, AL3),
    -- or aborted in the infusion with its start never ticked (AP2), counts with a
    -- volume infused above 0; a volume of 0 is no dose.
    dose_given = { "infusion.infusion_started", "infusion.dose_given", "infusion.volume_infused" },
    -- UNCONFIRMED: clinic default, review (docs/clinical/course.md, "Grace").
    grace = "2d",
    -- UNCONFIRMED: clinic default, review (no consensus maintenance schedule).
    maintenance = { interval = "14d" },
    measures = {
      phq9 = { item = "screening.phq9", field = "total" },
      -- The dose given, not the dose drawn up (docs/safety.md AD4, X3): the dose
      -- drawn up stands in, marked as such, until the dose given is recorded.
      dose = { item = "infusion.dose_given", otherwise = "screening.dose" },
      dose_mg_per_kg = { param = "dose_mg_per_kg" },
    },
    -- Source: docs/clinical/course.md, "Response and remission" (PHQ-9).
    response = { measure = "phq9", fall_pct = lib.RESPONSE_FALL_PCT },
    remission = { measure = "phq9", below = lib.REMISSION_BELOW },
  },

  phases = {
    require "screening",
    require "infusion",
    require "observation",
    require "discharge",
  },

  on = {
    -- Discharge shows the course's PHQ-9 response: today's total against the
    -- first session's (docs/clinical/course.md, "Response and remission").
    phase_enter = function(phase, visit)
      if phase ~= "discharge" then return nil end
      return lib.course_response_note(visit)
    end,
    -- A note in the record for every overdue checkpoint, with when it happened, so
    -- that the REMS-style record shows gaps in monitoring. (The overdue alert
    -- itself is raised by the engine.)
    overdue = function(item, visit)
      local name = type(item) == "table" and (item.id or item.title) or tostring(item)
      return v.note(string.format("Checkpoint '%s' overdue in phase %s, %d minutes into the visit.",
                                  tostring(name), tostring(visit.phase()), lib.minutes(visit.elapsed())))
    end,
  },
}
