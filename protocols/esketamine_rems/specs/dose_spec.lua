-- The dose: prescribed (param dose_mg, 56 or 84 mg, a clinician's choice; the
-- label's day-1 dose 56 mg is the default) and the dose recorded checked against
-- it (rule dose_prescribed). 1.5.1, docs/safety.md N5: a nurse alone recorded
-- 84 mg at a course's first session.
local session = require "session"

return {
  spec "A dose other than the prescribed one alerts and holds dosing" {
    no_other = { "alerts", "blocks" },
    session.predose(),
    at "4m" { record = { dose = "84 mg", lot_number = "EKA2211" } },
    expect "4m" { alert = "dose_prescribed", priority = "medium", message = "Dose 84 mg is not the prescribed 56 mg" },
    expect "4m" { block = "dose_prescribed", reason = "not the prescribed 56 mg" },
    -- While the block stands the devices are not recorded as given (docs/safety.md N7).
    at "10m" { record = { devices_administered = true } },
    expect "10m" { refused = true, error = "not the prescribed 56 mg" },
    at "10m" { advance = true },
    expect "10m" { gate_blocked = "dosing", reason = "not the prescribed 56 mg" },
    at "11m" { amend = { item = "dose", value = "56 mg", reason = "two devices prepared, as prescribed" } },
    expect "11m" { unblocked = "dose_prescribed" },
    expect "11m" { resolved = "dose_prescribed" },
    at "12m" { actor = "dr:kim", ack = "dose_prescribed" },
    at "12m" { record = { devices_administered = true } },
    at "12m" { advance = true },
    expect "12m" { entered = "monitoring" },
  },

  spec "The prescribed 84 mg is recorded without a word" {
    params = { dose_mg = "84" },
    no_other = { "alerts", "blocks" },
    session.predose(),
    at "4m" { record = { dose = "84 mg", lot_number = "EKA2211" } },
    at "10m" { record = { devices_administered = true } },
    at "10m" { advance = true },
    expect "10m" { entered = "monitoring" },
  },

  spec "56 mg where 84 mg is prescribed holds too" {
    params = { dose_mg = "84" },
    session.predose(),
    at "4m" { record = { dose = "56 mg", lot_number = "EKA2211" } },
    expect "4m" { block = "dose_prescribed", reason = "Dose 56 mg is not the prescribed 84 mg" },
  },
}
