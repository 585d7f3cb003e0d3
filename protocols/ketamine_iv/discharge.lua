-- discharge.lua: fit to leave. Modified Aldrete score, a responsible adult present,
-- no-driving advice and written instructions. Leaving this phase discharges the
-- visit; the gate lists everything still missing.
--
-- The decision is the gate's (param aldrete_min, and the last vitals within sbp_low, hr_min,
-- hr_max, rr_min and rr_max: docs/safety.md Q4, U3, their systolic within bp_recovery_pct of the
-- baseline: AL2, and diastolic within dbp_recovery_pct: AN15, taken within discharge_vitals_max_age_min: U2); one rule, aldrete_restates,
-- checks the points that restate a measurement against the last vitals (docs/safety.md, H12;
-- circulation against the baseline too: AL2).
--
-- A repeat reading taken now (item vitals, not scheduled, not required: docs/safety.md T6)
-- runs the observation's limit rules under the same names, so a calm one resolves a late
-- low reading of the observation that holds the discharge (S2) without back-dating, and a
-- low one alerts as in the observation. It is the last vitals the gate and
-- aldrete_restates read.

local v = require "vigil"
local scores = require "vigil.scores"
local lib = require "lib"

local fmt = string.format

return v.phase "discharge" {
  title = "Discharge",
  help = "Score the modified Aldrete, confirm the responsible adult is here and give the instructions. If the score "
         .. "is too low, keep observing and score again.",
  items = {
    -- Modified Aldrete (Aldrete 1995), five items 0, 1 or 2, total 0-10, each
    -- point shown with its meaning. Source: docs/clinical/discharge-criteria.md,
    -- modified Aldrete [P/S] (circulation in the % variant).
    -- Source: docs/clinical/discharge-criteria.md, "A repeat reading at discharge" (docs/safety.md T6).
    v.vitals "vitals" {
      title = "Vitals now (a repeat reading before leaving)",
      help = "Take the vitals again now if a reading is in doubt, or the clinician asks: it is the last vitals "
             .. "the discharge checks, and the same limits alert.",
      fields = { "sbp", "dbp", "hr", "spo2", "rr" },
      required = false,
    },
    v.score "aldrete" {
      title = "Modified Aldrete score",
      help = "Score each item as observed now; circulation compares systolic BP with the baseline.",
      fields = scores.aldrete_fields,
    },
    -- Source: docs/clinical/discharge-criteria.md: released to a responsible adult; written
    -- instructions; no driving for 24 h (clinic practice [W]; RCEM procedural
    -- sedation [S]); Spravato: no driving until the next day after restful sleep [P][S].
    v.check "responsible_adult" { title = "Responsible adult present to take the patient home" },
    v.check "no_driving_advice" { title = "Told not to drive or operate machinery for 24 hours" },
    v.check "written_instructions" { title = "Written discharge instructions given" },
  },

  -- The observation's limit rules (observation.lua), the same names and checks, on the
  -- repeat reading: the same name is what lets a calm one here resolve the observation's
  -- alert a late reading raised (docs/safety.md S2, T6). bp_high and hr_high name the
  -- readings they compare with (the one before the first here is the observation's last);
  -- the others read the reading alone (lib.with_limit_rules; sources: their params in protocol.lua).
  rules = lib.with_limit_rules("vitals", {
    v.rule "bp_high" {
      on = "vitals",
      priority = "high", worse = lib.worse.bp,
      check = function(x, visit)
        return lib.bp_high(x, visit.observed_at("discharge.vitals"),
                           lib.earlier_readings(visit, { "discharge.vitals", "observation.vitals" }), visit)
      end,
    },
    v.rule "hr_high" {
      on = "vitals",
      priority = "medium", worse = lib.worse.hr,
      check = function(x, visit)
        local max = visit.param("hr_max")
        local sustained = visit.held("discharge.vitals", function(r) return r.hr > max end, "5m")
        return lib.hr_high(x, sustained, visit)
      end,
    },

    -- Aldrete's SpO2 and respiration restate measurements: points the last vitals
    -- contradict (SpO2 2 after a reading of 80%) are a high alert, which holds the
    -- discharge (an open high alert holds every phase) until the score is amended or
    -- a clinician overrides (mapping: lib.aldrete_restates).
    -- It runs on a repeat reading too (docs/safety.md U2, U9): the score is checked against
    -- the vitals taken now, and a calm repeat ends a contradiction an older reading made.
    v.rule "aldrete_restates" {
      on = { "aldrete", "vitals" },
      priority = "high", worse = false, -- it holds the discharge until the score is amended
      check = function(_, visit)
        local score = visit.value("aldrete")
        if score == nil then return nil end
        local why = lib.aldrete_contradictions(score, lib.last_vitals(visit), visit)
        if why == nil then return nil end
        why = fmt("Modified Aldrete contradicts the last vitals: %s. Score what you observe, or amend.", why)
        return v.alert.high(why, { id = "aldrete_restates", latching = false })
      end,
    },
  }),

  -- Source: docs/clinical/discharge-criteria.md: modified Aldrete >= 9 fit to leave phase I
  -- recovery (param aldrete_min); "Ride home and no driving" for the three checks.
  gate = function(visit)
    local missing = {}
    local score = visit.value("aldrete")
    local min = visit.param("aldrete_min")
    if score == nil then
      missing[#missing + 1] = "modified Aldrete score not recorded"
    elseif score.total < min then
      missing[#missing + 1] = fmt("modified Aldrete %g, needs %g or more", score.total, min)
    end
    -- Source: docs/clinical/vitals-limits.md, "Low blood pressure", "Bradycardia", "Tachycardia",
    -- "Slow breathing" and "Fast breathing" (params sbp_low, hr_min, hr_max, rr_min, rr_max): the
    -- last vitals past any hold the discharge (docs/safety.md Q4, U3) until a repeat within the
    -- limits or a clinician's override.
    local last, observed = lib.last_vitals(visit)
    local out = lib.out_of_range_at_discharge(last, visit)
    if out then
      missing[#missing + 1] = fmt("last vitals %s: record vitals within the limits, or a clinician overrides", out)
    end
    -- Source: docs/clinical/discharge-criteria.md, "BP back near baseline" (param bp_recovery_pct):
    -- the observation's check, on the last vitals (docs/safety.md AL2: a repeat of 200/120 or 94/55
    -- after a baseline of 128/80 went home on acknowledged medium alerts, or none).
    -- The diastolic too (param dbp_recovery_pct; AN15: 130/105 after 120/75 went home).
    local part, far = lib.bp_not_recovered(last, visit)
    if far then
      missing[#missing + 1] = fmt("last vitals %s %s: record vitals back near the baseline, or a clinician "
                                  .. "overrides", part:lower(), far)
    end
    -- The baseline the check above judges from, its BP changed after the dose by someone who is
    -- not a clinician, holds until a clinician confirms it (docs/safety.md U6, AQ2: a nurse's 130/100 for
    -- 128/80 lifted AN15's hold; AW1, AW2: a later entry, a second amendment; lib.baseline_changed).
    local _, changed = lib.baseline_changed(visit)
    if changed then missing[#missing + 1] = changed end
    -- Source: docs/clinical/discharge-criteria.md, "Vitals at discharge no older than" (param
    -- discharge_vitals_max_age_min; docs/safety.md U2): the checks above and the Aldrete's read
    -- the last vitals, so they must be of now, not of the observation's first minute.
    local max_age = visit.param("discharge_vitals_max_age_min")
    if last == nil then
      missing[#missing + 1] = "no vitals recorded after the dose: take the vitals now"
    elseif visit.now() - observed > max_age * 60000 then
      missing[#missing + 1] = fmt("last vitals %d minutes old (needs within %g): take the vitals now",
                                  lib.minutes(visit.now() - observed), max_age)
    end
    if visit.value("responsible_adult") ~= true then
      missing[#missing + 1] = "no responsible adult present"
    end
    if visit.value("no_driving_advice") ~= true then
      missing[#missing + 1] = "no-driving advice not given"
    end
    if visit.value("written_instructions") ~= true then
      missing[#missing + 1] = "written instructions not given"
    end
    if #missing > 0 then return false, table.concat(missing, "; ") end
    return true
  end,
}
