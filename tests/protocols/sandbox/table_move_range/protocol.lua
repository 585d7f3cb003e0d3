-- Sandbox attack: table.move over math.maxinteger elements, in C
-- The item rule "attack" does it when a value is recorded; if it ever gets
-- through, the rule says so with an alert whose message starts "ESCAPED".
local v = require "vigil"

return v.protocol "sandbox_table_move_range" {
  version = "1.0.0",
  phases = {
    v.phase "attack" {
      items = {
        v.number "attack" {
          unit = "1",
          rule = function(x, visit)
            table.move({}, 1, math.maxinteger, 1)
            return v.alert.high("ESCAPED: moved")
          end,
        },
      },
    },
  },
}
