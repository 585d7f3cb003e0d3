-- expect: 15: before_dose of phase 'dosing' returns
local v = require "vigil"

-- docs/safety.md AN13: a check before the dose is a gate's shape: true, or false and why.
return v.protocol "before_dose_returns_text" {
  version = "1.0.0",
  course = v.course {
    sessions = 2, within = "21d", min_interval = "1d", interval = "3d", grace = "2d",
    dose_given = "dosing.given",
  },
  phases = {
    v.phase "screening" {
      items = { v.vitals "vitals" { fields = { "sbp", "dbp" } } },
    },
    v.phase "dosing" {
      items = { v.check "given" {} },
      before_dose = function(visit) return "vitals of now" end,
    },
  },
}
