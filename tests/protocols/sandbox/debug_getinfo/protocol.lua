-- Sandbox attack: debug.getinfo
-- The item rule "attack" does it when a value is recorded; if it ever gets
-- through, the rule says so with an alert whose message starts "ESCAPED".
local v = require "vigil"

return v.protocol "sandbox_debug_getinfo" {
  version = "1.0.0",
  phases = {
    v.phase "attack" {
      items = {
        v.number "attack" {
          unit = "1",
          rule = function(x, visit)
            local info = debug.getinfo(1)
            return v.alert.high("ESCAPED: debug.getinfo gave " .. tostring(info))
          end,
        },
      },
    },
  },
}
