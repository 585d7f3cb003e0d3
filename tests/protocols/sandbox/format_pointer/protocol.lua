-- Sandbox attack: string.format("%p") gives the address of any object.
-- The item rule "attack" does it when a value is recorded; if it ever gets
-- through, the rule says so with an alert whose message starts "ESCAPED".
local v = require "vigil"

return v.protocol "sandbox_format_pointer" {
  version = "1.0.0",
  phases = {
    v.phase "attack" {
      items = {
        v.number "attack" {
          unit = "1",
          rule = function(x, visit)
            return v.alert.low("ESCAPED: " .. string.format("%-20p", {}) .. (" %p"):format("x"))
          end,
        },
      },
    },
  },
}
