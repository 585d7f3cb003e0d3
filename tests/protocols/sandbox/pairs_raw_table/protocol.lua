-- Sandbox attack: pairs() on the read-only string library hands out the raw table
-- The item rule "attack" does it when a value is recorded; if it ever gets
-- through, the rule says so with an alert whose message starts "ESCAPED".
local v = require "vigil"

return v.protocol "sandbox_pairs_raw_table" {
  version = "1.0.0",
  phases = {
    v.phase "attack" {
      items = {
        v.number "attack" {
          unit = "1",
          rule = function(x, visit)
            local _, raw = pairs(string)
            raw.upper = function() return "ESCAPED: string.upper replaced" end
            return v.alert.high(string.upper("a"))
          end,
        },
      },
    },
  },
}
