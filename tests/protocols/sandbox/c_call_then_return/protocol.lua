-- Sandbox attack: one library call that runs past the (row's, short) time
-- limit, then a return: too few instructions after it for the count hook to
-- look at the clock (docs/security.md AA3: the rule ended late without a word).
-- The item rule "attack" does it when a value is recorded; if it ever gets
-- through, the rule says so with an alert whose message starts "ESCAPED".
local v = require "vigil"
local SUBJECT = string.rep("a", 280000) -- (made while loading, under its 2 s)

return v.protocol "sandbox_c_call_then_return" {
  version = "1.0.0",
  phases = {
    v.phase "attack" {
      items = {
        v.number "attack" {
          unit = "1",
          rule = function(x, visit)
            local i = SUBJECT:find("%a%a%a1") -- within the pattern limit: some 20 ms
            return v.alert.high("ESCAPED: " .. tostring(i))
          end,
        },
      },
    },
  },
}
