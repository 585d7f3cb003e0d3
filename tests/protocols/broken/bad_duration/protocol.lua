-- expect: 10: bad duration "15 min"
-- expect: 11: bad duration 15
local v = require "vigil"

return v.protocol "bad_duration" {
  version = "1.0.0",
  phases = {
    v.phase "p" {
      items = {
        v.check "a" { at = "15 min" },
        v.check "b" { every = 15, count = 2 },
      },
    },
  },
}
