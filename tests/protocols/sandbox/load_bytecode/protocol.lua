-- Sandbox attack: load of a binary chunk
-- The item rule "attack" does it when a value is recorded; if it ever gets
-- through, the rule says so with an alert whose message starts "ESCAPED".
local v = require "vigil"

return v.protocol "sandbox_load_bytecode" {
  version = "1.0.0",
  phases = {
    v.phase "attack" {
      items = {
        v.number "attack" {
          unit = "1",
          rule = function(x, visit)
            local f, err = load("\27Lua\84\0\25\147\13\10\26\10\4\8\8")
            if f then return v.alert.high("ESCAPED: bytecode loaded") end
            error(err, 0)
          end,
        },
      },
    },
  },
}
