-- Sandbox attack: "%%*" is a repetition of the character %, which a guard that
-- took every "*" after a "%" for an escaped one did not count: 40 of them
-- backtrack exponentially inside one C call (docs/security.md AA3).
-- The item rule "attack" does it when a value is recorded; if it ever gets
-- through, the rule says so with an alert whose message starts "ESCAPED".
local v = require "vigil"

return v.protocol "sandbox_pattern_escaped_percent" {
  version = "1.0.0",
  phases = {
    v.phase "attack" {
      items = {
        v.number "attack" {
          unit = "1",
          rule = function(x, visit)
            local i = string.rep("%", 40):find(string.rep("%%*", 40) .. "b")
            return v.alert.high("ESCAPED: " .. tostring(i))
          end,
        },
      },
    },
  },
}
