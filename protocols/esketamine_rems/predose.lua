-- predose.lua: before dosing. Consent, contraindications, suicidal thoughts
-- (PHQ-9 item 9, and the prescriber's assessment when positive), co-medications (a
-- REMS form question), a ride home confirmed, the prescriber and a pulse oximeter
-- on site, pre-dose vitals with the 140/90 guide, and the prescriber's judgement
-- that the vitals are acceptable for dosing (another REMS form question).
--
-- Rule ids: self_harm (carried high alert until the prescriber's suicide-risk
-- assessment; block on a high outcome); ci_vascular, ci_hypersensitivity, pregnancy (blocks); substance_use
-- (low alert); comed_benzodiazepine, comed_hypnotic (low alert "comed_sedating"),
-- comed_psychostimulant, comed_maoi (low alert "comed_bp"); bp_hold (block and medium alert: AN12);
-- bp_caution (low alert); baseline_amended (medium carried alert: U6); bp_low, hr_low, spo2_low,
-- rr_low (high alert and block: low pre-dose vitals); consent_withdrawn, prescriber_absent, oximeter_absent,
-- vitals_not_acceptable, ride_withdrawn (an answer dosing rests on, false or "no": block
-- before the dose; carried alert after it, high for consent).

local v = require "vigil"
local lib = require "lib"

local fmt = string.format

-- A yes/no contraindication: "yes" holds the checklist until a prescriber reviews
-- it and overrides the gate with a reason.
-- Source: docs/clinical/screening.md, "Contraindications": Spravato label [P] (conditions
-- where a BP rise is hazardous; hypersensitivity); ACEP 2011 [S].
local function contraindication(id, title)
  return v.choice(id) {
    title = title,
    options = { "no", "yes" },
    skippable = false,
    rule = function(x)
      if x == "yes" then
        return v.block(fmt("Contraindication: %s. Do not dose without the prescriber's review (override with a "
                           .. "reason).", title))
      end
    end,
  }
end

-- A co-medication the REMS Patient Monitoring Form asks about. `effect` is why
-- it matters, for the alert.
-- Source: docs/clinical/esketamine-rems.md, Patient Monitoring Form: "sedating and
-- BP-affecting co-medications (benzodiazepines, non-benzodiazepine hypnotics,
-- psychostimulants, MAOIs)" [S reproducing P].
local function comedication(id, title, alert_id, effect)
  return v.choice(id) {
    title = "Takes " .. title,
    options = { "no", "yes" },
    skippable = false,
    rule = function(x)
      if x == "yes" then
        return v.alert.low(fmt("Patient takes %s: %s. Tell the prescriber before dosing.", title, effect),
                           { id = alert_id, value = title })
      end
    end,
  }
end

