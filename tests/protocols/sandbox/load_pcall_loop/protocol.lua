-- Sandbox attack at load time: an endless loop wrapped in pcall
-- Loading must fail with a clear problem; if it ever gets through, the
-- protocol loads and its rule says "ESCAPED".
local v = require "vigil"

while true do pcall(function() while true do end end) end

return v.protocol "sandbox_load_pcall_loop" {
  version = "1.0.0",
  phases = {
    v.phase "attack" {
      items = {
        v.number "attack" { unit = "1", rule = function() return v.alert.high("ESCAPED: loaded") end },
      },
    },
  },
}
