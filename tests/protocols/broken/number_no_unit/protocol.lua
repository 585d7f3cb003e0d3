-- expect: 9: needs a unit
local v = require "vigil"

return v.protocol "number_no_unit" {
  version = "1.0.0",
  phases = {
    v.phase "p" {
      items = {
        v.number "weight" { range = { 30, 250 } },
      },
    },
  },
}
