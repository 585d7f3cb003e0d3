-- Sandbox attack: a pattern that backtracks exponentially, in one C call
-- The item rule "attack" does it when a value is recorded; if it ever gets
-- through, the rule says so with an alert whose message starts "ESCAPED".
local v = require "vigil"

return v.protocol "sandbox_pattern_backtracking" {
  version = "1.0.0",
  phases = {
    v.phase "attack" {
      items = {
        v.number "attack" {
          unit = "1",
          rule = function(x, visit)
            local s = string.rep("a", 40)
            local i = s:find(string.rep("a*", 40) .. "b")
            return v.alert.high("ESCAPED: " .. tostring(i))
          end,
        },
      },
    },
  },
}
