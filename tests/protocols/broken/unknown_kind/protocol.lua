-- expect: 9: unknown item kind or function 'vigil.vitalz'
local v = require "vigil"

return v.protocol "unknown_kind" {
  version = "1.0.0",
  phases = {
    v.phase "p" {
      items = {
        v.vitalz "vitals" { fields = { "sbp", "hr" } },
      },
    },
  },
}
