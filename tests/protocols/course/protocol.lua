-- A small visit protocol with a course, for test_course.c: three induction
-- sessions two days apart (at least one day apart), then maintenance every
-- 14 days for two sessions, then every 28 days; PHQ-9 and the dose measured at each session.
local v = require "vigil"

local fmt = string.format

return v.protocol "course_test" {
  version = "1.0.0",
  title = "Course test",
  params = {
    v.param "dose" { title = "Dose", default = 0.5, unit = "mg/kg", range = { 0.1, 1.0 } },
  },
  course = v.course {
    sessions = 3, within = "10d", min_interval = "1d", interval = "2d", grace = "1d",
    maintenance = { interval = "14d", sessions = 2, max_interval = "28d" },
    priorities = { missed_session = "high", series_incomplete = "low" },
    measures = { phq9 = { item = "session.phq9" }, dose = { param = "dose" },
                 -- X3: the dose given when recorded, the dose drawn up otherwise (marked "from").
                 given = { item = "session.given", otherwise = "session.drawn" } },
    response = { measure = "phq9", fall_pct = 50 },
    remission = { measure = "phq9", below = 5 },
  },
  phases = {
    v.phase "session" {
      items = {
        -- Sooner than the course's minimum interval since the last completed
        -- session, the engine holds this first phase for a clinician itself.
        v.check "consent" { title = "Consent" },
        v.number "drawn" { title = "Dose drawn up", unit = "mg", range = { 0, 250 }, required = false },
        v.number "given" { title = "Dose given", unit = "mg", range = { 0, 250 }, required = false },
        v.number "phq9" {
          title = "PHQ-9 total", unit = "{score}", range = { 0, 27 },
          rule = function(x, visit)
            local c = visit.course()
            local before, first = c and c.previous("phq9"), c and c.first("phq9")
            if before then
              return v.note(fmt("PHQ-9 %d at session %d of %d (previous %d, first %d)", x, c.session, c.sessions,
                                before, first))
            end
          end,
        },
      },
    },
  },
}
