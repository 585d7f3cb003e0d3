-- Sandbox attack (docs/security.md AC7): table.unpack of 400,000 elements a
-- thousand times. Each unpack is one C call between two looks of the count
-- hook: the rule ran 463 ms past a 50 ms limit. More than a protocol may
-- unpack at once is refused before the call.
-- The item rule "attack" does it when a value is recorded; if it ever gets
-- through, the rule says so with an alert whose message starts "ESCAPED".
local v = require "vigil"

return v.protocol "sandbox_table_unpack_huge" {
  version = "1.0.0",
  phases = {
    v.phase "attack" {
      items = {
        v.number "attack" {
          unit = "1",
          rule = function(x, visit)
            local t = {}
            for i = 1, 400000 do t[i] = i end
            for i = 1, 1000 do local n = select("#", table.unpack(t)) end
            return v.alert.high("ESCAPED: unpacked")
          end,
        },
      },
    },
  },
}
