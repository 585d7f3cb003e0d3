-- For tests/test_specs.c: a rule that counts readings in a local of its file.
-- Every visit of the version shares that local, so the second visit's first
-- reading is counted as its third: its load is refused at the rule that
-- assigns it (docs/security.md AQ5), and `vigil test` says so.
local v = require "vigil"

local readings = 0

return v.protocol "stateful" {
  version = "1.0.0",
  phases = {
    v.phase "only" {
      items = {
        v.vitals "vitals" { fields = { "hr" },
          rule = function(x)
            readings = readings + 1
            if readings > 2 then return v.alert.low("a third reading") end
          end },
      },
    },
  },
}
