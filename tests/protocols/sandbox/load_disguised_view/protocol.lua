-- Sandbox attack at load time (docs/security.md AT1): a table of the file
-- whose __newindex is one of the language's own functions (next), taken for
-- one of the language's read-only views by its shape, so that neither it nor
-- its metatable was frozen: a rule wrote the patient's note into the
-- metatable and the next visit's rule read it. Loading must fail (a kept
-- table with a metatable); if it ever gets through, the protocol loads and its
-- rule says "ESCAPED".
local v = require "vigil"

local memo = setmetatable({}, { __newindex = next, last = "" })

return v.protocol "sandbox_load_disguised_view" {
  version = "1.0.0",
  phases = {
    v.phase "attack" {
      items = {
        v.number "attack" {
          unit = "1",
          rule = function(x)
            local mt = getmetatable(memo)
            local before = mt.last
            mt.last = tostring(x)
            return v.alert.high("ESCAPED: " .. before)
          end,
        },
      },
    },
  },
}
