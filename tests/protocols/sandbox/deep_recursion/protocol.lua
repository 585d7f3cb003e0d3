-- Sandbox attack: unbounded recursion
-- The item rule "attack" does it when a value is recorded; if it ever gets
-- through, the rule says so with an alert whose message starts "ESCAPED".
local v = require "vigil"

return v.protocol "sandbox_deep_recursion" {
  version = "1.0.0",
  phases = {
    v.phase "attack" {
      items = {
        v.number "attack" {
          unit = "1",
          rule = function(x, visit)
            local function f(n) return f(n + 1) + 1 end
            return v.alert.high("ESCAPED: " .. f(1))
          end,
        },
      },
    },
  },
}
