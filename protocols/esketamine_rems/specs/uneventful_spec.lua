-- An uneventful 56 mg session: every check on time, nothing abnormal. Nothing
-- may alert, fall overdue, block or hold a gate; the session ends at 135m.
local session = require "session"

return spec "An uneventful session raises nothing and ends at 135m" {
  actor = "nurse:ana",
  no_other = { "alerts", "overdue", "blocks", "gates", "notes" },

  session.predose(),
  expect "3m" { entered = "dosing" },
  session.dosing(),
  expect "10m" { entered = "monitoring" },
  session.monitoring(),
  expect "50m" { no_alert = true },
  expect "131m" { entered = "discharge" },
  session.discharge(),
  expect "134m" { gate = "open" },
  expect "135m" { discharged = true },
  expect "2h30m" { status = "discharged" },
}
