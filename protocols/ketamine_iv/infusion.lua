-- infusion.lua: the 40-minute infusion. The pump's rate, the volume infused and
-- the dose given (the infusion's record); vitals, sedation (MOAA/S) and
-- dissociation every 10 minutes; alerts for marked hypertension (confirmed on a
-- second reading), a rise from baseline, sustained tachycardia, low SpO2, slow
-- breathing and deep sedation.
--
-- Rule ids: bp_high (alert ids "bp_high", "bp_high_unconfirmed"), bp_rise, bp_low, hr_high
-- ("hr_high", "hr_high_unconfirmed"), spo2_low, rr_low, rr_high, sedation_deep
-- ("sedation_deep", "sedation_unresponsive"), dose_given, infusion_time, dissociation_distress;
-- bp_hold (block and alert: a reading before the start at the pre-dose hold, AN13, AP1); before
-- the start bp_low, hr_low, spo2_low and rr_low also hold it, as the baseline's do (AP1).
-- The alert logic and its parameters are in lib.lua and protocol.lua. Each rule
-- declares the highest priority it raises (the priority of its technical alert if
-- it fails: docs/safety.md, H6) and, for vitals, how a reading is worse than the
-- one last announced (lib.worse: docs/safety.md, H1).

local v = require "vigil"
local lib = require "lib"

-- Checkpoint cadence. Durations are literals, not parameters.
-- Source: docs/clinical/monitoring-cadence.md: published cohorts, BP every 10 min during
-- the infusion (Emory, 684 infusions) [S]; sedation practice: ventilation and
-- circulation every 5-15 min (ASA moderate sedation 2018) [S]. Every 10 minutes
-- from the start gives readings at 10, 20, 30 and 40 minutes, covering the BP peak
-- at 30-40 min (Yale 2024 [S]) and the Spravato "BP at about 40 min" reading [P].
local EVERY, GRACE = "10m", "5m"
local OVERDUE = { priority = "medium", escalate = "5m", latching = true }

-- Before the start, the newest reading here is the pre-dose reading of now (docs/safety.md
-- AN13, AP1: SpO2 85, RR 7, HR 35 acknowledged, then infusion_started 200): past a low limit
-- (the params screening's rules of the same names read) it holds the start as the baseline
-- does (lib.predose_hold), whatever the acknowledgement, until a reading within the limits.
-- Once the infusion has started, the alert alone.
local function before_start(field, alert, x, visit)
  if visit.value("infusion_started") == true then return alert end
  return lib.predose_hold(field, alert, x, visit, true)
end

return v.phase "infusion" {
  title = "Infusion ({dose_mg_per_kg} mg/kg over 40 minutes)",
  help = "Vitals, sedation and dissociation every 10 minutes. Record an extra vitals reading whenever an alert asks "
         .. "for a confirmation reading.",
  -- Source: docs/clinical/ketamine-dosing.md: 0.5 mg/kg IV over 40 min, Sanacora 2017 [S].
  duration = { min = "40m" }, missed = "hold", -- missed checkpoints: docs/clinical/monitoring-cadence.md
  -- The 40 minutes and the checkpoints count from the infusion's start, not from entering the
  -- phase (docs/safety.md P7): vitals with no infusion running say nothing of its effects.
  timed_from = "infusion_started",
  items = {
    v.check "infusion_started" { title = "Infusion started (pump running)" },

    -- The infusion's record (issue 19; docs/clinical/ketamine-dosing.md, "The infusion's
    -- record"): what the pump was set to and what it gave, as a paper or EHR infusion chart
    -- keeps it. vigil does not drive the pump; the dose given is checked against the dose
    -- drawn up (rule dose_given below, docs/safety.md T7), the rate and volume are records
    -- only (no source gives a tolerance for them). The start and stop times are infusion_started's and infusion_stopped's observed times. The ranges catch
    -- typing errors only (the dose: the largest weight, 250 kg, at the largest dose_mg_per_kg,
    -- 1.0 mg/kg); required, the rate can be "Not done" with a reason (a pump that failed), the
    -- dose given not (AG1), nor the volume: a course dose_given item (AP2, protocol.lua).
    v.number "pump_rate" {
      title = "Pump rate set",
      help = "As programmed on the pump when the infusion started.",
      unit = "mL/h", range = { 1, 1000 },
    },

    v.vitals "vitals" {
      title = "Vitals",
      fields = { "sbp", "dbp", "hr", "spo2", "rr" },
      every = EVERY, grace = GRACE, overdue = OVERDUE,
    },

    -- MOAA/S: 5 responds readily to name in a normal tone; 4 lethargic response to
    -- name; 3 responds only after name is called loudly or repeatedly; 2 responds
    -- only after mild prodding or shaking; 1 responds only to a painful stimulus;
    -- 0 no response. Source: docs/clinical/sedation-dissociation-scales.md, MOAA/S.
    v.choice "moaas" {
      title = "Sedation (MOAA/S, 5 alert .. 0 no response)",
      help = "5 responds readily to name; 4 lethargic response to name; 3 only to a loud or repeated name; "
             .. "2 only to mild prodding or shaking; 1 only to a painful stimulus; 0 no response.",
      options = { "5", "4", "3", "2", "1", "0" },
      every = EVERY, grace = GRACE, overdue = OVERDUE,
    },

    -- Source: docs/clinical/sedation-dissociation-scales.md, "Dissociation" and "CADSS":
    -- CADSS has no validated cut-off, so this is a nurse's observation.
    v.choice "dissociation" {
      title = "Dissociation (as observed)",
      help = "none; present (tolerated); distressing (the patient is distressed by it).",
      options = { "none", "present", "distressing" },
      every = EVERY, grace = GRACE, overdue = OVERDUE,
    },

    -- The stop, the volume infused and the dose given follow the start: recorded only once
    -- infusion_started is recorded yes (`after`: 409 naming it before, 422 observed before it),
    -- so the record never says the infusion stopped before it started (docs/safety.md AO1, AN17).
    v.check "infusion_stopped" { title = "Infusion finished and pump stopped", after = "infusion_started" },
    v.number "volume_infused" {
      title = "Volume infused",
      help = "The pump's total for this infusion.",
      unit = "mL", range = { 0, 1000 }, after = "infusion_started",
    },
    v.number "dose_given" {
      title = "Ketamine dose given",
      help = "What the patient received: the volume infused at the bag's concentration "
             .. "(drawn up at screening: {weight} kg x {dose_mg_per_kg} mg/kg).",
      unit = "mg", range = { 0, 250 },
      -- Checked against the dose drawn up (rule dose_given): never skipped, a change is an
      -- amendment with a reason (docs/safety.md AG1, U11); a pump that failed is a
      -- clinician's gate override with a reason.
      skippable = false, after = "infusion_started",
    },
  },

  rules = {
    -- Source: docs/clinical/vitals-limits.md (esketamine label data [P/S];
    -- Del Sant 2020 [S]) and one clinic's stop rule [W]: >= 180/110 confirmed on a
    -- second reading, or > 200/120 once (params sbp_alert, dbp_alert, sbp_severe, dbp_severe);
    -- the second reading is the next, or any within bp_confirm_window_min (docs/safety.md AN14).
    v.rule "bp_high" {
      on = "vitals",
      priority = "high", worse = lib.worse.bp,
      check = function(x, visit)
        return lib.bp_high(x, visit.observed_at("infusion.vitals"), lib.earlier_readings(visit, { "infusion.vitals" }),
                           visit)
      end,
    },

    -- Before the start, a reading here is the pre-dose reading of now (AN13), however fresh the
    -- baseline (AP1: 190/115 and 205/125 beside a baseline of minutes had held nothing): held at
    -- screening's hold limit as the baseline is (params sbp_hold, dbp_hold; the alert:
    -- lib.predose_bp_hold, AN12), acknowledged or not, until a reading under it. The start
    -- lifts it: from then bp_high judges the readings.
    v.rule "bp_hold" {
      on = { "vitals", "infusion_started" },
      priority = "high", worse = lib.worse.bp,
      check = function(_, visit)
        local x = visit.value("infusion.vitals")
        if x == nil or visit.value("infusion_started") == true then return nil end
        return lib.predose_bp_hold(x, "Pre-start", visit, "infusion.vitals")
      end,
    },

    -- Source: docs/clinical/vitals-limits.md, "Rise from baseline": >= 40 systolic / >= 25
    -- diastolic from baseline (params sbp_rise, dbp_rise).
    v.rule "bp_rise" {
      on = "vitals",
      priority = "medium", worse = lib.worse.bp,
      check = function(x, visit) return lib.bp_rise(x, visit) end,
    },

    -- Source: docs/clinical/vitals-limits.md, "Tachycardia" [W]: HR > 120 sustained 5 min
    -- (param hr_max; the 5 minutes is the literal below).
    v.rule "hr_high" {
      on = "vitals",
      priority = "medium", worse = lib.worse.hr,
      check = function(x, visit)
        local max = visit.param("hr_max")
        local sustained = visit.held("infusion.vitals", function(r) return r.hr > max end, "5m")
        return lib.hr_high(x, sustained, visit)
      end,
    },

    -- Source: see param sbp_low in protocol.lua (NEWS2: systolic <= 90 scores 3; docs/safety.md Q4).
    -- These four hold the start too, before it (before_start above, AP1).
    v.rule "bp_low" {
      on = "vitals",
      priority = "high", worse = lib.worse.bp_low,
      check = function(x, visit) return before_start("sbp", lib.bp_low(x, visit), x, visit) end,
    },
    -- Source: see param hr_min in protocol.lua (NEWS2: pulse <= 40 scores 3).
    v.rule "hr_low" {
      on = "vitals",
      priority = "high", worse = lib.worse.hr_low,
      check = function(x, visit) return before_start("hr", lib.hr_low(x, visit), x, visit) end,
    },

    -- Source: see params spo2_min and rr_min in protocol.lua.
    v.rule "spo2_low" {
      on = "vitals",
      priority = "high", worse = lib.worse.spo2,
      check = function(x, visit) return before_start("spo2", lib.spo2_low(x, visit), x, visit) end,
    },
    v.rule "rr_low" {
      on = "vitals",
      priority = "high", worse = lib.worse.rr,
      check = function(x, visit) return before_start("rr", lib.rr_low(x, visit), x, visit) end,
    },
    -- Source: see param rr_max in protocol.lua (NEWS2: 25 /min or more scores 3; docs/safety.md U3).
    v.rule "rr_high" {
      on = "vitals",
      priority = "high", worse = lib.worse.rr_high,
      check = function(x, visit) return lib.rr_high(x, visit) end,
    },

    -- Source: see param moaas_alert in protocol.lua.
    v.rule "sedation_deep" {
      on = "moaas",
      priority = "high", worse = lib.worse.moaas,
      check = function(x, visit) return lib.sedation(x, visit) end,
    },

    -- The dose given against the dose drawn up at screening or, with none drawn up (screening
    -- overridden), the prescribed dose, weight x dose_mg_per_kg (docs/safety.md T7, U10), past
    -- dose_given_tolerance_pct. More than drawn up is the harm (a second bag, a wrong
    -- concentration); less (a pump that stopped early) is the same alert, its words saying
    -- which. Carried: a clinician reviews it, with a reason, before the observation; an
    -- amended dose given is judged again. Source: none, a recording check
    -- (docs/clinical/ketamine-dosing.md, "The infusion's record").
    v.rule "dose_given" {
      on = "dose_given",
      priority = "high", carry = true,
      worse = false, -- the clinician reviews the dose given once; an amended one is judged again
      check = function(x, visit)
        local drawn, tol = visit.value("screening.dose"), visit.param("dose_given_tolerance_pct")
        local against
        if type(drawn) == "number" then
          against = string.format("the %g mg drawn up", drawn)
        else
          local weight, per_kg = visit.param("weight"), visit.param("dose_mg_per_kg")
          drawn = weight * per_kg
          against = string.format("the %g mg prescribed (%g kg x %g mg/kg), no dose drawn up,", drawn, weight, per_kg)
        end
        if math.abs(x - drawn) <= drawn * tol / 100 then return nil end
        return v.alert.high(string.format("Dose given %g mg is %s %s by more than %g%%: check the pump, the bag and "
                                          .. "the record; a clinician reviews it before the observation.",
                                          x, x > drawn and "more than" or "less than", against, tol),
                            { id = "dose_given", value = x })
      end,
    },

    -- Source: docs/clinical/ketamine-dosing.md, "Infusion time" (param infusion_min_minutes): the dose
    -- is given over 40 minutes; stopped sooner after its start (the observed times of the two checks,
    -- so a late entry is judged by when it happened), it ran faster than prescribed, a rate set ten
    -- times too high giving the dose as a push (docs/safety.md AL8: 35 mg in 4 minutes at 1000 mL/h).
    -- vigil does not read the pump: the time is what it knows. Carried: a clinician reviews it, with
    -- a reason, before the observation; a start or stop recorded again is judged again.
    v.rule "infusion_time" {
      on = { "infusion_stopped", "infusion_started" },
      priority = "high", carry = true,
      worse = false, -- the clinician reviews the infusion's time once
      check = function(_, visit)
        if visit.value("infusion_stopped") ~= true or visit.value("infusion_started") ~= true then return nil end
        local ran, min = visit.observed_at("infusion_stopped") - visit.observed_at("infusion_started"),
                         visit.param("infusion_min_minutes")
        if ran >= min * 60000 then return nil end
        return v.alert.high(string.format("Infusion stopped %d minutes after it started (at least %g expected): the "
                                          .. "dose ran faster than prescribed. Assess the patient (sedation, BP, "
                                          .. "breathing), check the pump's rate and history; a clinician reviews it "
                                          .. "before the observation.", lib.minutes(ran), min),
                            { id = "infusion_time", value = lib.minutes(ran) })
      end,
    },

    v.rule "dissociation_distress" {
      on = "dissociation",
      priority = "low", worse = false, -- "distressing" is the top of what is observed
      check = function(x, visit) return lib.dissociation(x, visit) end,
    },
  },

  -- The phase also needs the 40 minutes to have passed and every due checkpoint
  -- recorded (the engine checks those). Three readings, not four, so that one
  -- checkpoint skipped with a reason (a cuff failure) does not need an override.

  -- Source: docs/clinical/vitals-limits.md, "Pre-dose vitals of now" (param
  -- predose_vitals_max_age_min): the start (and the pump's settings) waits while the newest
  -- reading before it, the screening's baseline or a vitals reading here, is older than it
  -- (docs/safety.md AN13: a baseline 4 hours old, then infusion_started). The way on is a
  -- vitals reading here, which screening's hold limit judges until the start (rule bp_hold).
  before_dose = function(visit)
    local at = math.max(visit.observed_at("screening.baseline") or 0, visit.observed_at("infusion.vitals") or 0)
    return lib.vitals_before_dose(at, visit)
  end,

  gate = function(visit)
    local missing = {}
    if visit.value("infusion_stopped") ~= true then
      missing[#missing + 1] = "infusion not recorded as finished and pump stopped"
    end
    if not visit.done("infusion.vitals", { count = 3 }) then
      missing[#missing + 1] = string.format("%d of 3 vitals readings recorded", visit.count("infusion.vitals"))
    end
    if #missing > 0 then return false, table.concat(missing, "; ") end
    return true
  end,
}
