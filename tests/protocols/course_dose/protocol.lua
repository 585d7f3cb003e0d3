-- A visit protocol whose course declares the item that says the dose was
-- given, for test_course.c: the minimum interval runs from the dose, not from
-- the visit's start (docs/safety.md AR1).
local v = require "vigil"

return v.protocol "course_dose_test" {
  version = "1.0.0",
  title = "Course dose test",
  course = v.course {
    sessions = 3, within = "10d", min_interval = "1d", interval = "2d", grace = "1d",
    dose_given = { "session.given" },
    dose_recorded = { "session.drawn" },
  },
  phases = {
    v.phase "session" {
      items = {
        v.check "consent" { title = "Consent" },
        v.number "drawn" { title = "Dose drawn up", unit = "mg", range = { 0, 250 }, required = false },
        v.number "given" { title = "Dose given", unit = "mg", range = { 0, 250 }, required = false },
      },
    },
  },
}
