-- The reference benchmark workload of shared/bench/WORKLOAD.md as a vigil
-- protocol. Not clinical: its thresholds are the workload's, fixed so that
-- every engine compared produces the same checksums.
local v = require "vigil"

return v.protocol "bench_infusion" {
  version = "1.0.0",
  title = "Reference benchmark workload",
  -- The workload has no acknowledging nurse: an escalating alert would add
  -- alert.escalated events that the peers do not emit, and break the checksums.
  defaults = { escalate = "0s" },
  params = {
    v.param "sbp_max" { default = 160, unit = "mm[Hg]" },
    v.param "spo2_min" { default = 92, unit = "%" },
  },
  phases = {
    v.phase "visit" {
      -- 2 h observation after the last checkpoint at 45 min: ready at 165 min.
      duration = { min = "165m" },
      -- No acknowledging nurse either: its reading alerts stay unacknowledged,
      -- and the workload's discharge rests on the last vitals alone.
      unacknowledged = "allow",
      items = {
        v.check "consent" {},
        v.number "npo_hours" { unit = "h", range = { 0, 48 } },
        v.number "baseline_sbp" { unit = "mm[Hg]", range = { 40, 300 } },
        v.check "contraindication" {},
        v.check "iv_access" {},
        v.vitals "vitals" {
          fields = { "sbp", "spo2", "hr" },
          at = "15m", every = "15m", count = 3, grace = "5m",
          rule = function(x, visit)
            if x.sbp > visit.param("sbp_max") or x.spo2 < visit.param("spo2_min") then
              -- Each checkpoint is its own finding: one alert per reading.
              return v.alert.medium("Systolic or SpO2 out of range", { scope = "reading" })
            end
          end,
        },
      },
      gate = function(visit)
        local x = visit.value("vitals")
        if x == nil then return false, "no vitals recorded" end
        if x.sbp <= visit.param("sbp_max") and x.spo2 >= visit.param("spo2_min") then return true end
        return false, "last vitals out of range"
      end,
    },
  },
}
