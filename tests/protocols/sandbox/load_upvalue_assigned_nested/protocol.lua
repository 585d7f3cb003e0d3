-- Sandbox attack at load time (docs/security.md AQ5): the rule assigns the
-- file's local through a function it makes at each call (`keep`), whose
-- upvalue is the rule's upvalue: the variable is still the file's, kept
-- between visits. Loading must fail, naming the local; if it ever gets
-- through, the protocol loads and its rule says "ESCAPED".
local v = require "vigil"

local last = ""

return v.protocol "sandbox_load_upvalue_assigned_nested" {
  version = "1.0.0",
  phases = {
    v.phase "attack" {
      items = {
        v.number "attack" { unit = "1", rule = function(x)
          local before = last
          local function keep(text)
            last = text
          end
          keep(tostring(x))
          return v.alert.high("ESCAPED: " .. before)
        end },
      },
    },
  },
}
