-- observation.lua: after the infusion, until the patient is ready for the
-- discharge assessment. Vitals, sedation and dissociation every 15 minutes, the
-- same alert limits as during the infusion, and a block while BP is not back near the
-- baseline (lib.bp_not_recovered).
--
-- Rule ids: bp_high ("bp_high", "bp_high_unconfirmed"), bp_rise, bp_low, hr_high
-- ("hr_high", "hr_high_unconfirmed"), spo2_low, rr_low, rr_high, sedation_deep
-- ("sedation_deep", "sedation_unresponsive"), dissociation_distress (as in
-- infusion.lua), and bp_not_recovered (block).

local v = require "vigil"
local lib = require "lib"

local fmt = string.format

-- Source: docs/clinical/monitoring-cadence.md: published cohorts, every 15 min after
-- the infusion (Emory) [S]; sedation practice: every 5-15 min until fit for
-- discharge (ASA moderate sedation 2018) [S].
local EVERY, GRACE = "15m", "5m"
local OVERDUE = { priority = "medium", escalate = "5m", latching = true }

return v.phase "observation" {
  title = "Observation after the infusion",
  help = "Vitals, sedation and dissociation every 15 minutes. The patient can go to the discharge assessment once "
         .. "the observation time has passed, BP is back near baseline and sedation and dissociation have resolved.",
  -- Source: docs/clinical/discharge-criteria.md, "Observation time": no guideline
  -- number for IV racemic ketamine; a clinic default (60 min) and the gate's checks.
  -- Durations are literals, so this is the floor; the gate also applies param
  -- observation_minutes (range 60..240), which a clinic can raise per visit.
  duration = { min = "60m" }, missed = "hold", -- missed checkpoints: docs/clinical/monitoring-cadence.md
  items = {
    v.vitals "vitals" {
      title = "Vitals",
      fields = { "sbp", "dbp", "hr", "spo2", "rr" },
      every = EVERY, grace = GRACE, overdue = OVERDUE,
    },
    -- Scales as in infusion.lua. Source: docs/clinical/sedation-dissociation-scales.md.
    v.choice "moaas" {
      title = "Sedation (MOAA/S, 5 alert .. 0 no response)",
      help = "5 responds readily to name; 4 lethargic response to name; 3 only to a loud or repeated name; "
             .. "2 only to mild prodding or shaking; 1 only to a painful stimulus; 0 no response.",
      options = { "5", "4", "3", "2", "1", "0" },
      every = EVERY, grace = GRACE, overdue = OVERDUE,
    },
    v.choice "dissociation" {
      title = "Dissociation (as observed)",
      help = "none; present (tolerated); distressing (the patient is distressed by it).",
      options = { "none", "present", "distressing" },
      every = EVERY, grace = GRACE, overdue = OVERDUE,
    },
  },

  rules = {
    -- As in infusion.lua. The reading before the first one of this phase is the
    -- last reading of the infusion, so a high reading just before the phase change
    -- is still confirmed by the next one.
    v.rule "bp_high" {
      on = "vitals",
      priority = "high", worse = lib.worse.bp,
      check = function(x, visit)
        return lib.bp_high(x, visit.observed_at("observation.vitals"),
                           lib.earlier_readings(visit, { "observation.vitals", "infusion.vitals" }), visit)
      end,
    },
    v.rule "bp_rise" {
      on = "vitals",
      priority = "medium", worse = lib.worse.bp,
      check = function(x, visit) return lib.bp_rise(x, visit) end,
    },
    v.rule "hr_high" {
      on = "vitals",
      priority = "medium", worse = lib.worse.hr,
      check = function(x, visit)
        local max = visit.param("hr_max")
        local sustained = visit.held("observation.vitals", function(r) return r.hr > max end, "5m")
        return lib.hr_high(x, sustained, visit)
      end,
    },
    -- Source: see param sbp_low in protocol.lua (NEWS2: systolic <= 90 scores 3; docs/safety.md Q4).
    v.rule "bp_low" {
      on = "vitals",
      priority = "high", worse = lib.worse.bp_low,
      check = function(x, visit) return lib.bp_low(x, visit) end,
    },
    -- Source: see param hr_min in protocol.lua (NEWS2: pulse <= 40 scores 3).
    v.rule "hr_low" {
      on = "vitals",
      priority = "high", worse = lib.worse.hr_low,
      check = function(x, visit) return lib.hr_low(x, visit) end,
    },
    v.rule "spo2_low" {
      on = "vitals",
      priority = "high", worse = lib.worse.spo2,
      check = function(x, visit) return lib.spo2_low(x, visit) end,
    },
    v.rule "rr_low" {
      on = "vitals",
      priority = "high", worse = lib.worse.rr,
      check = function(x, visit) return lib.rr_low(x, visit) end,
    },
    -- Source: see param rr_max in protocol.lua (NEWS2: 25 /min or more scores 3; docs/safety.md U3).
    v.rule "rr_high" {
      on = "vitals",
      priority = "high", worse = lib.worse.rr_high,
      check = function(x, visit) return lib.rr_high(x, visit) end,
    },
    v.rule "sedation_deep" {
      on = "moaas",
      priority = "high", worse = lib.worse.moaas,
      check = function(x, visit) return lib.sedation(x, visit) end,
    },
    v.rule "dissociation_distress" {
      on = "dissociation",
      priority = "low", worse = false, -- "distressing" is the top of what is observed
      check = function(x, visit) return lib.dissociation(x, visit) end,
    },

    -- Systolic BP back within bp_recovery_pct of the baseline before leaving, diastolic within
    -- dbp_recovery_pct (docs/safety.md AN15); a fall judged from the lower of the baseline and the
    -- pre-dose caution figure, sbp_caution / dbp_caution (docs/workstation.md V4: 126 after 176 held).
    -- Source: docs/clinical/discharge-criteria.md: modified Aldrete (Aldrete 1995) [P/S],
    -- circulation "within 20%" of baseline scores 2; discharge "back to baseline" [W]; the fall's
    -- reference is our extrapolation ("A fall from a high baseline").
    -- The discharge's gate reads the same check on the last vitals (lib.bp_not_recovered; AL2).
    v.rule "bp_not_recovered" {
      on = "vitals",
      check = function(x, visit)
        local part, far = lib.bp_not_recovered(x, visit)
        if far then return v.block(fmt("%s %s: keep observing and repeat.", part, far)) end
      end,
    },
  },

  -- Source: docs/clinical/esketamine-rems.md: monitor until sedation, dissociation and
  -- respiratory depression have resolved [P]; docs/clinical/discharge-criteria.md (param
  -- observation_minutes); MOAA/S 5 = alert (param moaas_recovered); 3 vitals readings (T2).
  gate = function(visit)
    local missing = {}
    local need = visit.param("observation_minutes")
    local elapsed = visit.phase_elapsed()
    if elapsed < need * 60000 then
      missing[#missing + 1] = fmt("observed %d of %g minutes", lib.minutes(elapsed), need)
    end
    local level = tonumber(visit.value("observation.moaas"))
    local recovered = visit.param("moaas_recovered")
    if level == nil or level < recovered then
      missing[#missing + 1] = fmt("sedation not resolved (MOAA/S %s, needs %g)", tostring(level or "not recorded"),
                                  recovered)
    end
    local dissociation = visit.value("observation.dissociation")
    if dissociation ~= "none" then
      missing[#missing + 1] = fmt("dissociation not resolved (%s)", tostring(dissociation or "not recorded"))
    end
    -- Source: docs/clinical/discharge-criteria.md, "Vitals after the infusion" (docs/safety.md T2):
    -- the BP-recovery block, the discharge's low BP and heart-rate hold and the Aldrete cross-check
    -- read the last vitals, so 3 of the four checkpoints are taken here (one skipped with a reason
    -- needs no override, as the infusion's 3 of 4). "Vitals spread over the observation" (U2):
    -- readings observed less than vitals_apart_min apart count once, so three typed within a
    -- second are one reading, not three checkpoints'.
    local times, recorded = {}, visit.count("observation.vitals")
    for k = 1, recorded do times[k] = visit.observed_at("observation.vitals", k) end
    local apart = visit.param("vitals_apart_min")
    local spread = lib.count_apart(times, apart * 60000)
    if spread < 3 then
      local why = fmt("%d of 3 vitals readings recorded", spread)
      if recorded > spread then
        why = why .. fmt(" (%d taken; readings less than %g minutes apart count once)", recorded, apart)
      end
      missing[#missing + 1] = why
    end
    -- "Vitals at the observation's checkpoints" (AG4): readings at minutes 1, 6 and 11 are 5
    -- minutes apart but one checkpoint's; each reading counts for the checkpoint it is nearest,
    -- within its grace. Three of the four: one may go without a reading (skipped with a reason:
    -- the patient in the bathroom), more is a clinician's override with a reason.
    local MAY_GO_WITHOUT = 1
    local due, read = visit.checkpoints("observation.vitals")
    if due - read > MAY_GO_WITHOUT then
      missing[#missing + 1] = fmt("vitals at %d of %d checkpoints (a reading counts within %g minutes of its "
                                  .. "checkpoint; %d may go without: more needs a clinician's override)", read, due,
                                  v.ms(GRACE) / 60000, MAY_GO_WITHOUT)
    end
    if #missing > 0 then return false, table.concat(missing, "; ") end
    return true
  end,
}
