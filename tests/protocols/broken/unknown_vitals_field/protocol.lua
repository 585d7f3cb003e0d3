-- expect: 9: unknown vitals field 'pulse'
local v = require "vigil"

return v.protocol "unknown_vitals_field" {
  version = "1.0.0",
  phases = {
    v.phase "p" {
      items = {
        v.vitals "vitals" { fields = { "sbp", "pulse" } },
      },
    },
  },
}
