-- monitoring.lua: after dosing. Blood pressure at about 40 minutes, then as
-- clinically warranted; breathing (SpO2, respiratory rate), sedation (MOAA/S) and
-- dissociation every 15 minutes; at least two hours, and until sedation,
-- dissociation and respiratory depression have resolved.
--
-- Rule ids: bp_high, bp_rise, bp_low, hr_low (on bp_40m and bp), spo2_low, rr_low, rr_high (on
-- respiration), sedation_deep ("sedation_deep", "sedation_unresponsive"),
-- dissociation_distress.

local v = require "vigil"
local lib = require "lib"

local fmt = string.format

-- Source: docs/clinical/monitoring-cadence.md: ventilation and circulation every 5-15
-- min, SpO2 continuously, until fit for discharge (ASA moderate sedation 2018) [S].
-- Every 15 minutes is the slow end of that range; the pulse oximeter stays on
-- throughout (checked in predose).
local EVERY, GRACE = "15m", "5m"
local OVERDUE = { priority = "medium", escalate = "5m", latching = true }

return v.phase "monitoring" {
  title = "Monitoring after dosing",
  help = "Blood pressure at about 40 minutes (and whenever clinically warranted); breathing, sedation and "
         .. "dissociation every 15 minutes. At least two hours, and until sedation, dissociation and respiratory "
         .. "depression have resolved.",
  -- Source: docs/clinical/esketamine-rems.md: "Monitor at least 2 h after dosing" [P].
  -- The literal floor; the gate also applies param monitoring_minutes (>= 120).
  duration = { min = "2h" }, missed = "hold", -- missed checkpoints: docs/clinical/monitoring-cadence.md
  items = {
    -- Source: docs/clinical/esketamine-rems.md: "BP before dosing, at about 40 min after
    -- dosing, then as clinically warranted" [P]. "About": 10 minutes' grace, a
    -- clinic choice. Not skippable: taken, or the prescriber overrides (docs/safety.md AG4).
    v.vitals "bp_40m" {
      title = "Blood pressure at 40 minutes",
      fields = { "sbp", "dbp", "hr" },
      at = "40m", grace = "10m", overdue = OVERDUE, skippable = false,
    },
    v.vitals "bp" {
      title = "Blood pressure (as clinically warranted)",
      fields = { "sbp", "dbp", "hr" },
      required = false,
    },
    -- Source: docs/clinical/esketamine-rems.md: "until ... respiratory depression
    -- [has] resolved; ... pulse oximeter on site" [P]; cadence as above.
    v.vitals "respiration" {
      title = "Breathing: SpO2 and respiratory rate",
      fields = { "spo2", "rr" },
      every = EVERY, grace = GRACE, overdue = OVERDUE,
    },
    -- Source: docs/clinical/sedation-dissociation-scales.md, MOAA/S; Spravato: "until sedation
    -- ... [has] resolved" [P].
    v.choice "moaas" {
      title = "Sedation (MOAA/S, 5 alert .. 0 no response)",
      help = "5 responds readily to name; 4 lethargic response to name; 3 only to a loud or repeated name; "
             .. "2 only to mild prodding or shaking; 1 only to a painful stimulus; 0 no response.",
      options = { "5", "4", "3", "2", "1", "0" },
      every = EVERY, grace = GRACE, overdue = OVERDUE,
    },
    -- Source: docs/clinical/esketamine-rems.md: "until ... dissociation [has] resolved"
    -- [P]; CADSS has no validated cut-off, so a nurse's observation.
    v.choice "dissociation" {
      title = "Dissociation (as observed)",
      help = "none; present (tolerated); distressing (the patient is distressed by it).",
      options = { "none", "present", "distressing" },
      every = EVERY, grace = GRACE, overdue = OVERDUE,
    },
  },

  -- Each rule declares the highest priority it raises (its technical alert's if it
  -- fails: docs/safety.md, H6) and how a reading is worse than the one last
  -- announced (lib.worse: docs/safety.md, H1), so that a worse reading after an
  -- acknowledgement is announced again.
  rules = {
    -- Source: docs/clinical/vitals-limits.md, "Marked hypertension" (params sbp_alert, dbp_alert).
    v.rule "bp_high" {
      on = { "bp_40m", "bp" },
      priority = "high", worse = lib.worse.bp,
      check = function(x, visit) return lib.bp_high(x, visit) end,
    },
    -- Source: docs/clinical/vitals-limits.md, "Rise from baseline": from the pre-dose reading (params
    -- sbp_rise, dbp_rise).
    v.rule "bp_rise" {
      on = { "bp_40m", "bp" },
      priority = "medium", worse = lib.worse.bp,
      check = function(x, visit)
        return lib.bp_rise(x, lib.predose_bp(visit), visit)
      end,
    },
    -- Source: see params sbp_low and hr_min in protocol.lua (NEWS2: systolic <= 90 and pulse
    -- <= 40 score 3; docs/safety.md Q4).
    v.rule "bp_low" {
      on = { "bp_40m", "bp" },
      priority = "high", worse = lib.worse.bp_low,
      check = function(x, visit) return lib.bp_low(x, visit) end,
    },
    v.rule "hr_low" {
      on = { "bp_40m", "bp" },
      priority = "high", worse = lib.worse.hr_low,
      check = function(x, visit) return lib.hr_low(x, visit) end,
    },
    -- Source: see params spo2_min and rr_min in protocol.lua.
    v.rule "spo2_low" {
      on = "respiration",
      priority = "high", worse = lib.worse.spo2,
      check = function(x, visit) return lib.spo2_low(x, visit) end,
    },
    v.rule "rr_low" {
      on = "respiration",
      priority = "high", worse = lib.worse.rr,
      check = function(x, visit) return lib.rr_low(x, visit) end,
    },
    -- Source: see param rr_max in protocol.lua (NEWS2: 25 /min or more scores 3; docs/safety.md U3).
    v.rule "rr_high" {
      on = "respiration",
      priority = "high", worse = lib.worse.rr_high,
      check = function(x, visit) return lib.rr_high(x, visit) end,
    },
    -- Source: see param moaas_alert in protocol.lua.
    v.rule "sedation_deep" {
      on = "moaas",
      priority = "high", worse = lib.worse.moaas,
      check = function(x, visit) return lib.sedation(x, visit) end,
    },
    v.rule "dissociation_distress" {
      on = "dissociation",
      priority = "low", worse = false, -- "distressing" is the top of what is observed
      check = function(x) return lib.dissociation(x) end,
    },
  },

  -- Source: docs/clinical/esketamine-rems.md: "Monitor at least 2 h after dosing and
  -- until sedation, dissociation and respiratory depression have resolved" [P]
  -- (params monitoring_minutes, moaas_recovered, spo2_min, rr_min). The engine adds
  -- the 2-hour floor and the 40-minute BP (a required scheduled item).
  gate = function(visit)
    local missing = {}
    local need = visit.param("monitoring_minutes")
    local elapsed = visit.phase_elapsed()
    if elapsed < need * 60000 then
      missing[#missing + 1] = fmt("monitored %d of %g minutes", lib.minutes(elapsed), need)
    end
    local level = tonumber(visit.value("monitoring.moaas"))
    local recovered = visit.param("moaas_recovered")
    if level == nil or level < recovered then
      missing[#missing + 1] = fmt("sedation not resolved (MOAA/S %s, needs %g)", tostring(level or "not recorded"),
                                  recovered)
    end
    local dissociation = visit.value("monitoring.dissociation")
    if dissociation ~= "none" then
      missing[#missing + 1] = fmt("dissociation not resolved (%s)", tostring(dissociation or "not recorded"))
    end
    -- docs/clinical/discharge-criteria.md, "Vitals at the observation's checkpoints" (docs/safety.md
    -- AG4): breathing at 1, 6 and 11 minutes is one checkpoint's: each reading counts for the
    -- checkpoint it is nearest, within its grace. One may go without a reading (skipped with a
    -- reason), more is the prescriber's override with a reason, as in ketamine_iv's observation.
    local MAY_GO_WITHOUT = 1
    local due, read = visit.checkpoints("monitoring.respiration")
    local breathing = visit.value("monitoring.respiration")
    if breathing == nil then
      missing[#missing + 1] = "breathing not recorded"
    elseif lib.depressed(breathing, visit) then
      missing[#missing + 1] = fmt("respiratory depression not resolved (SpO2 %g%%, RR %g/min)", breathing.spo2,
                                  breathing.rr)
    elseif due - read > MAY_GO_WITHOUT then
      missing[#missing + 1] = fmt("breathing at %d of %d checkpoints (a reading counts within %g minutes of its "
                                  .. "checkpoint; %d may go without: more needs a clinician's override)", read, due,
                                  v.ms(GRACE) / 60000, MAY_GO_WITHOUT)
    end
    if #missing > 0 then return false, table.concat(missing, "; ") end
    return true
  end,
}
