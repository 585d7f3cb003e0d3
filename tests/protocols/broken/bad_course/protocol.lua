-- expect: 9: course: sessions must be a whole number
-- expect: 9: course: measure 'phq9': p.consent is not a number
-- expect: 9: course: remission names no measure 'gad7'
-- expect: 9: unknown option 'intervals' for the course
local v = require "vigil"

return v.protocol "bad_course" {
  version = "1.0.0",
  course = v.course {
    sessions = 2.5, within = "21d", min_interval = "1d", interval = "3d", grace = "2d", intervals = "3d",
    measures = { phq9 = { item = "p.consent" } },
    remission = { measure = "gad7", below = 5 },
  },
  phases = {
    v.phase "p" {
      items = {
        v.check "consent" {},
      },
    },
  },
}
