-- The infusion's record (1.7.0, issue 19; docs/clinical/ketamine-dosing.md, "The
-- infusion's record"): the pump's rate, the volume infused and the dose given
-- are recorded before the infusion is left, in their units; one the pump could
-- not give is "Not done" with a reason; a value no visit can have is refused.
local visit = require "visit"
local vitals = visit.vitals

-- The infusion's checkpoints with calm readings, the stop at 50m, and no record.
local function infusion_without_record()
  return {
    at "10m" { record = { infusion_started = true } },
    at "20m" { record = { vitals = vitals(130, 80), moaas = "5", dissociation = "none" } },
    at "30m" { record = { vitals = vitals(130, 80), moaas = "5", dissociation = "none" } },
    at "40m" { record = { vitals = vitals(130, 80), moaas = "5", dissociation = "none" } },
    at "50m" { record = { vitals = vitals(130, 80), moaas = "5", dissociation = "none", infusion_stopped = true } },
  }
end

return {
  spec "The infusion is not left without the pump's rate, the volume infused and the dose given" {
    params = { weight = 70 },
    visit.screening(70),
    infusion_without_record(),
    at "51m" { advance = true },
    expect "51m" { gate_blocked = "infusion", reason = "Pump rate set not recorded" },
    expect "51m" { gate_blocked = "infusion", reason = "Volume infused not recorded" },
    expect "51m" { gate_blocked = "infusion", reason = "Ketamine dose given not recorded" },
    at "52m" { record = { pump_rate = 150, volume_infused = 100, dose_given = 35 } },
    expect "52m" { gate = "open" },
    at "53m" { advance = true },
    expect "53m" { entered = "observation" },
  },

  spec "A pump that showed no rate: not done with a reason, and the infusion is left" {
    params = { weight = 70 },
    visit.screening(70),
    infusion_without_record(),
    at "51m" { skip = { item = "pump_rate", reason = "pump display failed; rate set by the clinician's order" } },
    at "51m" { record = { volume_infused = 100, dose_given = 35 } },
    at "52m" { advance = true },
    expect "52m" { entered = "observation" },
  },

  spec "A dose given above 250 mg or a rate of 0 is refused as a typing error" {
    params = { weight = 70 },
    visit.screening(70),
    at "10m" { record = { infusion_started = true, pump_rate = 0 } },
    expect "10m" { refused = true },
    at "50m" { record = { dose_given = 350 } },
    expect "50m" { refused = true },
    expect "51m" { phase = "infusion" },
  },
}
