-- Sandbox attack at load time: a __gc finalizer that never ends
-- Loading must fail with a clear problem; if it ever gets through, the
-- protocol loads and its rule says "ESCAPED".
local v = require "vigil"

setmetatable({}, { __gc = function() while true do end end })

return v.protocol "sandbox_load_gc_finalizer" {
  version = "1.0.0",
  phases = {
    v.phase "attack" {
      items = {
        v.number "attack" { unit = "1", rule = function() return v.alert.high("ESCAPED: loaded") end },
      },
    },
  },
}
