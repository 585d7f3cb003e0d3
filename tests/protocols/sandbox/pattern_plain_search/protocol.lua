-- Sandbox attack: a plain search (find's 4th argument) compares its 500,001
-- bytes at each of half a million starts: 2.5e11 byte comparisons inside one
-- C call (docs/security.md AA3).
-- The item rule "attack" does it when a value is recorded; if it ever gets
-- through, the rule says so with an alert whose message starts "ESCAPED".
local v = require "vigil"

return v.protocol "sandbox_pattern_plain_search" {
  version = "1.0.0",
  phases = {
    v.phase "attack" {
      items = {
        v.number "attack" {
          unit = "1",
          rule = function(x, visit)
            local i = string.rep("a", 1000000):find(string.rep("a", 500000) .. "b", 1, true)
            return v.alert.high("ESCAPED: " .. tostring(i))
          end,
        },
      },
    },
  },
}
