-- Sandbox attack: an endless xpcall message handler on an endless loop (docs/security.md AB1):
-- Lua calls the handler of an error the count hook raised while hooks are off
-- The item rule "attack" does it when a value is recorded; if it ever gets
-- through, the rule says so with an alert whose message starts "ESCAPED".
local v = require "vigil"

return v.protocol "sandbox_xpcall_handler_loop" {
  version = "1.0.0",
  phases = {
    v.phase "attack" {
      items = {
        v.number "attack" {
          unit = "1",
          rule = function(x, visit)
            while true do
              xpcall(function() while true do end end, function(e) while true do end end)
            end
          end,
        },
      },
    },
  },
}
