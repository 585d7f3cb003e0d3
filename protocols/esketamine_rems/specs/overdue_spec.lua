-- Checks that fall overdue: the BP at 40 minutes (due 40 minutes into
-- monitoring, 10 minutes' grace) and the 15-minute checks (5 minutes' grace),
-- each with a medium alert that escalates after 5 minutes unacknowledged, and
-- the protocol's on.overdue note for the record.
local session = require "session"
local bp = session.bp

return {
  spec "The 40-minute BP missed: overdue at 60m, escalated at 65m, cleared when recorded" {
    no_other = { "alerts", "overdue", "notes", "escalations" },
    session.predose(),
    session.dosing(),
    session.monitoring(nil, false, true),
    expect "59m" { no_alert = "monitoring.bp_40m" },
    expect "60m" { overdue = "monitoring.bp_40m" },
    expect "60m" { alert = "monitoring.bp_40m", source = "overdue", priority = "medium" },
    expect "60m" { note = "Check 'monitoring.bp_40m' overdue in phase monitoring, 60 minutes into the session." },
    expect "65m" { escalated = "monitoring.bp_40m", priority = "medium", level = 1 },
    at "66m" { record = { bp_40m = bp(136, 84) } },
    expect "66m" { resolved = "monitoring.bp_40m" },
    at "67m" { ack = "bp_40m" },
    expect "67m" { acknowledged = "monitoring.bp_40m" },
    -- The 40-minute reading was taken late, outside its grace: missed, it holds
    -- the gate (missed = "hold", docs/safety.md G8) until a clinician overrides.
    at "131m" { advance = true },
    expect "131m" { gate_blocked = "monitoring", reason = "Blood pressure at 40 minutes missed at 40 min" },
    at "131m" { actor = "dr:kim", override = "40-minute BP taken at 66 minutes, normal: reviewed" },
    expect "131m" { entered = "discharge" },
  },

  spec "A missed 15-minute check: the three items overdue at 30m; a late entry clears them" {
    no_other = { "overdue", "notes" },
    session.predose(),
    session.dosing(),
    session.monitoring({ [25] = false }, nil, true),
    expect "30m" { overdue = "monitoring.respiration" },
    expect "30m" { overdue = "monitoring.moaas" },
    expect "30m" { overdue = "monitoring.dissociation" },
    expect "30m" { note = "Check 'monitoring.respiration' overdue" },
    expect "30m" { note = "Check 'monitoring.moaas' overdue" },
    expect "30m" { note = "Check 'monitoring.dissociation' overdue" },
    at "32m" { record = { respiration = { spo2 = 98, rr = 14 }, moaas = "5", dissociation = "none" } },
    -- One alert for the three items of the check (H2 in docs/safety.md).
    expect "30m" { alert = "monitoring.respiration", source = "overdue", message = "Checkpoint at 15 min" },
    expect "30m" { no_alert = "monitoring.moaas" },
    expect "32m" { resolved = "monitoring.respiration" },
  },
}
