-- Checkpoints: a scheduled item turns overdue 5 minutes after its due time,
-- raises one medium overdue alert (latching) that escalates after 5 minutes
-- unacknowledged (one level up, who is told; the priority stays medium),
-- resolves when the item is recorded, and the protocol's on.overdue hook adds a
-- note. The items of one checkpoint that go overdue together are one alert
-- (H2 in docs/safety.md). (scenarios/missed_checkpoint.lua.)
local visit = require "visit"
local vitals = visit.vitals

return spec "A missed vitals checkpoint is overdue at 25m and escalates at 30m" {
  params = { weight = 65 },
  no_other = { "alerts", "overdue", "escalations" },
  visit.screening(65),
  at "10m" { record = { infusion_started = true, pump_rate = 150 } },
  at "20m" { record = { moaas = "5", dissociation = "present" } },        -- vitals missed
  expect "24m" { phase = "infusion" },
  expect "25m" { overdue = "infusion.vitals" },
  expect "25m" { alert = "vitals", source = "overdue", priority = "medium" },
  expect "25m" { note = "Checkpoint 'infusion.vitals' overdue in phase infusion, 25 minutes into the visit." },
  expect "25m" { no_alert = "moaas" },
  expect "30m" { escalated = "vitals", priority = "medium", level = 1 },
  at "30m" { record = { moaas = "4", dissociation = "present" } },
  at "32m" { record = { vitals = vitals(138, 86) } },
  expect "32m" { resolved = "vitals" },
  at "33m" { ack = "vitals" },
  expect "33m" { acknowledged = "vitals" },
  at "40m" { record = { vitals = vitals(140, 88), moaas = "4", dissociation = "present" } },
  at "50m" { record = { vitals = vitals(134, 84), moaas = "5", dissociation = "present", infusion_stopped = true,
                        volume_infused = 100, dose_given = 35 } },
  -- The checkpoint missed at 20m (10 min into the infusion) holds the gate
  -- (missed = "hold", docs/safety.md G8): a clinician overrides with a reason.
  at "51m" { advance = true },
  expect "51m" { gate_blocked = "infusion", reason = "Vitals missed at 10 min (never recorded nor skipped)" },
  at "51m" { actor = "dr:kim", override = "vitals at 10 min missed, later readings normal: reviewed" },
  expect "51m" { entered = "observation" },
  -- Observation checkpoints are due every 15 minutes from 51m: the first at 66m.
  expect "70m" { phase = "observation" },
  expect "71m" { overdue = "observation.vitals" },
  expect "71m" { overdue = "observation.moaas" },
  expect "71m" { overdue = "observation.dissociation" },
  -- One alert for the checkpoint, not one per item.
  expect "71m" { alert = "vitals", source = "overdue",
                 message = "Checkpoint at 15 min into Observation after the infusion overdue: Vitals, Sedation" },
  expect "71m" { no_alert = "moaas" },
  expect "71m" { no_alert = "dissociation" },
  -- It stays until every item of the checkpoint is recorded (resolved at 73m, not 72m).
  at "72m" { record = { vitals = vitals(128, 80) } },
  at "73m" { record = { moaas = "5", dissociation = "none" } },
  expect "73m" { resolved = "vitals" },
  run_until = "80m",
}
