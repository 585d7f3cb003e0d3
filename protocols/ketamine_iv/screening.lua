-- screening.lua: before dosing. Consent, contraindications, pregnancy, substance
-- use, a confirmed ride home, baseline vitals (with a hold for marked
-- hypertension), the weight-based dose with a second person's check, and PHQ-9.
--
-- Rule ids: ci_hypertension, ci_vascular, ci_psychosis, ci_hypersensitivity,
-- pregnancy (blocks); substance_use (low alert); bp_hold (block, medium or high alert: AN12); bp_caution (low
-- alert); bp_low, hr_low, spo2_low, rr_low (high alert and block: low pre-dose vitals); dose_calc (medium alert "dose_calc" + block); phq9 (note); self_harm (carried
-- high alert "phq9_item9" until the suicide-risk assessment; block on a high outcome);
-- consent_withdrawn, ride_withdrawn (an answer the infusion rests on, false: block before
-- the start; carried alert after it, high for consent).

local v = require "vigil"
local scores = require "vigil.scores"
local lib = require "lib"

local fmt = string.format

-- A yes/no contraindication. "yes" blocks leaving screening: the infusion should
-- not start unless a clinician reviews it and overrides the gate with a reason.
-- Source: docs/clinical/screening.md, "Contraindications": ketamine label; Spravato
-- label [P]; ACEP 2011 [S].
local function contraindication(id, title)
  return v.choice(id) {
    title = title,
    options = { "no", "yes" },
    skippable = false,
    rule = function(x)
      if x == "yes" then
        return v.block(fmt("Contraindication: %s. Do not start without a clinician's review (override with a reason).",
                           title))
      end
    end,
  }
end

-- Whether the dose is given: the infusion started or its dose given recorded (the course's
-- dose_given), for the rules on the answers the infusion rests on (AN10, lib.stopping_rule).
local function started(visit)
  return visit.value("infusion.infusion_started") == true or visit.value("infusion.dose_given") ~= nil
end

-- PHQ-9: nine items 0-3, its severity bands and the item 9 flag come from the
-- scoring library. Source: docs/clinical/phq9.md.
local PHQ9 = scores.phq9_fields

