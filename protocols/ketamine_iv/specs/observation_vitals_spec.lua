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

-- Vitals recorded at `minutes`, before the observation's first checkpoint (66m), then the four
-- checkpoints' vitals skipped: the advance at 112m is refused with `reason`.
local function early_readings_then_skipped(minutes, reason)
  local steps = { visit.screening(70), visit.infusion() }
  for _, m in ipairs(minutes) do
    steps[#steps + 1] = at(m .. "m") { record = { vitals = vitals(128, 80) } }
  end
  steps[#steps + 1] = checkpoints({ [66] = true, [81] = true, [96] = true, [111] = true })
  steps[#steps + 1] = at "112m" { advance = true }
  steps[#steps + 1] = expect "112m" { gate_blocked = "observation", reason = reason }
  steps[#steps + 1] = expect "113m" { phase = "observation" }
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
    -- Readings taken now do not make up for the checkpoints (docs/safety.md AG4): the one at
    -- 114m is the 111m checkpoint's (within its 5 minutes), the others are none's, and more
    -- than one checkpoint without a reading is a clinician's override.
    at "114m" { record = { vitals = vitals(128, 80) } },
    at "119m" { record = { vitals = vitals(128, 80) } },
    expect "119m" { gate = "blocked", reason = "2 of 3 vitals readings recorded" },
    at "124m" { record = { vitals = vitals(128, 80) } },
    expect "124m" { gate = "blocked", reason = "vitals at 1 of 4 checkpoints" },
    at "125m" { advance = true },
    expect "125m" { gate_blocked = "observation", reason = "vitals at 1 of 4 checkpoints (a reading counts within "
                    .. "5 minutes of its checkpoint; 1 may go without: more needs a clinician's override)" },
    at "126m" { actor = "dr:kim", override = "asleep through the checkpoints, three calm readings since: reviewed" },
    expect "126m" { entered = "discharge" },
  },

  -- docs/safety.md U2: three readings typed within a minute are one look at the patient.
  spec "Three observation readings within a minute count once" {
    params = { weight = 70 },
    early_readings_then_skipped({ 52, 52, 53 },
                                "1 of 3 vitals readings recorded (3 taken; readings less than 5 minutes apart count once)"),
  },

  -- docs/safety.md AG4: readings 5 minutes apart early in the phase are one checkpoint's (the
  -- one at 62m is the 66m checkpoint's); with the others skipped the advance is refused.
  spec "Observation readings early in the phase and the checkpoints skipped: the advance is refused" {
    params = { weight = 70 },
    early_readings_then_skipped({ 52, 57, 62 }, "vitals at 1 of 4 checkpoints"),
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
