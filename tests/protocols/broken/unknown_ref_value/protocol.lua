-- expect: 12: unknown item 'nope'
local v = require "vigil"

return v.protocol "unknown_ref_value" {
  version = "1.0.0",
  phases = {
    v.phase "p" {
      items = {
        v.number "weight" {
          unit = "kg",
          rule = function(x, visit)
            if visit.value("nope") then return v.alert.low("never") end
          end,
        },
      },
    },
  },
}
