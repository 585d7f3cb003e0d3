-- expect: 12: phase 'screening': before_dose is asked only in the phase holding the course's dose_given item
local v = require "vigil"

-- docs/safety.md AN13: a check before the dose declared where no dose is given would never run.
return v.protocol "before_dose_elsewhere" {
  version = "1.0.0",
  course = v.course {
    sessions = 2, within = "21d", min_interval = "1d", interval = "3d", grace = "2d",
    dose_given = "dosing.given",
  },
  phases = {
    v.phase "screening" {
      items = { v.vitals "vitals" { fields = { "sbp", "dbp" } } },
      before_dose = function(visit) return visit.age("vitals") ~= nil end,
    },
    v.phase "dosing" {
      items = { v.check "given" {} },
    },
  },
}
