-- Sandbox attack: tostring of a table or a function, and string.format("%s")
-- of one, show where it is in memory ("table: 0x55d4..."): an address
-- defeats the server's address-space randomisation.
-- The item rule "attack" does it when a value is recorded; if it ever gets
-- through, the rule says so with an alert whose message starts "ESCAPED".
local v = require "vigil"

return v.protocol "sandbox_tostring_address" {
  version = "1.0.0",
  phases = {
    v.phase "attack" {
      items = {
        v.number "attack" {
          unit = "1",
          rule = function(x, visit)
            local shown = {
              tostring({}), tostring(function() end), tostring(string.len), tostring(v),
              tostring(setmetatable({}, { __name = "thing" })),
              string.format("%s %s", {}, tostring), ("%s"):format(visit), string.format("%10.40s", {}),
            }
            for _, s in ipairs(shown) do
              if s:find("%x%x%x%x%x") then return v.alert.low("ESCAPED: " .. s) end
            end
            return v.alert.low("stopped: " .. table.concat(shown, ", "))
          end,
        },
      },
    },
  },
}
