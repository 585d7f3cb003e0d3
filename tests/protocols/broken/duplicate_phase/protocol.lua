-- expect: 8: duplicate phase id 'p'
local v = require "vigil"

return v.protocol "duplicate_phase" {
  version = "1.0.0",
  phases = {
    v.phase "p" { items = { v.check "a" {} } },
    v.phase "p" { items = { v.check "b" {} } },
  },
}
