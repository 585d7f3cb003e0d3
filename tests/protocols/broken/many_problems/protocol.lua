-- expect: 16: unknown option 'requird'
-- expect: 17: needs a unit
-- expect: 18: bad duration "15 min"
-- expect: 19: needs options
-- expect: 20: unknown item kind or function 'vigil.vitalz'
-- expect: 21: unknown vitals field 'pulse'
-- expect: 22: unknown item 'nope'
-- expect: 25: duplicate phase id 'p'
local v = require "vigil"

return v.protocol "many_problems" {
  version = "1.0.0",
  phases = {
    v.phase "p" {
      items = {
        v.check "consent" { requird = true },
        v.number "weight" { range = { 30, 250 } },
        v.check "early" { at = "15 min" },
        v.choice "route" {},
        v.vitalz "vit" { fields = { "sbp" } },
        v.vitals "vitals" { fields = { "sbp", "pulse" } },
        v.signature "sig" { of = "nope" },
      },
    },
    v.phase "p" { items = { v.check "again" {} } },
  },
}
