-- Sandbox attack: a pattern without any repetition still walks its 601 bytes
-- at each of a million starts, inside one C call (docs/security.md AA3: 9.56 s
-- on the reviewer's server, nothing logged).
-- The item rule "attack" does it when a value is recorded; if it ever gets
-- through, the rule says so with an alert whose message starts "ESCAPED".
local v = require "vigil"

return v.protocol "sandbox_pattern_no_repetition" {
  version = "1.0.0",
  phases = {
    v.phase "attack" {
      items = {
        v.number "attack" {
          unit = "1",
          rule = function(x, visit)
            local i = string.rep("a", 1000000):find(string.rep("%a", 300) .. "b")
            return v.alert.high("ESCAPED: " .. tostring(i))
          end,
        },
      },
    },
  },
}
