-- Sandbox attack: table.remove shifting math.maxinteger elements (a __len that lies)
-- The item rule "attack" does it when a value is recorded; if it ever gets
-- through, the rule says so with an alert whose message starts "ESCAPED".
local v = require "vigil"

return v.protocol "sandbox_table_remove_len" {
  version = "1.0.0",
  phases = {
    v.phase "attack" {
      items = {
        v.number "attack" {
          unit = "1",
          rule = function(x, visit)
            local t = setmetatable({}, { __len = function() return math.maxinteger end })
            table.remove(t, 1)
            return v.alert.high("ESCAPED: removed")
          end,
        },
      },
    },
  },
}
