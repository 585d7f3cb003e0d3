-- Sandbox attack at load time: string.dump
-- Loading must fail with a clear problem; if it ever gets through, the
-- protocol loads and its rule says "ESCAPED".
local v = require "vigil"

local code = string.dump(function() end)

return v.protocol "sandbox_load_string_dump" {
  version = "1.0.0",
  phases = {
    v.phase "attack" {
      items = {
        v.number "attack" { unit = "1", rule = function() return v.alert.high("ESCAPED: loaded") end },
      },
    },
  },
}