return v.phase "screening" {
  title = "Screening before dosing",
  help = "Complete before the infusion starts. A contraindication, a blood pressure above the hold limit or a dose "
         .. "that does not match the weight stops the checklist until it is resolved or a clinician overrides.",
  items = {
    -- What dosing rests on cannot be skipped (skippable = false, docs/safety.md H13):
    -- it is answered, or a clinician overrides the gate with a reason.
    v.check "consent" { title = "Informed consent for today's infusion signed", skippable = false },

    contraindication("ci_hypertension", "uncontrolled hypertension"),
    contraindication("ci_vascular", "aneurysmal vascular disease, arteriovenous malformation or prior intracerebral "
                                    .. "haemorrhage"),
    contraindication("ci_psychosis", "psychosis or schizophrenia"),
    contraindication("ci_hypersensitivity", "hypersensitivity to ketamine"),

    -- Source: docs/clinical/screening.md, "Contraindications" (pregnancy, breastfeeding).
    v.choice "pregnancy" {
      title = "Pregnancy or breastfeeding",
      options = { "neither", "pregnant", "breastfeeding", "not applicable" },
      skippable = false,
      rule = function(x)
        if x == "pregnant" or x == "breastfeeding" then
          return v.block(fmt("Patient is %s: do not start without a clinician's review (override with a reason).", x))
        end
      end,
    },

    -- Source: docs/clinical/screening.md, "Substance use": Spravato label [P]; baseline
    -- urine toxicology if suspected (Sanacora summary [W]).
    v.choice "substance_use" {
      title = "History of substance use disorder, including alcohol",
      options = { "no", "yes" },
      skippable = false,
      rule = function(x)
        if x == "yes" then
          return {
            v.alert.low("History of substance use disorder: needs careful evaluation before dosing (Spravato "
                        .. "label); consider baseline urine toxicology.", { id = "substance_use", value = x }),
            v.note("Substance use history reported at screening."),
          }
        end
      end,
    },

    -- Optional: only for clinics that ask patients to fast. No source we hold gives a
    -- fasting figure for IV ketamine (docs/clinical/screening.md), so no rule on it.
    v.number "fasting_hours" {
      title = "Hours since last meal (if your clinic asks patients to fast)",
      unit = "h", range = { 0, 48 }, required = false,
    },

    -- Source: docs/clinical/discharge-criteria.md: Spravato "confirm a ride before
    -- dosing" [P][S]; released to a responsible adult [W]. The gate needs it true.
    v.check "ride_confirmed" {
      title = "A responsible adult will take the patient home (patient will not drive today)",
      skippable = false,
    },

    v.vitals "baseline" {
      title = "Baseline vitals before dosing",
      help = "Seated, after 5 minutes' rest. If above the hold limit, rest and repeat: the latest reading counts.",
      fields = { "sbp", "dbp", "hr", "spo2", "rr" },
      skippable = false,
    },

    -- Weight-based dose (weight and mg/kg are visit parameters).
    v.number "dose" {
      title = "Ketamine dose drawn up",
      help = "Weight x mg/kg for this visit: {weight} kg x {dose_mg_per_kg} mg/kg, over 40 minutes.",
      unit = "mg", range = { 5, 250 }, skippable = false,
    },
    -- The signature records the dose, the weight and the order it attests, with
    -- the calculation the signer sees; a change to any of them voids it
    -- (docs/safety.md, H3).
    v.signature "dose_check" {
      title = "Dose double-checked by a second person",
      of = "dose",
      params = { "weight", "dose_mg_per_kg" },
      calculation = function(visit)
        local weight, per_kg = visit.param("weight"), visit.param("dose_mg_per_kg")
        return fmt("%g kg x %g mg/kg = %g mg; drawn up %g mg", weight, per_kg, weight * per_kg,
                   visit.value("dose"))
      end,
      meaning = "dose double-checked against weight and order",
    },

    v.score "phq9" {
      title = "PHQ-9 (patient's answers, last 2 weeks)",
      help = "Nine items, each 0 (not at all) to 3 (nearly every day). Item 9: thoughts of being better off dead "
             .. "or of self-harm.",
      fields = PHQ9,
      skippable = false,
      rule = function(x)
        local phq9 = scores.phq9(x)
        return v.note(fmt("PHQ-9 total %g: %s.", phq9.total, phq9.band))
      end,
    },

    -- Source: docs/clinical/phq9.md, "Item 9": any non-zero item 9 needs same-day
    -- follow-up regardless of the total. Here the follow-up comes before dosing: a
    -- clinician (a signature: a nurse cannot record it) assesses the suicide risk and
    -- records the outcome; until then the checklist holds (docs/safety.md, H4).
    v.signature "suicide_risk" {
      title = "Suicide-risk assessment by a clinician (PHQ-9 item 9 above 0)",
      of = "phq9",
      options = { "low: proceed", "moderate: proceed with a safety plan", "high: do not dose today" },
      when = function(visit)
        local x = visit.value("phq9")
        return x ~= nil and x.q9 > 0
      end,
      meaning = "suicide risk assessed by a clinician after a positive PHQ-9 item 9",
    },
  },

  rules = {
    -- The answers the gate needs before the infusion, read again whenever they change
    -- (docs/safety.md AN10: consent amended false in the infusion, and the start was 200).
    -- In this phase the gate reads them. Past it, before the start: a hold of the phase and
    -- of the start (lib.stopping_rule), lifted by the answer taken back (an amendment).
    -- After the start: a carried alert for the clinician (high for consent: the infusion may
    -- be running). Source of the ride: docs/clinical/discharge-criteria.md
    -- (a ride confirmed before dosing [P][S]).
    lib.stopping_rule {
      item = "consent", id = "consent_withdrawn", phase = "screening", started = started, urgent = true,
      what = "Informed consent not given or withdrawn", before = "the infusion waits for consent given again",
      after = "a clinician speaks with the patient now and decides whether the infusion goes on",
    },
    lib.stopping_rule {
      item = "ride_confirmed", id = "ride_withdrawn", phase = "screening", started = started,
      what = "No responsible adult to take the patient home", before = "the infusion waits until one is confirmed",
      after = "the patient must not drive today: arrange one before discharge and tell the clinician",
    },
    -- A positive item 9 raises a high alert that is carried: it does not close when
    -- the visit moves on, only when the assessment is recorded or a clinician
    -- acknowledges it with a reason. A "high" outcome holds, whatever item 9 says (K1).
    v.rule "self_harm" {
      on = { "phq9", "suicide_risk" },
      carry = true, worse = "higher", -- a higher item 9 after an acknowledgement is announced again
      check = function(_, visit)
        local x, assessed = visit.value("phq9"), visit.value("suicide_risk")
        if assessed == "high: do not dose today" then
          return v.block("Suicide-risk assessment: high. Do not dose today.")
        end
        if x == nil or x.q9 == 0 then return nil end
        if assessed == nil then
          return v.alert.high(fmt("PHQ-9 item 9 scored %g (thoughts of death or self-harm): a clinician assesses "
                                  .. "the suicide risk before dosing, whatever the total.", x.q9),
                              { id = "phq9_item9", latching = false, value = x.q9 })
        end
      end,
    },

    -- Hold for marked hypertension before dosing.
    -- Source: docs/clinical/vitals-limits.md, "Pre-dose hold": esketamine label data [P/S];
    -- Del Sant 2020 [S] (params sbp_hold, dbp_hold). The hold alerts too (docs/safety.md AN12:
    -- it told nobody): medium, high above the severe limit (lib.predose_bp_hold; V3).
    v.rule "bp_hold" {
      on = "baseline",
      priority = "high", worse = lib.worse.bp,
      check = function(x, visit) return lib.predose_bp_hold(x, "Baseline", visit, "screening.baseline") end,
    },

    -- Low pre-dose vitals (docs/safety.md Q3, Q4): a high alert and a hold before dosing,
    -- each from the limit the infusion alerts at. Sources: see params sbp_low (NEWS2 systolic
    -- <= 90 scores 3), hr_min (pulse <= 40 scores 3), spo2_min (SpO2 <= 91 scores 3) and
    -- rr_min (9-11 scores 1, <= 8 scores 3) in protocol.lua. An amendment of the baseline in
    -- the infusion runs them again: their hold then holds the dose (N7).
    v.rule "bp_low" {
      on = "baseline",
      priority = "high", worse = lib.worse.bp_low,
      check = function(x, visit) return lib.predose_hold("sbp", lib.bp_low(x, visit), x, visit) end,
    },
    v.rule "hr_low" {
      on = "baseline",
      priority = "high", worse = lib.worse.hr_low,
      check = function(x, visit) return lib.predose_hold("hr", lib.hr_low(x, visit), x, visit) end,
    },
    v.rule "spo2_low" {
      on = "baseline",
      priority = "high", worse = lib.worse.spo2,
      check = function(x, visit) return lib.predose_hold("spo2", lib.spo2_low(x, visit), x, visit) end,
    },
    v.rule "rr_low" {
      on = "baseline",
      priority = "high", worse = lib.worse.rr,
      check = function(x, visit) return lib.predose_hold("rr", lib.rr_low(x, visit), x, visit) end,
    },

    -- Pre-dose BP above about 140/90: weigh risk against benefit.
    -- Source: docs/clinical/vitals-limits.md, Spravato pre-dose BP [S] (params sbp_caution, dbp_caution).
    v.rule "bp_caution" {
      on = "baseline",
      priority = "low", worse = lib.worse.bp,
      check = function(x, visit)
        local s, d = visit.param("sbp_caution"), visit.param("dbp_caution")
        local hold = x.sbp >= visit.param("sbp_hold") or x.dbp >= visit.param("dbp_hold")
        if not hold and (x.sbp > s or x.dbp > d) then
          -- After the start (an amendment, a later entry: docs/safety.md AW3) the dose is given.
          local next_step = visit.value("infusion.infusion_started") == true
                            and "recorded after the start: tell the clinician."
                            or "the clinician should weigh risk against benefit before dosing."
          return v.alert.low(fmt("%s: %s", lib.above_words("Baseline BP", x, s, d), next_step),
                             { id = "bp_caution", value = math.max(x.sbp - s, x.dbp - d) })
        end
      end,
    },

    -- The baseline's BP changed after the dose by someone who is not a clinician (docs/safety.md
    -- U6, AQ2: a nurse's 130/100 for 128/80 lifted the BP-recovery hold; a low bp_caution was the
    -- only trace; AW1: a later entry did the same; AW2: a second amendment of the heart rate only
    -- lifted the hold). The discharge holds on it (lib.baseline_changed); this alert says what the
    -- change does: the reading every rise and recovery is judged from, and whether the last
    -- vitals were back near the old one and are near the new one. Medium, carried: it asks a
    -- clinician for a decision on the record, the patient's state is as it was and the
    -- discharge's gate is the hold (a high alert would hold every phase and sound as a
    -- deterioration); only a clinician acknowledges it, with a reason (a clinician's amendment
    -- lifts the discharge's hold; a carried alert is not closed by an amendment that quiets its
    -- rule: docs/safety.md F5). Its id stays baseline_amended, as integrators know it.
    -- Source: docs/clinical/discharge-criteria.md, "BP back near baseline".
    v.rule "baseline_amended" {
      on = "baseline",
      carry = true,
      worse = false, -- one decision per amendment: a clinician's amendment or acknowledgement
      check = function(_, visit)
        local changed = lib.baseline_changed(visit)
        if changed == nil then return nil end
        local base, was_bp, changes = lib.bp(changed.now), "none before the dose", ""
        if changed.previous then
          was_bp = lib.bp(changed.previous)
          local last = lib.last_vitals(visit)
          local was_part, was = lib.bp_not_recovered(last, visit, changed.previous)
          local now_part, now = lib.bp_not_recovered(last, visit, changed.now)
          if was and not now then
            changes = fmt(" The last vitals %s, not back near %s (%s %s), are now taken as recovered.", lib.bp(last),
                          was_bp, was_part:lower(), was)
          elseif now and not was then
            changes = fmt(" The last vitals %s, back near %s, are now held as not recovered (%s %s).", lib.bp(last),
                          was_bp, now_part:lower(), now)
          end
        end
        return v.alert.medium(fmt("Pre-dose BP %s after the dose by %s: %s to %s. Every rise and the BP "
                                  .. "recovery to leave are now judged from %s.%s The discharge holds until a "
                                  .. "clinician confirms it (amends it again) or overrides.",
                                  changed.how, changed.by, was_bp, base, base,
                                  changes),
                              { id = "baseline_amended" })
      end,
    },

    -- Dose = weight x mg/kg, within a tolerance.
    -- Source: docs/clinical/ketamine-dosing.md: 0.5 mg/kg IV over 40 min, Sanacora 2017 [S]
    -- (params weight, dose_mg_per_kg, dose_tolerance_pct).
    v.rule "dose_calc" {
      on = "dose",
      worse = false, -- its block holds while the dose is wrong, whatever the acknowledgement
      check = function(x, visit)
        local weight, per_kg = visit.param("weight"), visit.param("dose_mg_per_kg")
        local expected = weight * per_kg
        local tol = visit.param("dose_tolerance_pct")
        if math.abs(x - expected) > expected * tol / 100 then
          local why = fmt("Dose %g mg differs from %g mg (%g mg/kg x %g kg) by more than %g%%: recheck the "
                          .. "calculation and the order.", x, expected, per_kg, weight, tol)
          return { v.alert.medium(why, { id = "dose_calc" }), v.block(why) }
        end
      end,
    },

    -- A dose that differs from the last session's by more than dose_change_pct:
    -- the clinician confirms the change (docs/clinical/course.md, "Dose change").
    -- Carried: only a clinician acknowledges it, with a reason, and the dose waits
    -- for it (a nurse acknowledged it with no reason: docs/safety.md P9).
    v.rule "dose_change" {
      on = "dose",
      carry = true,
      worse = false, -- the clinician confirms the change once; an amended dose is judged again
      check = function(x, visit)
        local c = visit.course()
        local before = c and c.previous("dose")
        local limit = visit.param("dose_change_pct")
        if before and before > 0 and math.abs(x - before) / before * 100 > limit then
          return v.alert.medium(fmt("Dose %g mg differs from the last session's %g mg by %.0f %% (more than %g %%): "
                                    .. "the clinician confirms the change.", x, before,
                                    math.abs(x - before) / before * 100, limit), { id = "dose_change" })
        end
      end,
    },
  },

  gate = function(visit)
    local missing = {}
    if visit.value("consent") ~= true then
      missing[#missing + 1] = "informed consent not confirmed"
    end
    if visit.value("ride_confirmed") ~= true then
      missing[#missing + 1] = "no responsible adult confirmed to take the patient home"
    end
    if #missing > 0 then return false, table.concat(missing, "; ") end
    return true
  end,
}
