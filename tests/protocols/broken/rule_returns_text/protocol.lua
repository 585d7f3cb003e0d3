-- expect: 9: rule 'sbp' returns the text "call the doctor", not an outcome
local v = require "vigil"

return v.protocol "rule_returns_text" {
  version = "1.0.0",
  phases = { v.phase "one" {
    items = { v.vitals "obs" { fields = { "sbp" } } },
    rules = {
      v.rule "sbp" { on = "obs", check = function(x)
        if x.sbp > 290 then return "call the doctor" end
      end },
    },
  } },
}
