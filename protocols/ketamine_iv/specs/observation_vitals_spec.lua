-- The observation's gate needs post-infusion vitals (docs/safety.md T2): 3 readings
-- of the phase, as the infusion's gate needs 3 of its own. The discharge's checks that
-- read the last vitals (its low BP and heart-rate hold, the Aldrete cross-check) and
-- the BP-recovery block see a reading taken after the infusion only so.
local visit = require "visit"
local vitals = visit.vitals

-- The observation's four checkpoints (66, 81, 96, 111m), MOAA/S 5 and no dissociation
-- at each, the vitals recorded calm except at the minutes in `skipped`, where the nurse
-- skips them with a reason.
local function checkpoints(skipped)
  local steps = {}
  for _, m in ipairs({ 66, 81, 96, 111 }) do
    local t = m .. "m"
    if skipped[m] then
      steps[#steps + 1] = at(t) { skip = { item = "vitals", reason = "patient asleep" } }
      steps[#steps + 1] = at(t) { record = { moaas = "5", dissociation = "none" } }
    else
      steps[#steps + 1] = at(t) { record = { vitals = vitals(128, 80), moaas = "5", dissociation = "none" } }
    end
  end
  return steps
end

return {
  spec "Every observation vitals checkpoint skipped: the advance is refused naming them" {
    params = { weight = 70 },
    visit.screening(70),
    visit.infusion(),
    checkpoints({ [66] = true, [81] = true, [96] = true, [111] = true }),
    at "112m" { advance = true },
    expect "112m" { gate_blocked = "observation", reason = "0 of 3 vitals readings recorded" },
    expect "113m" { phase = "observation" },
    -- Readings taken now count: the gate asks for readings, not checkpoints (5 minutes
    -- apart, vitals_apart_min: docs/safety.md U2).
    at "114m" { record = { vitals = vitals(128, 80) } },
    at "119m" { record = { vitals = vitals(128, 80) } },
    expect "119m" { gate = "blocked", reason = "2 of 3 vitals readings recorded" },
    at "124m" { record = { vitals = vitals(128, 80) } },
    expect "124m" { gate = "open" },
    at "125m" { advance = true },
    expect "125m" { entered = "discharge" },
  },

  -- docs/safety.md U2: three readings typed within a minute are one look at the patient.
  spec "Three observation readings within a minute count once" {
    params = { weight = 70 },
    visit.screening(70),
    visit.infusion(),
    at "52m" { record = { vitals = vitals(128, 80) } },
    at "52m" { record = { vitals = vitals(128, 80) } },
    at "53m" { record = { vitals = vitals(128, 80) } },
    checkpoints({ [66] = true, [81] = true, [96] = true, [111] = true }),
    at "112m" { advance = true },
    expect "112m" {
      gate_blocked = "observation",
      reason = "1 of 3 vitals readings recorded (3 taken; readings less than 5 minutes apart count once)",
    },
    expect "113m" { phase = "observation" },
  },

  -- A checkpoint skipped with a reason is not overdue: no alert, no override.
  spec "Three observation readings and one checkpoint skipped with a reason: the advance goes" {
    params = { weight = 70 },
    no_other = { "alerts", "gates" },
    visit.screening(70),
    visit.infusion(),
    checkpoints({ [81] = true }),
    at "112m" { advance = true },
    expect "112m" { entered = "discharge" },
  },
}
