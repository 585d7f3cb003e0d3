-- The infusion's time (docs/safety.md AL8): the rule infusion_time compares the time from
-- infusion_started to infusion_stopped (their observed times) with infusion_min_minutes
-- (36); stopped sooner, the dose ran faster than prescribed: a carried high alert that holds
-- the infusion until a clinician reviews it.
local visit = require "visit"
local vitals = visit.vitals

-- Started at 10m at `rate` mL/h, stopped `after` minutes later, the checkpoints at 20-50m.
local function infusion_stopped_after(after, rate)
  local steps = { at "10m" { record = { infusion_started = true, pump_rate = rate } } }
  steps[#steps + 1] = at((10 + after) .. "m") { record = { infusion_stopped = true, volume_infused = 100,
                                                          dose_given = 35 } }
  for _, m in ipairs({ 20, 30, 40, 50 }) do
    steps[#steps + 1] = at(m .. "m") { record = { vitals = vitals(130, 80), moaas = "5", dissociation = "none" } }
  end
  return steps
end

return {
  spec "An infusion stopped 4 minutes after it started alerts high and holds until a clinician reviews it" {
    params = { weight = 70 },
    visit.screening(70),
    infusion_stopped_after(4, 1000),
    expect "14m" { alert = "infusion_time", priority = "high",
                   message = "Infusion stopped 4 minutes after it started (at least 36 expected)" },
    at "51m" { advance = true },
    expect "51m" { gate_blocked = "infusion", reason = "Infusion stopped 4 minutes after it started" },
    at "52m" { actor = "dr:kim", ack = "infusion_time", reason = "pump set 1000 for 100 mL/h; patient assessed" },
    expect "52m" { resolved = "infusion_time" },
    at "53m" { advance = true },
    expect "53m" { entered = "observation" },
  },

  spec "An infusion stopped 35 minutes after it started alerts" {
    params = { weight = 70 },
    visit.screening(70),
    infusion_stopped_after(35, 150),
    expect "45m" { alert = "infusion_time", priority = "high", message = "Infusion stopped 35 minutes after it started" },
  },

  spec "An infusion stopped at the minimum time raises nothing" {
    params = { weight = 70 },
    no_other = { "alerts" },
    visit.screening(70),
    infusion_stopped_after(36, 150),
    at "51m" { advance = true },
    expect "51m" { entered = "observation" },
  },
}
