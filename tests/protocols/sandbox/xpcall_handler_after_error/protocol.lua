-- Sandbox attack: an endless xpcall message handler of an ordinary error (docs/security.md AB1):
-- stopped inside the handler, Lua calls the handler again, hooks off
-- The item rule "attack" does it when a value is recorded; if it ever gets
-- through, the rule says so with an alert whose message starts "ESCAPED".
local v = require "vigil"

return v.protocol "sandbox_xpcall_handler_after_error" {
  version = "1.0.0",
  phases = {
    v.phase "attack" {
      items = {
        v.number "attack" {
          unit = "1",
          rule = function(x, visit)
            while true do
              xpcall(function() error("ordinary") end, function(e) while true do end end)
            end
          end,
        },
      },
    },
  },
}
