-- expect: 13: rule 'drop' fails when it is the first reading of the phase (optional fields left out): calculates with 'rr', which has no value here
local v = require "vigil"

return v.protocol "rule_fails_first_reading" {
  version = "1.0.0",
  phases = { v.phase "one" {
    items = {
      v.vitals "obs" { fields = { "sbp", "rr" }, optional = { "rr" } },
    },
    rules = {
      -- rr is optional: on a reading without it this fails.
      v.rule "drop" { on = "obs", worse = false, check = function(x)
        if x.rr - 2 < 8 then return v.alert.high("RR low") end
      end },
    },
  } },
}
