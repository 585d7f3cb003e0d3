-- Sandbox attack: a rule returns an alert made by hand whose escalation is
-- far beyond any clock (the engine once cast it to an integer: undefined).
-- If it ever gets through, the rule's alert says "ESCAPED".
local v = require "vigil"

return v.protocol "sandbox_return_huge_escalate" {
  version = "1.0.0",
  phases = {
    v.phase "attack" {
      items = {
        v.number "attack" {
          unit = "1",
          rule = function(x, visit)
            return { outcome = "alert", priority = "high", message = "ESCAPED", escalate = 1e300 }
          end,
        },
      },
    },
  },
}
