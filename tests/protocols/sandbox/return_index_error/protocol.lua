-- Sandbox attack: a rule returns a table whose __index raises (the engine reads it unprotected)
-- The item rule "attack" does it when a value is recorded; if it ever gets
-- through, the rule says so with an alert whose message starts "ESCAPED".
local v = require "vigil"

return v.protocol "sandbox_return_index_error" {
  version = "1.0.0",
  phases = {
    v.phase "attack" {
      items = {
        v.number "attack" {
          unit = "1",
          rule = function(x, visit)
            return setmetatable({ "x" }, { __index = function() error("raised while the engine reads the outcome") end })
          end,
        },
      },
    },
  },
}
