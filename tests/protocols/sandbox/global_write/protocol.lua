-- Sandbox attack: writing a global at run time
-- The item rule "attack" does it when a value is recorded; if it ever gets
-- through, the rule says so with an alert whose message starts "ESCAPED".
local v = require "vigil"

return v.protocol "sandbox_global_write" {
  version = "1.0.0",
  phases = {
    v.phase "attack" {
      items = {
        v.number "attack" {
          unit = "1",
          rule = function(x, visit)
            threshold = 1
            return v.alert.high("ESCAPED: wrote a global")
          end,
        },
      },
    },
  },
}
