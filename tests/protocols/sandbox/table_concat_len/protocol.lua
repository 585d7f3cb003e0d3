-- Sandbox attack: table.concat over math.maxinteger elements produced by a C __index
-- The item rule "attack" does it when a value is recorded; if it ever gets
-- through, the rule says so with an alert whose message starts "ESCAPED".
local v = require "vigil"

return v.protocol "sandbox_table_concat_len" {
  version = "1.0.0",
  phases = {
    v.phase "attack" {
      items = {
        v.number "attack" {
          unit = "1",
          rule = function(x, visit)
            local t = setmetatable({}, { __index = table.concat })
            local s = table.concat(t, "", 1, math.maxinteger)
            return v.alert.high("ESCAPED: " .. #s)
          end,
        },
      },
    },
  },
}
