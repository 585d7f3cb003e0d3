-- course.lua: whole sessions of a course for the ketamine_iv course specs
-- (`require "course"`): the uneventful visit of visit.lua, moved to a day of
-- the course, with that session's PHQ-9 and dose.

local visit = require "visit"

local course = {}

local DAY = 86400000

-- PHQ-9 answers that add up to total (0-27), item 9 at 0.
local function phq9(total)
  local x = {}
  for i = 1, 8 do
    local q = math.min(3, math.max(0, total - 3 * (i - 1)))
    x["q" .. i] = q
  end
  x.q9 = 0
  return x
end

local function add(steps, list, ms)
  for _, n in ipairs(list) do
    n.lo, n.hi = n.lo + ms, n.hi + ms
    steps[#steps + 1] = n
  end
end

-- A session on `day` (0: the spec's own first visit; later ones start the
-- next session): screening with the given PHQ-9 total and dose (mg), an
-- uneventful infusion and observation, discharged at 115m. params: the
-- session's params when it starts (a changed dose_mg_per_kg).
function course.session(day, weight, total, dose, params)
  local steps, ms = {}, day * DAY
  if day > 0 then add(steps, { at "0m" { start = params and { params = params } or true } }, ms) end
  add(steps, {
    at "0m" { record = { consent = true, ci_hypertension = "no", ci_vascular = "no", ci_psychosis = "no",
                         ci_hypersensitivity = "no", pregnancy = "neither", substance_use = "no",
                         ride_confirmed = true, fasting_hours = 3 } },
    at "2m" { record = { baseline = visit.vitals(130, 80) } },
    at "4m" { record = { dose = dose or weight * 0.5 } },
    at "5m" { actor = "nurse:ben", record = { dose_check = true } },
    at "6m" { record = { phq9 = phq9(total) } },
    at "10m" { advance = true },
  }, ms)
  add(steps, visit.infusion(nil, dose or weight * 0.5), ms)
  add(steps, visit.observation(), ms)
  add(steps, visit.discharge(), ms)
  return steps
end

-- "3d115m" and the like: a time `minutes` into `day`, for expectations.
function course.at(day, minutes) return string.format("%dm", day * 1440 + (minutes or 0)) end

return course
