-- expect: 11: unknown item 'nope'
local v = require "vigil"

return v.protocol "unknown_ref_on" {
  version = "1.0.0",
  phases = {
    v.phase "p" {
      items = { v.number "weight" { unit = "kg" } },
      rules = {
        v.rule "heavy" { on = "weight", check = function(x) if x > 200 then return v.alert.low("heavy") end end },
        v.rule "typo" { on = "nope", check = function(x) end },
      },
    },
  },
}
