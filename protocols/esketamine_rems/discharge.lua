-- discharge.lua: ready to leave. Blood pressure before leaving, the prescriber's
-- judgement that the vitals are acceptable, the REMS form's questions on what
-- occurred during the session, and the ride home present. Leaving this phase
-- ends the session; the gate lists everything still missing.
--
-- Rule ids: leaving_without_vitals, bp_leaving (blocks), sedation_answer, dissociation_answer,
-- respiratory_answer (low alerts when the answer contradicts the records).

local v = require "vigil"
local lib = require "lib"

local fmt = string.format

local YES_NO = { "yes", "no" }

return v.phase "discharge" {
  title = "Ready to leave",
  help = "Blood pressure before leaving, the prescriber's judgement, the three REMS form questions, and the ride home "
         .. "here. No driving until the next day, after restful sleep.",
  items = {
    -- Source: docs/clinical/esketamine-rems.md, Patient Monitoring Form: "BP ... before
    -- leaving"; "vitals acceptable ... before leaving (yes/no)" [S reproducing P].
    -- What the form reports at leaving cannot be skipped (skippable = false;
    -- docs/safety.md M5): a skipped BP let "vitals acceptable before leaving" be
    -- filed with no blood pressure.
    v.vitals "bp_before_leaving" {
      title = "Blood pressure before leaving",
      fields = { "sbp", "dbp", "hr" },
      skippable = false,
    },
    v.choice "leaving_acceptable" {
      title = "Vitals acceptable for leaving (prescriber's judgement)",
      options = YES_NO,
      skippable = false,
    },
    -- Source: docs/clinical/esketamine-rems.md, Patient Monitoring Form: "whether
    -- sedation, dissociation or respiratory depression occurred" [S reproducing P].
    v.choice "sedation_occurred" {
      title = "Sedation occurred during this session", options = YES_NO, skippable = false,
    },
    v.choice "dissociation_occurred" {
      title = "Dissociation occurred during this session", options = YES_NO, skippable = false,
    },
    v.choice "respiratory_depression_occurred" {
      title = "Respiratory depression occurred during this session", options = YES_NO, skippable = false,
    },
    -- Source: docs/clinical/esketamine-rems.md: "No driving until the next day after
    -- restful sleep; confirm a ride before dosing" [P][S]; docs/clinical/discharge-criteria.md:
    -- released to a responsible adult [W].
    v.check "ride_present" { title = "The ride home is here" },
    v.check "no_driving_advice" { title = "Told not to drive or operate machinery until the next day, after restful sleep" },
  },

  rules = {
    -- The REMS form's "vitals acceptable before leaving" says yes only about vitals
    -- that were taken: a yes with no BP before leaving holds until it is recorded
    -- (as predose's acceptable_without_vitals; docs/safety.md M5).
    v.rule "leaving_without_vitals" {
      on = { "leaving_acceptable", "bp_before_leaving" },
      check = function(_, visit)
        if visit.value("leaving_acceptable") == "yes" and visit.value("bp_before_leaving") == nil then
          return v.block("Vitals judged acceptable for leaving, but no blood pressure before leaving is recorded: "
                         .. "record it.")
        end
      end,
    },
    -- Source: docs/clinical/vitals-limits.md, "Marked hypertension" (params sbp_alert, dbp_alert).
    v.rule "bp_leaving" {
      on = "bp_before_leaving",
      check = function(x, visit)
        if lib.at_flag(x, visit) then
          return v.block(fmt("BP before leaving %s is at or above %g/%g: keep monitoring and tell the prescriber.",
                             lib.bp(x), visit.param("sbp_alert"), visit.param("dbp_alert")))
        end
      end,
    },
    -- The form's answers against the monitoring records (lib.form_answer). MOAA/S
    -- below "resolved" (param moaas_recovered) counts as sedation.
    v.rule "sedation_answer" {
      on = "sedation_occurred",
      priority = "low", worse = false, -- an answer on the form: nothing worse to announce
      check = function(x, visit)
        local recovered = visit.param("moaas_recovered")
        local seen = lib.any(visit.last("monitoring.moaas", visit.count("monitoring.moaas")),
                             function(level) return tonumber(level) < recovered end)
        return lib.form_answer(x, seen, "sedation", "sedation_answer")
      end,
    },
    v.rule "dissociation_answer" {
      on = "dissociation_occurred",
      priority = "low", worse = false, -- an answer on the form: nothing worse to announce
      check = function(x, visit)
        local seen = lib.any(visit.last("monitoring.dissociation", visit.count("monitoring.dissociation")),
                             function(d) return d ~= "none" end)
        return lib.form_answer(x, seen, "dissociation", "dissociation_answer")
      end,
    },
    v.rule "respiratory_answer" {
      on = "respiratory_depression_occurred",
      priority = "low", worse = false, -- an answer on the form: nothing worse to announce
      check = function(x, visit)
        local seen = lib.any(visit.last("monitoring.respiration", visit.count("monitoring.respiration")),
                             function(r) return lib.depressed(r, visit) end)
        return lib.form_answer(x, seen, "respiratory depression", "respiratory_answer")
      end,
    },
  },

  gate = function(visit)
    local missing = {}
    if visit.value("leaving_acceptable") ~= "yes" then
      missing[#missing + 1] = "vitals not judged acceptable for leaving"
    end
    if visit.value("ride_present") ~= true then missing[#missing + 1] = "the ride home is not here" end
    if visit.value("no_driving_advice") ~= true then missing[#missing + 1] = "no-driving advice not given" end
    if #missing > 0 then return false, table.concat(missing, "; ") end
    return true
  end,
}
