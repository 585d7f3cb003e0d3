-- protocol.lua: esketamine (Spravato) nasal spray treatment sessions under the
-- Spravato REMS.
--
-- Four phases (one file each): predose, dosing, monitoring, discharge.
-- lib.lua holds the checks the phases share. Every clinical threshold is a
-- parameter below, with its source in docs/clinical/ (esketamine-rems.md unless
-- said otherwise; README.md lists them all); the phase files name the parameters
-- they use. The items the REMS Patient Monitoring Form asks for are listed in
-- docs/rems.md (`vigil export rems VISIT`). Scenarios are in scenarios/.
--
-- Changes:
--   1.1.0  the treatment course of the label's section 2 (induction twice weekly in weeks 1-4,
--          weekly in weeks 5-8, then every one or two weeks; docs/clinical/course.md).
--   1.2.0  the pre-dose answers dosing rests on cannot be skipped (skippable = false, docs/safety.md
--          H13, as ketamine_iv); "vitals acceptable" with no pre-dose vitals holds the checklist.
--   1.3.0  drug = { names = ... }: an allergy to (es)ketamine on the patient's hospital record is a high
--          alert at the visit's start that holds the pre-dose checks (docs/safety.md L7).
--   1.4.0  a worse reading after an acknowledgement is announced again (docs/safety.md H1, M2): the
--          monitoring alerts carry their value and the rules declare lib.worse's margins, as
--          ketamine_iv; respiration's two alerts are two rules (spo2_low, rr_low), one margin each.
--          The dose, its lot, the BP before leaving and the form's answers at leaving cannot be
--          skipped, and "acceptable for leaving" with no BP holds (M5). Suicidal thoughts (PHQ-9
--          item 9) asked before every dose, held until the prescriber's assessment (M8, H4).
--   1.4.1  the course's dose_given (dosing.devices_administered): a session whose devices were
--          administered counts for the minimum interval whether its visit completes, is aborted or is
--          still open, and only a clinician aborts it (docs/safety.md M1).
--   1.5.0  the rules on the REMS form's answers and on dissociation say worse = false (nothing can be
--          worse than the answer; docs/safety.md M4: lint refuses an alert without a value otherwise).
--          The drug's other names and codes (Ketalar, Ketanest, Ketamin, Kétamine, RxNorm 6130) match
--          an allergy on the hospital record (N4).
--   1.5.1  the dose is prescribed (param dose_mg, 56 or 84 mg: a clinician's choice) and the dose
--          recorded is checked against it (docs/safety.md N5). A form answer at leaving that the monitoring
--          record contradicts holds leaving until it is corrected or the prescriber confirms it
--          (answers_confirmed, a signature) (N6).
--   1.5.2  the ride home and the no-driving advice at leaving cannot be skipped (skippable = false,
--          docs/safety.md P6), as ketamine_iv's discharge holds.
--   1.6.0  low blood pressure and a slow heart rate (params sbp_low, 90, and hr_min, 40: NEWS2's 3-point
--          bands) alert after dosing and hold leaving, "acceptable for leaving" or not (docs/safety.md
--          Q4); the pre-dose vitals' SpO2, respiratory rate, heart rate and systolic BP below their limits
--          are a high alert and a hold before dosing, an amendment in dosing holding the dose too (Q3).
--   1.7.3  the device lot number has a format (dosing.lot_number's format: 4 to 20 letters, digits or
--          hyphens): a lot number "A" is refused at entry (docs/safety.md P9).
--   1.7.4  leaving has a repeat breathing reading and MOAA/S of its own (discharge.respiration,
--          discharge.moaas, not scheduled, not required) with the monitoring's spo2_low, rr_low and
--          sedation_deep: a calm one taken now resolves a late low reading of the monitoring that held
--          leaving, without back-dating; the REMS form's answers are checked against them too
--          (docs/safety.md T6).
--   1.7.5  fast breathing: rr_high (param rr_max, 25: NEWS2's 3-point band) alerts high on the
--          monitoring's and leaving's breathing readings, and the newest breathing reading at or above
--          it holds leaving (docs/safety.md U3); that reading must be no older than
--          discharge_vitals_max_age_min (20 minutes) when the patient leaves (U2).
--   1.7.6  the course's dose_recorded (dosing.dose, dosing.lot_number): a session that left dosing with
--          its dose and lot recorded and the devices unrecorded (the gate overridden) counts as a dose:
--          the minimum interval, the series and the REMS form (docs/safety.md AG2).
--   1.7.7  the monitoring's breathing counts per checkpoint (docs/safety.md AG4): each reading counts for
--          the checkpoint it is within 5 minutes of (visit.checkpoints), and more than one checkpoint
--          without a reading holds the gate until a clinician overrides; the 40-minute BP (bp_40m)
--          cannot be skipped.
--   1.7.8  above the pre-dose 140/90 guide (under the 180/110 hold) the prescriber's review is a signature
--          on the reading, bp_caution_review (a nurse cannot sign; a repeat reading voids it), not the
--          "vitals acceptable" a nurse could type with it (docs/safety.md AG7).
--   1.7.9  a BP before leaving at or above sbp_alert/dbp_alert (180/110) alerts high (bp_high, the
--          monitoring's rule of the same name) beside the bp_leaving hold (docs/safety.md AL9).
--   1.7.10 a dosed patient is not left in dosing: the phase is timed from the devices administered and,
--          10 minutes after them, a medium alert says it has passed its maximum until the visit moves on to
--          the monitoring (docs/safety.md AN1).
--   1.7.12 the pre-dose hold alerts medium (bp_hold: docs/safety.md AN12); the dose waits for vitals of now
--          (dosing's before_dose, param predose_vitals_max_age_min, 30 min; its repeat reading dosing.vitals with
--          the pre-dose holds and alerts, read by the monitoring's bp_rise: AN13).
--   1.7.14 an answer dosing rests on (consent, the prescriber on site, the pulse oximeter, the vitals
--          acceptable for dosing, the ride home) amended false or "no" after the pre-dose checks holds the
--          dose until it is taken back; after the devices it alerts, carried (docs/safety.md AN10).
--   1.7.15 high alerts latch: not acknowledged, they stay active and escalate after their cause clears, until
--          acknowledged (defaults.latch = "high", docs/safety.md AP3).
--   1.7.16 leaving: the BP before leaving no older than discharge_vitals_max_age_min (20 min), and a rise
--          from the pre-dose reading alerts there as in the monitoring (bp_rise: docs/safety.md AN16);
--          the vitals acceptable for leaving (the REMS form's prescriber's evaluation) are a clinician's
--          entry (clinician = true: AL6).
--   1.7.17 leaving: a BP before leaving observed after the prescriber's "yes" that raises an alert (bp_rise,
--          bp_high, bp_low, hr_low) voids the "yes" until she answers again (docs/safety.md AQ1).
--   1.7.18 the "yes" also voided by any BP after a "yes" given before any BP before leaving (AS2).
--   1.7.19 the "yes" is voided by the order of recording, not observed times: a BP
--          before leaving entered after it (at the same time, or back-dated) that raises an alert, or an
--          amendment of one on record at her answer (visit.recorded_seq: docs/safety.md AS1, AS3); a heart
--          rate above hr_max (130: NEWS2's 3-point band) before leaving alerts high (hr_high) and voids
--          it too (AS4).
--   1.7.20 the "yes" also voided by an amendment of a BP entered after it (AS8), and by a calm BP as far
--          from the one she judged as the rise flag from the pre-dose (sbp_rise / dbp_rise: AS7).
--   1.7.21 a pre-dose BP amended after the dose by someone who is not a clinician holds leaving until a
--          clinician confirms it (docs/safety.md U6, AQ2).
--   1.7.22 a pre-dose BP changed after the dose by someone who is not a clinician holds leaving whatever
--          changed it (a later entry: AW1; a second amendment of the heart rate alone: AW2).

local v = require "vigil"

return v.protocol "esketamine_rems" {
  version = "1.7.22", -- 1.7.22: a pre-dose BP changed after the dose, by an entry or any amendment, holds leaving (AW1, AW2); 1.7.21: a pre-dose BP amended after the dose by a non-clinician holds leaving (U6, AQ2); 1.7.20: the "yes" voided by a later BP amended (AS8) or far from the one judged (AS7); 1.7.19: the "yes" voided by the order of recording (AS1, AS3), hr_high (AS4); 1.7.18: a yes given before any BP before leaving judged none (AS2); 1.7.17: a BP before leaving that alerts after the prescriber's "yes" voids it (AQ1); 1.7.16: the BP before leaving no older than 20 min and its rise alerts (AN16), vitals acceptable before leaving a clinician's (AL6); 1.7.15: high alerts latch until acknowledged (AP3); 1.7.14: a stopping answer amended false after the pre-dose checks holds the dose, alerts after it (AN10); 1.7.13: an acknowledged alert whose cause holds is raised again after 15 minutes, a clinician's the second time (AN11); 1.7.12: the pre-dose hold alerts (AN12), the dose waits for vitals of now (AN13); 1.7.11: the prescriber's pre-dose review attests her answer and may be of a reading she took (AN2, AN3); 1.7.10: dosing's maximum after the devices administered alerts (AN1); 1.7.9: a high BP before leaving alerts (AL9); 1.7.8: above the 140/90 guide the prescriber signs the review of the pre-dose reading (AG7); 1.7.7: the monitoring counts breathing per checkpoint, bp_40m not skippable (AG4); 1.7.6: the dose and lot recorded say the dose was given once dosing is left (AG2); 1.7.5: fast breathing alerts and holds leaving (U3), breathing of now at leaving (U2); 1.7.4: a repeat breathing reading and MOAA/S at leaving (T6); 1.7.3: the device lot number has a format (4-20 letters, digits or hyphens: P9); 1.7.2: veterinary brands and SNOMED CT's ketamine match an allergy (Q6); 1.7.1: a low BP or slow heart rate before leaving alerts high (bp_low, hr_low: R5); 1.7.0: the REMS Patient Monitoring Form: every field before leaving, each session's form due (rems_form); 1.6.0: low BP and a slow heart rate alert and hold leaving (Q4), low pre-dose vitals hold the dose (Q3); 1.5.2: the ride home and the no-driving advice cannot be skipped (P6); 1.5.1: the dose prescribed and checked (N5), form answers against the record (N6); 1.5.0: worse = false said where nothing is worse (M4); 1.4.1: the dose given counts for the minimum interval (M1); 1.4.0: worse readings announced (M2), no skips at dosing and leaving (M5), suicidal thoughts (M8); 1.3.0: the drug it gives (an allergy on the hospital record alerts: L7); 1.1.0 also: monitoring's missed checkpoints hold its gate (missed = "hold", docs/safety.md G8)
  title = "Esketamine (Spravato) treatment session under the REMS",
  description = "Esketamine nasal spray 56 or 84 mg in a certified treatment setting: pre-dose checks with the "
                .. "140/90 blood pressure guide and a confirmed ride home, the dose and its lot, blood pressure at "
                .. "about 40 minutes, at least two hours of monitoring and until sedation, dissociation and "
                .. "respiratory depression have resolved, and the data of the REMS Patient Monitoring Form. Every "
                .. "threshold is a sourced default for the clinic to review. vigil prompts and records; the "
                .. "decisions stay with the prescriber.",
  sources = {
    "Spravato (esketamine) nasal spray prescribing information, Janssen",
    "Spravato REMS: Patient Monitoring Form and REMS requirements (FDA)",
    "American Society of Anesthesiologists. Practice guidelines for moderate procedural sedation and analgesia, 2018",
    "Royal College of Physicians. National Early Warning Score (NEWS) 2, 2017",
    "docs/clinical/README.md (vigil): each parameter below, its source, strength and caveats",
  },
  -- The drug this protocol gives: an allergy on the patient's hospital record (HL7 AL1) whose
  -- substance names it is a high alert at the visit's start that holds the pre-dose checks until a
  -- clinician acknowledges it with a reason (docs/safety.md L7).
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

  -- Every param is part of the prescription (prescribed = true): only a clinician starts
  -- a visit with another value than the default here. less_than declares the relations
  -- a visit's values must keep (docs/safety.md, H5).
  params = {
    -- The dose --------------------------------------------------------------------
    -- Source: docs/clinical/esketamine-rems.md, "Doses": 56 or 84 mg; the day-1 (first
    -- session) dose is 56 mg, later induction doses 56 or 84 mg twice a week [P: label
    -- section 2]. The prescriber's choice for this session: a nurse starts a visit at the
    -- default (56 mg) only; the dose recorded in dosing is checked against it (dosing.lua).
    v.param "dose_mg" {
      prescribed = true, kind = "choice", options = { "56", "84" },
      title = "Prescribed dose (mg)", default = "56",
      source = "docs/clinical/esketamine-rems.md: Spravato label section 2, 56 or 84 mg (day 1: 56 mg)",
    },

    -- Blood pressure before dosing --------------------------------------------
    -- Source: docs/clinical/esketamine-rems.md: "Pre-dose BP above about 140 systolic or
    -- 90 diastolic: weigh risk against benefit" [S].
    v.param "sbp_caution" {
      prescribed = true, less_than = "sbp_alert",
      title = "Pre-dose guide: systolic above", default = 140, unit = "mm[Hg]", range = { 110, 180 },
      source = "docs/clinical/esketamine-rems.md: pre-dose BP above about 140/90, weigh risk against benefit",
    },
    v.param "dbp_caution" {
      prescribed = true, less_than = "dbp_alert",
      title = "Pre-dose guide: diastolic above", default = 90, unit = "mm[Hg]", range = { 60, 120 },
      source = "docs/clinical/esketamine-rems.md: pre-dose BP above about 140/90, weigh risk against benefit",
    },
    -- Source: docs/clinical/vitals-limits.md, "Marked hypertension": SBP >= 180 or DBP >= 110
    -- (esketamine label data [P/S]; Del Sant 2020 [S]). Before dosing it holds the
    -- checklist (a prescriber may override with a reason); after dosing it alerts,
    -- and before leaving it holds the discharge.
    v.param "sbp_alert" {
      prescribed = true,
      title = "Marked hypertension: systolic at or above", default = 180, unit = "mm[Hg]", range = { 140, 220 },
      source = "docs/clinical/vitals-limits.md: marked hypertension (esketamine label data; Del Sant 2020)",
    },
    v.param "dbp_alert" {
      prescribed = true,
      title = "Marked hypertension: diastolic at or above", default = 110, unit = "mm[Hg]", range = { 90, 140 },
      source = "docs/clinical/vitals-limits.md: marked hypertension (esketamine label data; Del Sant 2020)",
    },
    -- Source: docs/clinical/vitals-limits.md, "Rise from baseline": >= 40 systolic / >= 25
    -- diastolic from baseline (esketamine label data [P/S]; Del Sant 2020 [S]).
    v.param "sbp_rise" {
      prescribed = true,
      title = "Rise from the pre-dose reading: systolic at least", default = 40, unit = "mm[Hg]", range = { 10, 80 },
      source = "docs/clinical/vitals-limits.md: rise >= 40 systolic (esketamine label data)",
    },
    v.param "dbp_rise" {
      prescribed = true,
      title = "Rise from the pre-dose reading: diastolic at least", default = 25, unit = "mm[Hg]", range = { 10, 60 },
      source = "docs/clinical/vitals-limits.md: rise >= 25 diastolic (esketamine label data)",
    },

    -- Low blood pressure and a slow heart rate (docs/safety.md Q4) ----------------
    -- Source: docs/clinical/vitals-limits.md, "Low blood pressure": NEWS2 systolic <= 90 mmHg
    -- scores 3 [P]. Alert at or below 90; before dosing and before leaving it holds.
    v.param "sbp_low" {
      prescribed = true, less_than = "sbp_caution",
      title = "Low blood pressure: systolic at or below", default = 90, unit = "mm[Hg]", range = { 70, 110 },
      source = "docs/clinical/vitals-limits.md: NEWS2 systolic <= 90 scores 3",
    },
    -- Source: docs/clinical/vitals-limits.md, "Bradycardia": NEWS2 pulse <= 40 /min scores 3 [P]
    -- (as ketamine_iv). Alert at or below 40; before dosing and before leaving it holds.
    v.param "hr_min" {
      prescribed = true, less_than = "hr_max",
      title = "Slow heart rate: at or below", default = 40, unit = "/min", range = { 30, 60 },
      source = "docs/clinical/vitals-limits.md: NEWS2 pulse <= 40 scores 3",
    },
    -- Source: docs/clinical/vitals-limits.md, "Tachycardia": NEWS2 pulse >= 131 /min scores 3 [P]
    -- (the band NEWS2 scores highest, as hr_min's). Alert above 130 on the BP before leaving
    -- (hr_high), which voids the prescriber's "yes" given before it (docs/safety.md AS4).
    v.param "hr_max" {
      prescribed = true,
      title = "Fast heart rate before leaving: above", default = 130, unit = "/min", range = { 90, 180 },
      source = "docs/clinical/vitals-limits.md: NEWS2 pulse >= 131 scores 3",
    },

    -- Source: docs/clinical/vitals-limits.md, "Pre-dose vitals of now": the label assesses BP
    -- before dosing [P]; no source says how old that reading may be: 30 minutes is clinic
    -- convention (ours), UNCONFIRMED. Older than it, the dose waits for a repeat (docs/safety.md
    -- AN13: a BP 3 hours old, then the dose).
    v.param "predose_vitals_max_age_min" {
      prescribed = true,
      title = "Dosing: the pre-dose vitals taken within", default = 30, unit = "min", range = { 10, 120 },
      source = "docs/clinical/vitals-limits.md: BP before dosing (label); 30 min is clinic convention (UNCONFIRMED)",
    },

    -- Respiratory depression ----------------------------------------------------
    -- Source: docs/clinical/vitals-limits.md: NEWS2 SpO2 scale 1 <= 91% scores 3 [P]; Aldrete
    -- SpO2 "> 92% on room air" scores 2 [P/S]. Alert below 92%.
    v.param "spo2_min" {
      prescribed = true,
      title = "Respiratory depression: SpO2 below", default = 92, unit = "%", range = { 85, 96 },
      source = "docs/clinical/vitals-limits.md: NEWS2 SpO2 scale 1 (<= 91 scores 3); Aldrete SpO2 band",
    },
    -- Source: docs/clinical/vitals-limits.md: NEWS2 9-11 /min scores 1, <= 8 scores 3 [P].
    -- Alerting below 10 is a deliberately early choice inside the 9-11 band (the
    -- same choice as ketamine_iv); clinic to review.
    v.param "rr_min" {
      prescribed = true, less_than = "rr_max",
      title = "Respiratory depression: respiratory rate below", default = 10, unit = "/min", range = { 6, 12 },
      source = "docs/clinical/vitals-limits.md: NEWS2 bands (9-11 scores 1, <= 8 scores 3); 10 is a clinic choice",
    },
    -- Source: docs/clinical/vitals-limits.md, "Fast breathing": NEWS2 25 /min or more scores 3 [P]
    -- (21-24 scores 2); the same as ketamine_iv (docs/safety.md U3).
    v.param "rr_max" {
      prescribed = true,
      title = "Fast breathing: respiratory rate at or above", default = 25, unit = "/min", range = { 21, 40 },
      source = "docs/clinical/vitals-limits.md: NEWS2 respiration >= 25 scores 3",
    },

    -- Sedation --------------------------------------------------------------------
    -- Source: docs/clinical/sedation-dissociation-scales.md: MOAA/S 5 (alert) .. 0 (none);
    -- "sedation practice" (ASA moderate sedation 2018) [S]. 2 = responds only to
    -- prodding or shaking. The cut-off is a clinic choice on that scale.
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

    -- Monitoring ------------------------------------------------------------------
    -- Source: docs/clinical/esketamine-rems.md: "Monitor at least 2 h after dosing" [P].
    -- The monitoring phase's literal minimum is 2 hours, the REMS floor; a clinic
    -- can raise it per visit here, never lower it.
    v.param "monitoring_minutes" {
      prescribed = true,
      title = "Minimum monitoring after dosing", default = 120, unit = "min", range = { 120, 360 },
      source = "docs/clinical/esketamine-rems.md: Spravato label, monitor at least 2 h after dosing",
    },
    -- Source: docs/clinical/discharge-criteria.md, "Vitals at discharge no older than": the
    -- label monitors until respiratory depression has resolved [P], sedation practice every 5-15
    -- minutes until fit for discharge (ASA 2018) [S]; 20 is the monitoring's 15-minute cadence and
    -- its 5 minutes' grace: clinic convention (ours), as ketamine_iv (docs/safety.md U2). The BP
    -- before leaving too (AN16: one 27 minutes old went), as ketamine_iv's last vitals.
    v.param "discharge_vitals_max_age_min" {
      prescribed = true,
      title = "Leaving: the BP before leaving and the last breathing reading taken within", default = 20, unit = "min", range = { 5, 60 },
      source = "docs/clinical/discharge-criteria.md: ASA 2018 every 5-15 min until fit for discharge; "
               .. "20 = the 15-min cadence and its grace (clinic convention)",
    },
  },

  -- The treatment course: Spravato prescribing information (Janssen), section 2
  -- (dosage for treatment-resistant depression). Each number and its source:
  -- docs/clinical/course.md, "Esketamine (Spravato)".
  course = v.course {
    -- Induction, weeks 1-4: twice a week, 8 sessions [P: label section 2].
    sessions = 8, within = "28d", interval = "4d",
    -- UNCONFIRMED: clinic default, review (the label gives no minimum interval).
    min_interval = "1d",
    -- The devices administered are the dose given: from then the session counts
    -- for the minimum interval, even if its visit is aborted (docs/safety.md M1).
    dose_given = "dosing.devices_administered",
    -- The dose and its lot are recorded before the devices: once the visit has left
    -- the dosing phase with them recorded (its gate overridden with the devices
    -- unrecorded), the dose was given (docs/safety.md AG2).
    dose_recorded = { "dosing.dose", "dosing.lot_number" },
    -- UNCONFIRMED: clinic default, review.
    grace = "2d",
    -- Maintenance, weeks 5-8: once a week (4 sessions); week 9 on: every 2 weeks or
    -- once a week, individualised: due at most 2 weeks apart [P: label section 2].
    maintenance = { interval = "7d", sessions = 4, max_interval = "14d" },
    -- The REMS Patient Monitoring Form of each session is due within 7 days of it
    -- [REMS, held from a secondary summary]; the course alert comes on day 5
    -- (UNCONFIRMED: clinic default, review): docs/clinical/course.md, "REMS form".
    rems_form = { due = "7d", alert = "5d" },
  },

  phases = {
    require "predose",
    require "dosing",
    require "monitoring",
    require "discharge",
  },

  on = {
    -- A note in the record for every overdue check, with when it happened: the
    -- REMS form reports the monitoring, so gaps in it must show.
    overdue = function(item, visit)
      return v.note(string.format("Check '%s' overdue in phase %s, %d minutes into the session.", tostring(item),
                                  tostring(visit.phase()), math.floor(visit.elapsed() / 60000)))
    end,
  },
}
