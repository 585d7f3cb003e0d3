-- expect: 18: after must name another check of phase 'p' that is not scheduled (the item is recorded once it is recorded yes), not volume
-- expect: 20: not nothing_here
-- expect: 21: not itself
-- expect: 22: after is for an item recorded once (not a signature, not scheduled): 'vitals'
-- expect: 26: after must name another check of phase 'q' that is not scheduled (the item is recorded once it is recorded yes), not started
-- docs/safety.md AO1: an item recorded only once a check of its phase is recorded yes (the
-- infusion's stop after its start). It names another check of the same phase, not scheduled,
-- and is itself recorded once.
local v = require "vigil"

return v.protocol "after" {
  version = "1.0.0",
  phases = {
    v.phase "p" {
      items = {
        v.check "started" { title = "Started" },
        v.number "volume" { unit = "mL", after = "started" },
        v.check "stopped" { after = "volume" },
        v.check "other" { after = "stopped" },
        v.number "given" { unit = "mg", after = "nothing_here" },
        v.check "itself" { after = "itself" },
        v.vitals "vitals" { fields = { "sbp", "dbp" }, every = "10m", after = "started" },
      },
    },
    v.phase "q" {
      items = { v.check "later" { after = "started" } },
    },
  },
}
