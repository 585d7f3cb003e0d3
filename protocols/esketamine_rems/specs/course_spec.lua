-- The treatment course of the Spravato label, section 2 (docs/clinical/course.md):
-- induction twice a week in weeks 1-4 (8 sessions), once a week in weeks 5-8,
-- then at most every two weeks; a session missed in each stage calls the patient.
local session = require "session"

local DAY = 86400000

-- A whole uneventful session on `day` (0: the spec's own first visit), its REMS
-- Patient Monitoring Form sent the next day unless unsent is true.
local function on_day(day, unsent)
  local steps = {}
  local function add(list)
    for _, n in ipairs(list) do
      n.lo, n.hi = n.lo + day * DAY, n.hi + day * DAY
      steps[#steps + 1] = n
    end
  end
  if day > 0 then add({ at "0m" { start = true } }) end
  add(session.predose())
  add(session.dosing())
  add(session.monitoring())
  add(session.discharge())
  if not unsent then
    add({ at "1440m" { rems_submitted = { method = "portal", reference = "PMF-" .. day } } })
  end
  return steps
end

local function t(day, minutes) return string.format("%dm", day * 1440 + (minutes or 0)) end

-- Induction: Monday and Thursday for four weeks (days 0, 3, 7, 10, 14, 17, 21, 24).
local INDUCTION = { 0, 3, 7, 10, 14, 17, 21, 24 }

local function induction()
  local steps = {}
  for _, d in ipairs(INDUCTION) do
    for _, n in ipairs(on_day(d)) do steps[#steps + 1] = n end
  end
  return steps
end

return {
  spec "Twice a week for four weeks is the induction; then a week's gap is on time" {
    actor = "nurse:ana",
    no_other = { "alerts" },
    induction(),
    expect(t(24, 140)) { course = { sessions = 8, completed = 8, stage = "maintenance" } },
    -- Weeks 5-8: weekly. Day 31 is 7 days after the last induction session.
    on_day(31),
    expect(t(31, 140)) { course = { sessions = 9, completed = 9, stage = "maintenance", overdue = false } },
  },

  spec "A session missed in the induction calls the patient" {
    actor = "nurse:ana",
    no_other = { "alerts" },
    on_day(0),
    -- Due 4 days after the first session, overdue 2 days later (day 6).
    expect(t(6) .. ".." .. t(6, 1)) { alert = "missed_session", source = "course", message = "call the patient" },
  },

  spec "A REMS form not recorded as submitted calls for it on day 5, is late on day 7, closes when sent" {
    actor = "nurse:ana",
    no_other = { "alerts" },
    on_day(0, true),
    -- rems_form = { due = "7d", alert = "5d" }: from the session's start.
    expect(t(5) .. ".." .. t(5, 1)) { alert = "rems_form", source = "course", priority = "medium",
                                      message = "is not recorded as submitted: it is due by" },
    expect(t(6) .. ".." .. t(6, 1)) { alert = "missed_session", message = "call the patient" },
    expect(t(7) .. ".." .. t(7, 1)) { escalated = "rems_form", priority = "high", level = 1 },
    at(t(8)) { rems_submitted = { method = "fax", reference = "FAX-0112" } },
    expect(t(8)) { resolved = "rems_form" },
  },

  spec "After weeks 5-8, a session two weeks after the last is on time" {
    actor = "nurse:ana",
    no_other = { "alerts" },
    induction(),
    on_day(31), on_day(38), on_day(45), on_day(52),
    -- Week 9 on: due 14 days after the last session (day 66), overdue after the grace (day 68).
    on_day(66),
    expect(t(66, 140)) { course = { sessions = 13, completed = 13, overdue = false } },
    expect(t(82) .. ".." .. t(82, 1)) { alert = "missed_session", message = "call the patient" },
  },
}
