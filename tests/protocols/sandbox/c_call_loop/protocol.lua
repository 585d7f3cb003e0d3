-- Sandbox attack: a loop of cheap instructions that each run a long C call
-- The item rule "attack" does it when a value is recorded; if it ever gets
-- through, the rule says so with an alert whose message starts "ESCAPED".
local v = require "vigil"

return v.protocol "sandbox_c_call_loop" {
  version = "1.0.0",
  phases = {
    v.phase "attack" {
      items = {
        v.number "attack" {
          unit = "1",
          rule = function(x, visit)
            local s = string.rep("x", 500000)
            for i = 1, 100000000 do s:find("[b]") end
            return v.alert.high("ESCAPED: searched")
          end,
        },
      },
    },
  },
}
