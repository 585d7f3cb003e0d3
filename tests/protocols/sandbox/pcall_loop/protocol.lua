-- Sandbox attack: an endless loop wrapped in pcall
-- The item rule "attack" does it when a value is recorded; if it ever gets
-- through, the rule says so with an alert whose message starts "ESCAPED".
local v = require "vigil"

return v.protocol "sandbox_pcall_loop" {
  version = "1.0.0",
  phases = {
    v.phase "attack" {
      items = {
        v.number "attack" {
          unit = "1",
          rule = function(x, visit)
            while true do pcall(function() while true do end end) end
          end,
        },
      },
    },
  },
}
