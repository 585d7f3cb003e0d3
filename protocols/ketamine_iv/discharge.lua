-- discharge.lua: fit to leave. Modified Aldrete score, a responsible adult present,
-- no-driving advice and written instructions. Leaving this phase discharges the
-- visit; the gate lists everything still missing.
--
-- No rules: the decision is the gate's (param aldrete_min).

local v = require "vigil"

local fmt = string.format

-- Modified Aldrete (Aldrete 1995), each item 0, 1 or 2, total 0-10.
-- Source: REFERENCE.md "Scoring systems", modified Aldrete [P/S].
local ALDRETE_ITEM = { 0, 1, 2 }

return v.phase "discharge" {
  title = "Discharge",
  help = "Score the modified Aldrete, confirm the responsible adult is here and give the instructions. If the score "
         .. "is too low, keep observing and score again.",
  items = {
    v.score "aldrete" {
      title = "Modified Aldrete score",
      help = "activity: 2 moves 4 limbs, 1 moves 2, 0 none. respiration: 2 breathes deeply and coughs freely, "
             .. "1 dyspnoea or shallow breathing, 0 apnoeic. circulation (BP vs baseline): 2 within 20%, 1 20-49%, "
             .. "0 50% or more. consciousness: 2 fully awake, 1 arousable on calling, 0 not responding. "
             .. "spo2: 2 above 92% on room air, 1 needs O2 to stay above 90%, 0 below 90% even with O2.",
      fields = {
        activity = ALDRETE_ITEM,
        respiration = ALDRETE_ITEM,
        circulation = ALDRETE_ITEM,
        consciousness = ALDRETE_ITEM,
        spo2 = ALDRETE_ITEM,
      },
    },
    -- Source: REFERENCE.md "discharge": released to a responsible adult; written
    -- instructions; no driving for 24 h (clinic practice [W]; RCEM procedural
    -- sedation [S]); Spravato: no driving until the next day after restful sleep [P][S].
    v.check "responsible_adult" { title = "Responsible adult present to take the patient home" },
    v.check "no_driving_advice" { title = "Told not to drive or operate machinery for 24 hours" },
    v.check "written_instructions" { title = "Written discharge instructions given" },
  },

  -- Source: REFERENCE.md modified Aldrete: >= 9 fit to leave phase I recovery
  -- (param aldrete_min); "discharge" row for the three checks.
  gate = function(visit)
    local missing = {}
    local score = visit.value("aldrete")
    local min = visit.param("aldrete_min")
    if score == nil then
      missing[#missing + 1] = "modified Aldrete score not recorded"
    elseif score.total < min then
      missing[#missing + 1] = fmt("modified Aldrete %g, needs %g or more", score.total, min)
    end
    if visit.value("responsible_adult") ~= true then
      missing[#missing + 1] = "no responsible adult present"
    end
    if visit.value("no_driving_advice") ~= true then
      missing[#missing + 1] = "no-driving advice not given"
    end
    if visit.value("written_instructions") ~= true then
      missing[#missing + 1] = "written instructions not given"
    end
    if #missing > 0 then return false, table.concat(missing, "; ") end
    return true
  end,
}
