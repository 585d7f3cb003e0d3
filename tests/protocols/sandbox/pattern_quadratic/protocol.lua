-- Sandbox attack: one repetition, tried at every start of a long subject: quadratic
-- work inside one C call (".-b" on 200,000 characters runs for minutes).
-- The item rule "attack" does it when a value is recorded; if it ever gets
-- through, the rule says so with an alert whose message starts "ESCAPED".
local v = require "vigil"

return v.protocol "sandbox_pattern_quadratic" {
  version = "1.0.0",
  phases = {
    v.phase "attack" {
      items = {
        v.number "attack" {
          unit = "1",
          rule = function(x, visit)
            local s = string.rep("a", 200000)
            local i = s:find(".-b")
            return v.alert.high("ESCAPED: " .. tostring(i))
          end,
        },
      },
    },
  },
}
