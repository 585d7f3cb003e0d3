-- Sandbox attack: string.rep memory bomb
-- The item rule "attack" does it when a value is recorded; if it ever gets
-- through, the rule says so with an alert whose message starts "ESCAPED".
local v = require "vigil"

return v.protocol "sandbox_string_rep_bomb" {
  version = "1.0.0",
  phases = {
    v.phase "attack" {
      items = {
        v.number "attack" {
          unit = "1",
          rule = function(x, visit)
            local s = string.rep("x", 1 << 30)
            return v.alert.high("ESCAPED: " .. #s .. " bytes")
          end,
        },
      },
    },
  },
}
