-- expect: 8: unknown item 'p.phq'
-- expect: 8: course: min_interval must not be longer than interval
local v = require "vigil"

return v.protocol "bad_course_item" {
  version = "1.0.0",
  params = { v.param "dose" { default = 0.5, unit = "mg/kg", range = { 0.1, 1 } } },
  course = v.course {
    sessions = 6, within = "21d", min_interval = "4d", interval = "3d", grace = "2d",
    measures = { phq9 = { item = "p.phq" }, dose = { param = "dose" } },
  },
  phases = {
    v.phase "p" {
      items = {
        v.number "phq9" { unit = "{score}", range = { 0, 27 } },
      },
    },
  },
}
