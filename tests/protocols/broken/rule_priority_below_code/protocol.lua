-- expect: 17: rule 'spo2_low': priority = "low" is lower than what its code raises (v.alert.high, lib.lua
-- expect: 21: rule 'hold': priority = "medium" is lower than what its code raises (v.block, which holds the gate
-- A rule's declared priority is its technical alert's when it fails (docs/safety.md H6, K5):
-- lint refuses one below what its code raises, also through a helper of another file.
local v = require "vigil"
local lib = require "lib"

return v.protocol "rule_priority_below_code" {
  version = "1.0.0",
  phases = {
    v.phase "infusion" {
      items = {
        v.vitals "vitals" { fields = { "spo2", "hr" } },
        v.check "ready" {},
      },
      rules = {
        v.rule "spo2_low" { on = "vitals", priority = "low",
          check = function(x, visit) return lib.spo2_low(x, visit) end },
        v.rule "hr_note" { on = "vitals", priority = "low",
          check = function(x) return lib.hr_note(x) end },
        v.rule "hold" { on = "ready", priority = "medium",
          check = function(x) if not x then return v.block("not ready") end end },
      },
    },
  },
}
