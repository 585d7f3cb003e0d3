-- Sandbox attack: a table that grows in a loop
-- The item rule "attack" does it when a value is recorded; if it ever gets
-- through, the rule says so with an alert whose message starts "ESCAPED".
local v = require "vigil"

return v.protocol "sandbox_table_bomb" {
  version = "1.0.0",
  phases = {
    v.phase "attack" {
      items = {
        v.number "attack" {
          unit = "1",
          rule = function(x, visit)
            local t, i = {}, 0
            while true do
              i = i + 1
              t[i] = { i, i, i, i }
            end
          end,
        },
      },
    },
  },
}
