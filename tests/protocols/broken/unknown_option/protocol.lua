-- expect: 9: unknown option 'requird'
local v = require "vigil"

return v.protocol "unknown_option" {
  version = "1.0.0",
  phases = {
    v.phase "p" {
      items = {
        v.check "consent" { requird = true },
      },
    },
  },
}
