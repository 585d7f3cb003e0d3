-- Sandbox attack (docs/security.md AC7): table.unpack within its size, in a
-- loop. Each call's elements are charged to the instruction budget, so the
-- loop is stopped by the budget, on every run at the same call.
-- The item rule "attack" does it when a value is recorded; if it ever gets
-- through, the rule says so with an alert whose message starts "ESCAPED".
local v = require "vigil"

return v.protocol "sandbox_table_unpack_loop" {
  version = "1.0.0",
  phases = {
    v.phase "attack" {
      items = {
        v.number "attack" {
          unit = "1",
          rule = function(x, visit)
            local t = {}
            for i = 1, 10000 do t[i] = i end
            for i = 1, 100000 do local n = select("#", table.unpack(t)) end
            return v.alert.high("ESCAPED: unpacked")
          end,
        },
      },
    },
  },
}
