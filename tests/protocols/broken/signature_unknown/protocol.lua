-- expect: 10: unknown item 'nope'
local v = require "vigil"

return v.protocol "signature_unknown" {
  version = "1.0.0",
  phases = {
    v.phase "p" {
      items = {
        v.number "dose" { unit = "mg" },
        v.signature "dose_check" { of = "nope", meaning = "dose double-checked" },
      },
    },
  },
}
