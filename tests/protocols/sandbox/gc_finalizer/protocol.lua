-- Sandbox attack: a __gc finalizer that never ends (it would run outside any budget)
-- The item rule "attack" does it when a value is recorded; if it ever gets
-- through, the rule says so with an alert whose message starts "ESCAPED".
local v = require "vigil"

return v.protocol "sandbox_gc_finalizer" {
  version = "1.0.0",
  phases = {
    v.phase "attack" {
      items = {
        v.number "attack" {
          unit = "1",
          rule = function(x, visit)
            setmetatable({}, { __gc = function() while true do end end })
            return v.alert.high("ESCAPED: finalizer set")
          end,
        },
      },
    },
  },
}
