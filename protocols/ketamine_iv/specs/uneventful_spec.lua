-- An uneventful visit end to end: every checkpoint on time, BP under every
-- limit. Nothing may alert, fall overdue or block; the PHQ-9 note is the only
-- finding. (scenarios/uneventful.lua is the same visit for `vigil simulate`.)
local visit = require "visit"

return spec "An uneventful visit raises nothing and is discharged at 115m" {
  params = { weight = 70 },
  actor = "nurse:ana",
  no_other = { "alerts", "overdue", "blocks", "gates", "notes" },

  visit.screening(70),
  expect "6m" { note = "PHQ-9 total 10: moderate.", rule = "phq9" },
  expect "10m" { entered = "infusion" },

  visit.infusion({ [40] = visit.vitals(144, 90) }),  -- the usual peak: +14/+10 from 130/80
  expect "40m" { no_alert = true },
  expect "45m" { phase = "infusion" },
  expect "51m" { entered = "observation" },

  visit.observation(),
  expect "112m" { entered = "discharge" },
  expect "112m" { gate = "blocked", reason = "modified Aldrete score not recorded" },

  visit.discharge(),
  expect "114m" { gate = "open" },
  expect "115m" { discharged = true },
  expect "2h" { status = "discharged" },
}
