-- expect: 11: duplicate item id 'consent'
local v = require "vigil"

return v.protocol "duplicate_item" {
  version = "1.0.0",
  phases = {
    v.phase "p" {
      items = {
        v.check "consent" {},
        v.check "iv_access" {},
        v.check "consent" { title = "Consent again" },
      },
    },
  },
}
