-- visit.lua: steps shared by the ketamine_iv specs (`require "visit"`).
--
-- Each function returns a list of `at` steps that a spec puts among its own.
-- The times follow the bundled scenarios: screening from 0, infusion from 10m,
-- observation from 51m, discharge from 112m (minutes from the visit's start).

local visit = {}

-- "130/80" and the rest of a calm reading: vitals(130, 80) or vitals(130, 80, { hr = 125 }).
function visit.vitals(sbp, dbp, over)
  local r = { sbp = sbp, dbp = dbp, hr = 74, spo2 = 98, rr = 14 }
  for k, x in pairs(over or {}) do r[k] = x end
  return r
end

-- A clean screening (no contraindication, ride confirmed), baseline 130/80,
-- the dose for `weight` kg at 0.5 mg/kg, its second check, and a PHQ-9 of 10.
-- Leaves screening at 10m unless stay = true.
function visit.screening(weight, stay)
  local steps = {
    at "0m" { record = { consent = true, ci_hypertension = "no", ci_vascular = "no", ci_psychosis = "no",
                         ci_hypersensitivity = "no", pregnancy = "neither", substance_use = "no",
                         ride_confirmed = true, fasting_hours = 3 } },
    at "2m" { record = { baseline = visit.vitals(130, 80) } },
    at "4m" { record = { dose = weight * 0.5 } },
    at "5m" { actor = "nurse:ben", record = { dose_check = true } },
    at "6m" { record = { phq9 = { q1 = 2, q2 = 2, q3 = 1, q4 = 2, q5 = 1, q6 = 1, q7 = 1, q8 = 0, q9 = 0 } } },
  }
  if not stay then steps[#steps + 1] = at "10m" { advance = true } end
  return steps
end

-- The infusion's four checkpoints (20, 30, 40, 50m) with calm readings, except
-- those given in `readings` (by minute: { [30] = visit.vitals(184, 104) }).
-- Records the start (and the pump's rate) at 10m and the stop (with the volume
-- infused, 100 mL, and the dose given: `given` mg, 35 unless said, the dose drawn up
-- for 70 kg, which the rule dose_given compares it with) at 50m, and leaves at 51m.
function visit.infusion(readings, given)
  readings = readings or {}
  local steps = { at "10m" { record = { infusion_started = true, pump_rate = 150 } } }
  for _, m in ipairs({ 20, 30, 40, 50 }) do
    local r = { vitals = readings[m] or visit.vitals(134, 84), moaas = "5", dissociation = "present" }
    if m == 50 then
      r.infusion_stopped, r.volume_infused, r.dose_given = true, 100, given or 35
    end
    steps[#steps + 1] = at(m .. "m") { record = r }
  end
  steps[#steps + 1] = at "51m" { advance = true }
  return steps
end

-- Observation checkpoints at 66, 81, 96 and 111m, recovered by the last one,
-- then the discharge phase at 112m. `last`: the vitals at 111m instead (a
-- low reading: the visit then stays in observation).
function visit.observation(last)
  local steps = {}
  for _, m in ipairs({ 66, 81, 96, 111 }) do
    local r = m == 111 and last or visit.vitals(128, 80)
    steps[#steps + 1] = at(m .. "m") { record = { vitals = r, moaas = "5", dissociation = "none" } }
  end
  if not last then steps[#steps + 1] = at "112m" { advance = true } end
  return steps
end

-- Fit to leave: Aldrete 10, the three checks, discharged at 115m.
function visit.discharge()
  return {
    at "113m" { record = { aldrete = { activity = 2, respiration = 2, circulation = 2, consciousness = 2, spo2 = 2 },
                           responsible_adult = true, no_driving_advice = true, written_instructions = true } },
    at "115m" { discharge = true },
  }
end

return visit
