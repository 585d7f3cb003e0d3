-- Sandbox attack: a rule returns a table whose __index chain loops
-- The item rule "attack" does it when a value is recorded; if it ever gets
-- through, the rule says so with an alert whose message starts "ESCAPED".
local v = require "vigil"

return v.protocol "sandbox_return_index_loop" {
  version = "1.0.0",
  phases = {
    v.phase "attack" {
      items = {
        v.number "attack" {
          unit = "1",
          rule = function(x, visit)
            local t = { "x" }
            return setmetatable(t, { __index = t })
          end,
        },
      },
    },
  },
}
