-- Sandbox attack at load time: require "os"
-- Loading must fail with a clear problem; if it ever gets through, the
-- protocol loads and its rule says "ESCAPED".
local v = require "vigil"

local os = require "os"

return v.protocol "sandbox_load_require_os" {
  version = "1.0.0",
  phases = {
    v.phase "attack" {
      items = {
        v.number "attack" { unit = "1", rule = function() return v.alert.high("ESCAPED: loaded") end },
      },
    },
  },
}
