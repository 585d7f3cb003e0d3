-- Sandbox attack at load time (docs/security.md AQ5): a local of the file
-- that a rule assigns (`last = ...`, not a table write, so AM5's read-only
-- tables do not see it) carries one patient's words into the next patient's
-- alert. Loading must fail, naming the local; if it ever gets through, the
-- protocol loads and its rule says "ESCAPED".
local v = require "vigil"

local last = ""

return v.protocol "sandbox_load_upvalue_assigned" {
  version = "1.0.0",
  phases = {
    v.phase "attack" {
      items = {
        v.number "attack" { unit = "1", rule = function(x)
          local before = last
          last = tostring(x)
          return v.alert.high("ESCAPED: " .. before)
        end },
      },
    },
  },
}
