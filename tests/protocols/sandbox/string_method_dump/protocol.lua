-- Sandbox attack: ("").dump, through the string metatable
-- The item rule "attack" does it when a value is recorded; if it ever gets
-- through, the rule says so with an alert whose message starts "ESCAPED".
local v = require "vigil"

return v.protocol "sandbox_string_method_dump" {
  version = "1.0.0",
  phases = {
    v.phase "attack" {
      items = {
        v.number "attack" {
          unit = "1",
          rule = function(x, visit)
            local s = ("").dump(function() end)
            return v.alert.high("ESCAPED: dumped " .. #s .. " bytes")
          end,
        },
      },
    },
  },
}
