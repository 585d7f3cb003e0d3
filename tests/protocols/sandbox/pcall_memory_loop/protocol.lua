-- Sandbox attack: calls over the memory cap, each caught by pcall, in a long loop
-- (docs/security.md AB2): each failure costs an emergency collection
-- The item rule "attack" does it when a value is recorded; if it ever gets
-- through, the rule says so with an alert whose message starts "ESCAPED".
local v = require "vigil"

return v.protocol "sandbox_pcall_memory_loop" {
  version = "1.0.0",
  phases = {
    v.phase "attack" {
      items = {
        v.number "attack" {
          unit = "1",
          rule = function(x, visit)
            for i = 1, 1000000 do pcall(string.rep, "a", 20000000) end
            return v.alert.high("ESCAPED: the loop ended")
          end,
        },
      },
    },
  },
}
