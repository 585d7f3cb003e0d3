-- expect: 14: clinician must be true or false
-- expect: 15: is a clinician's already (signing is): drop clinician = true
-- expect: 16: is computed from other items, nobody enters it: drop clinician = true
-- clinician = true says only a clinician enters an item (docs/safety.md, AL6): it takes a
-- boolean, and means nothing on a signature (a clinician's already) or a computed score.
local v = require "vigil"

return v.protocol "clinician" {
  version = "1.0.0",
  phases = {
    v.phase "p" {
      items = {
        v.vitals "vitals" { fields = { "sbp", "dbp", "hr" } },
        v.choice "acceptable" { options = { "yes", "no" }, clinician = "yes" },
        v.signature "review" { of = "vitals", clinician = true },
        v.score "total" {
          from = "vitals", clinician = true, compute = function(x) return x.sbp end,
        },
      },
    },
  },
}