-- Whether the dose is given: the devices administered (the course's dose_given), for the
-- rules on the answers dosing rests on (AN10, lib.stopping_rule).
local function dosed(visit) return visit.value("dosing.devices_administered") == true end

return v.phase "predose" {
  title = "Before dosing",
  help = "Complete before the first device. A contraindication or a blood pressure at the hold limit stops the "
         .. "checklist until the prescriber reviews it. The ride home is confirmed before dosing.",
  items = {
    -- What dosing rests on cannot be skipped (skippable = false, docs/safety.md H13,
    -- as in ketamine_iv): each answer is recorded, or the prescriber overrides the
    -- gate with a reason. A skip with a reason let a nurse dose with none of them.
    v.check "consent" { title = "Informed consent for today's treatment session", skippable = false },

    contraindication("ci_vascular", "aneurysmal vascular disease, arteriovenous malformation or prior intracerebral "
                                    .. "haemorrhage"),
    contraindication("ci_hypersensitivity", "hypersensitivity to esketamine or ketamine"),

    -- Source: docs/clinical/screening.md, "Contraindications" (pregnancy, breastfeeding).
    v.choice "pregnancy" {
      title = "Pregnancy or breastfeeding",
      options = { "neither", "pregnant", "breastfeeding", "not applicable" },
      skippable = false,
      rule = function(x)
        if x == "pregnant" or x == "breastfeeding" then
          return v.block(fmt("Patient is %s: do not dose without the prescriber's review (override with a reason).",
                             x))
        end
      end,
    },

    -- Source: docs/clinical/screening.md, "Substance use": Spravato label [P].
    v.choice "substance_use" {
      title = "History of substance use disorder, including alcohol",
      options = { "no", "yes" },
      skippable = false,
      rule = function(x)
        if x == "yes" then
          return v.alert.low("History of substance use disorder: needs careful evaluation before dosing (Spravato "
                             .. "label).", { id = "substance_use", value = x })
        end
      end,
    },

    -- Suicidal thoughts before every dose. Source: docs/clinical/esketamine-rems.md,
    -- "Suicidal thoughts and behaviours": SPRAVATO's boxed warning [P]; the question is
    -- PHQ-9 item 9 and a positive answer is followed up as in docs/clinical/phq9.md,
    -- "Item 9" (docs/safety.md H4, M8). A clinic whose pathway uses another screen
    -- (the C-SSRS screener) replaces this item and keeps the hold.
    v.choice "self_harm_thoughts" {
      title = "Thoughts of being better off dead or of hurting yourself, last 2 weeks (PHQ-9 item 9)",
      help = "The patient's answer: 0 not at all; 1 several days; 2 more than half the days; 3 nearly every day.",
      options = { "0", "1", "2", "3" },
      skippable = false,
    },
    -- Any answer above 0: the prescriber (a signature: a nurse cannot record it)
    -- assesses the suicide risk and records the outcome before dosing; until then the
    -- checklist holds, and "high" holds whatever the answer says later (as ketamine_iv).
    v.signature "suicide_risk" {
      title = "Suicide-risk assessment by the prescriber (PHQ-9 item 9 above 0)",
      of = "self_harm_thoughts",
      options = { "low: proceed", "moderate: proceed with a safety plan", "high: do not dose today" },
      when = function(visit)
        local x = tonumber(visit.value("self_harm_thoughts"))
        return x ~= nil and x > 0
      end,
      meaning = "suicide risk assessed by the prescriber after a positive PHQ-9 item 9",
    },

    comedication("comed_benzodiazepine", "benzodiazepines", "comed_sedating", "they can deepen sedation"),
    comedication("comed_hypnotic", "non-benzodiazepine hypnotics", "comed_sedating", "they can deepen sedation"),
    comedication("comed_psychostimulant", "psychostimulants", "comed_bp", "they can raise blood pressure"),
    comedication("comed_maoi", "monoamine oxidase inhibitors (MAOIs)", "comed_bp", "they can raise blood pressure"),

    -- Source: docs/clinical/esketamine-rems.md: "No driving until the next day after
    -- restful sleep; confirm a ride before dosing" [P][S].
    v.check "ride_confirmed" {
      title = "Ride home confirmed (the patient will not drive until the next day, after restful sleep)",
      skippable = false,
    },
    -- Source: docs/clinical/esketamine-rems.md: "prescriber and pulse oximeter on site" [P].
    v.check "prescriber_on_site" { title = "Prescriber on site for the session", skippable = false },
    v.check "pulse_oximeter" { title = "Pulse oximeter on the patient and working", skippable = false },

    -- Source: docs/clinical/esketamine-rems.md: "BP before dosing" [P].
    v.vitals "predose_vitals" {
      title = "Vitals before dosing",
      help = "Seated, after 5 minutes' rest. If high, rest and repeat: the latest reading counts.",
      fields = { "sbp", "dbp", "hr", "spo2", "rr" },
      skippable = false,
    },
    -- Source: docs/clinical/esketamine-rems.md, Patient Monitoring Form: "vitals
    -- acceptable before dosing (yes/no)" [S reproducing P]. The prescriber's call.
    v.choice "predose_acceptable" {
      title = "Vitals acceptable for dosing (prescriber's judgement)",
      options = { "yes", "no" },
      skippable = false,
    },
    -- Source: docs/clinical/esketamine-rems.md: pre-dose BP above about 140/90, the prescriber
    -- weighs risk against benefit [S] (rule bp_caution). That judgement is the prescriber's
    -- signature on the reading (docs/safety.md AG7: a nurse typed "acceptable" with 178/104 and
    -- dosed): a nurse cannot sign, and a repeat reading voids it. Under the guide, or at the
    -- 180/110 hold (the prescriber's override), it is not asked. It attests the answer too
    -- (AN2: a nurse amended the prescriber's "no" to "yes" and dosed): a change of the answer
    -- voids it. It is the prescriber's own judgement, not a double-check (AN3: the prescriber
    -- who took the BP could never sign): second_person = false.
    v.signature "bp_caution_review" {
      title = "Prescriber's review of a pre-dose BP above the guide",
      of = "predose_vitals",
      items = { "predose_acceptable" },
      second_person = false,
      when = function(visit)
        local x = visit.value("predose_vitals")
        return x ~= nil and lib.above_guide(x, visit)
      end,
      meaning = "pre-dose BP above the guide reviewed by the prescriber: risk weighed against benefit, dose",
    },
  },

  -- The pre-dose vitals' holds and alerts (bp_hold, bp_low, hr_low, spo2_low, rr_low, bp_caution,
  -- baseline_amended: lib.with_predose_vitals_rules, after these), the same on dosing's repeat
  -- reading (AN13).
  rules = lib.with_predose_vitals_rules("predose_vitals", {
    -- A positive item 9 raises a high alert that is carried: it does not close when
    -- the session moves on, only when the assessment is recorded or a clinician
    -- acknowledges it with a reason (docs/safety.md H4). A "high" outcome holds. The
    -- alert's value is the answer: a higher answer after an acknowledgement is
    -- announced again (H1).
    v.rule "self_harm" {
      on = { "self_harm_thoughts", "suicide_risk" },
      carry = true,
      priority = "high", worse = "higher",
      check = function(_, visit)
        local answer, assessed = tonumber(visit.value("self_harm_thoughts")), visit.value("suicide_risk")
        if assessed == "high: do not dose today" then
          return v.block("Suicide-risk assessment: high. Do not dose today.")
        end
        if answer == nil or answer == 0 then return nil end
        if assessed == nil then
          return v.alert.high(fmt("PHQ-9 item 9 answered %g (thoughts of death or self-harm): the prescriber "
                                  .. "assesses the suicide risk before dosing.", answer),
                              { id = "self_harm_thoughts", latching = false, value = answer })
        end
      end,
    },
    -- The REMS form's "vitals acceptable before dosing" says yes only about vitals
    -- that were taken: a yes with no pre-dose vitals holds until they are recorded
    -- (an override past it is the prescriber's, with a reason).
    v.rule "acceptable_without_vitals" {
      on = { "predose_acceptable", "predose_vitals" },
      check = function(_, visit)
        if visit.value("predose_acceptable") == "yes" and visit.value("predose_vitals") == nil then
          return v.block("Vitals judged acceptable for dosing, but no pre-dose vitals are recorded: record them "
                         .. "(blood pressure first).")
        end
      end,
    },
    -- The answers the gate needs before dosing, read again whenever they change (docs/safety.md
    -- AN10: consent, the prescriber on site and the oximeter amended false in Dosing, and the
    -- prescriber's later "no", held nothing; a review signed after her "no" let the dose go).
    -- In this phase the gate reads them. Past it, before the devices: a hold of the phase and
    -- of the dose (lib.stopping_rule), lifted by the answer taken back (an amendment). After
    -- the devices: a carried alert for the clinician (high for consent).
    -- Sources: docs/clinical/esketamine-rems.md (prescriber and pulse oximeter on site [P];
    -- vitals acceptable before dosing, the form's question [S reproducing P]; a ride confirmed
    -- before dosing [P][S]).
    lib.stopping_rule {
      item = "consent", id = "consent_withdrawn", phase = "predose", dosed = dosed, urgent = true,
      what = "Informed consent not given or withdrawn", before = "the dose waits for consent given again",
      after = "a clinician speaks with the patient now and decides what follows",
    },
    lib.stopping_rule {
      item = "prescriber_on_site", id = "prescriber_absent", phase = "predose", dosed = dosed,
      what = "Prescriber not on site", before = "the dose waits until the prescriber is on site (REMS)",
      after = "the monitoring needs a prescriber on site (REMS): tell the prescriber",
    },
    lib.stopping_rule {
      item = "pulse_oximeter", id = "oximeter_absent", phase = "predose", dosed = dosed,
      what = "No working pulse oximeter on the patient",
      before = "the dose waits until one is on the patient and working (REMS)",
      after = "put a working one on the patient and tell the prescriber",
    },
    lib.stopping_rule {
      item = "predose_acceptable", id = "vitals_not_acceptable", phase = "predose", dosed = dosed,
      what = "Vitals judged not acceptable for dosing",
      before = "the dose waits for the prescriber's yes (an amendment), whatever was signed before",
      after = "the REMS form will say no beside a time of dosing: the prescriber reviews the patient",
    },
    lib.stopping_rule {
      item = "ride_confirmed", id = "ride_withdrawn", phase = "predose", dosed = dosed,
      what = "No ride home confirmed", before = "the dose waits until a ride home is confirmed",
      after = "the patient must not drive today: arrange a ride before discharge and tell the prescriber",
    },
  }),

  gate = function(visit)
    local missing = {}
    if visit.value("consent") ~= true then missing[#missing + 1] = "informed consent not confirmed" end
    if visit.value("ride_confirmed") ~= true then missing[#missing + 1] = "no ride home confirmed" end
    if visit.value("prescriber_on_site") ~= true then missing[#missing + 1] = "prescriber not confirmed on site" end
    if visit.value("pulse_oximeter") ~= true then missing[#missing + 1] = "pulse oximeter not confirmed" end
    if visit.value("predose_acceptable") == "no" then
      missing[#missing + 1] = "vitals judged not acceptable for dosing"
    end
    if #missing > 0 then return false, table.concat(missing, "; ") end
    return true
  end,
}
