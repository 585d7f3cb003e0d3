-- boundaries.lua: every scale of the scoring library (core/lang/lua/scores.lua) at
-- every band boundary, run inside a protocol sandbox by tests/test_scores.c.
-- Each check names its line on failure; the file returns how many ran.
local s = require "vigil.scores"
local fmt = string.format

local checks = 0
local function eq(got, want, what)
  checks = checks + 1
  if got ~= want then error(fmt("%s: expected %s, got %s", what, tostring(want), tostring(got)), 2) end
end
local function fails(fn, part, what)
  checks = checks + 1
  local ok, err = pcall(fn)
  if ok then error(what .. ": expected an error", 2) end
  if not tostring(err):find(part, 1, true) then error(fmt("%s: error \"%s\" lacks \"%s\"", what, err, part), 2) end
end

-- NEWS2 ------------------------------------------------------------------
local CALM = { rr = 16, spo2 = 97, o2 = false, sbp = 120, hr = 70, consciousness = "alert", temp = 37.0 }
local function news2(over, opts)
  local x = {}
  for k, v in pairs(CALM) do x[k] = v end
  for k, v in pairs(over) do x[k] = v end
  return s.news2(x, opts)
end
eq(news2({}).total, 0, "calm total")
eq(news2({}).response, "routine", "calm response")

local PARAM = {
  rr = { { 8, 3 }, { 9, 1 }, { 11, 1 }, { 12, 0 }, { 20, 0 }, { 21, 2 }, { 24, 2 }, { 25, 3 } },
  spo2 = { { 91, 3 }, { 92, 2 }, { 93, 2 }, { 94, 1 }, { 95, 1 }, { 96, 0 } },
  sbp = { { 90, 3 }, { 91, 2 }, { 100, 2 }, { 101, 1 }, { 110, 1 }, { 111, 0 }, { 219, 0 }, { 220, 3 } },
  hr = { { 40, 3 }, { 41, 1 }, { 50, 1 }, { 51, 0 }, { 90, 0 }, { 91, 1 }, { 110, 1 }, { 111, 2 }, { 130, 2 },
         { 131, 3 } },
  temp = { { 35.0, 3 }, { 35.1, 1 }, { 36.0, 1 }, { 36.1, 0 }, { 38.0, 0 }, { 38.1, 1 }, { 39.0, 1 }, { 39.1, 2 },
           { 35.04, 3 }, { 35.05, 1 } },   -- read to 0.1 C, half up
}
for name, cases in pairs(PARAM) do
  for _, c in ipairs(cases) do
    local r = news2({ [name] = c[1] })
    eq(r.parts[name], c[2], fmt("news2 %s %g", name, c[1]))
    eq(r.total, c[2], fmt("news2 total with %s %g", name, c[1]))
  end
end
for _, c in ipairs({ { "alert", 0 }, { "confusion", 3 }, { "voice", 3 }, { "pain", 3 }, { "unresponsive", 3 } }) do
  eq(news2({ consciousness = c[1] }).parts.consciousness, c[2], "news2 consciousness " .. c[1])
end
eq(news2({ o2 = true }).parts.o2, 2, "news2 on oxygen")
eq(news2({ o2 = true }).parts.spo2, 0, "news2 scale 1 ignores oxygen for SpO2")
-- SpO2 scale 2, on air and on oxygen.
for _, c in ipairs({ { 83, 3 }, { 84, 2 }, { 85, 2 }, { 86, 1 }, { 87, 1 }, { 88, 0 }, { 92, 0 }, { 93, 0 },
                     { 100, 0 } }) do
  eq(news2({ spo2 = c[1] }, { scale = 2 }).parts.spo2, c[2], fmt("news2 scale 2 on air %d", c[1]))
end
for _, c in ipairs({ { 83, 3 }, { 84, 2 }, { 86, 1 }, { 88, 0 }, { 92, 0 }, { 93, 1 }, { 94, 1 }, { 95, 2 },
                     { 96, 2 }, { 97, 3 } }) do
  eq(news2({ spo2 = c[1], o2 = true }, { scale = 2 }).parts.spo2, c[2], fmt("news2 scale 2 on O2 %d", c[1]))
end
-- Response bands: 0 routine, 1-4 low, a single 3 low-medium, 5-6 medium, >= 7 high.
eq(news2({ hr = 91 }).response, "low", "news2 total 1")
eq(news2({ hr = 111, rr = 21 }).response, "low", "news2 total 4")
eq(news2({ sbp = 90 }).response, "low-medium", "news2 a single 3")
eq(news2({ sbp = 90 }).three_in_one, true, "news2 three_in_one")
eq(news2({ hr = 111, sbp = 90 }).response, "medium", "news2 total 5 with a 3")
eq(news2({ hr = 111, rr = 21, o2 = true }).total, 6, "news2 total 6")
eq(news2({ hr = 111, rr = 21, o2 = true }).response, "medium", "news2 total 6")
eq(news2({ hr = 111, rr = 21, o2 = true, temp = 38.1 }).response, "high", "news2 total 7")
eq(news2({ rr = 25, spo2 = 91, o2 = true, sbp = 90, hr = 131, consciousness = "pain", temp = 35.0 }).total, 20,
   "news2 maximum")
fails(function() news2({ temp = false }) end, "temp", "news2 without a temperature")
fails(function() s.news2({ rr = 16, spo2 = 97, sbp = 120, hr = 70, consciousness = "alert", temp = 37 }) end,
      "o2 (on supplemental oxygen", "news2 without the oxygen flag")
fails(function() news2({ consciousness = "asleep" }) end, "consciousness must be", "news2 unknown ACVPU")
fails(function() news2({}, { scale = 3 }) end, "scale must be 1 or 2", "news2 scale 3")
-- Nonsense is refused with its field named, never scored (docs/safety.md H9).
fails(function() news2({ spo2 = 150 }) end, "spo2 150 is outside the plausible range 0-100", "news2 SpO2 150")
fails(function() news2({ rr = -5 }) end, "rr -5 is outside the plausible range", "news2 RR -5")
fails(function() news2({ hr = 0 / 0 }) end, "hr must be a number", "news2 HR NaN")
fails(function() news2({ sbp = math.huge }) end, "sbp must be a number", "news2 SBP infinite")
fails(function() news2({ temp = 98.6 }) end, "temp 98.6 is outside the plausible range 25-45 C", "news2 Fahrenheit")
fails(function() news2({ sbp = "120" }) end, "sbp must be a number (got \"120\")", "news2 SBP as text")
fails(function() news2({ o2 = "yes" }) end, "o2 (on supplemental oxygen) must be true or false (got \"yes\")",
      "news2 o2 as text")
fails(function() news2({ o2 = 1 }) end, "must be true or false", "news2 o2 as a number")
eq(news2({ rr = 0 }).parts.rr, 3, "news2 apnoea (RR 0) still scores")
eq(news2({ spo2 = 100, temp = 45 }).total, 2, "news2 at the top of the plausible ranges")
eq(news2({ temp = 98.6 }, { plausible = { rr = { 0, 80 }, spo2 = { 0, 100 }, sbp = { 20, 300 }, hr = { 0, 300 },
                                           temp = { 25, 110 } } }).parts.temp, 2,
   "news2 plausible ranges are data a protocol can replace")

-- Modified Aldrete ---------------------------------------------------------
local function aldrete(over)
  local x = { activity = 2, respiration = 2, circulation = 2, consciousness = 2, spo2 = 2 }
  for k, v in pairs(over) do x[k] = v end
  return s.aldrete(x)
end
eq(aldrete({}).total, 10, "aldrete all 2")
eq(aldrete({ spo2 = 1 }).fit, true, "aldrete 9 is fit")
eq(aldrete({ spo2 = 1, activity = 1 }).fit, false, "aldrete 8 is not fit")
eq(aldrete({ activity = "moves 2 extremities", respiration = "apnoeic", consciousness = "fully awake" }).total, 7,
   "aldrete from the options")
fails(function() aldrete({ activity = "walks" }) end, "is not one of: moves 4 extremities", "aldrete bad option")
fails(function() aldrete({ spo2 = 3 }) end, "spo2 must be 0, 1 or 2", "aldrete points out of range")
-- Entered points arrive as JSON numbers: 2.0 is 2 (docs/safety.md H9).
eq(aldrete({ activity = 2.0, respiration = 2.0, circulation = 2.0, consciousness = 2.0, spo2 = 1.0 }).fit, true,
   "aldrete points as floats")
eq(aldrete({ activity = 2.0 }).parts.activity, 2, "aldrete 2.0 reads as the integer 2")
eq(math.type(aldrete({ activity = 2.0 }).total), "integer", "aldrete total is an integer")
fails(function() aldrete({ spo2 = 1.5 }) end, "spo2 must be 0, 1 or 2 (got 1.5)", "aldrete half points")
fails(function() aldrete({ spo2 = 0 / 0 }) end, "spo2 must be 0, 1 or 2", "aldrete NaN")
fails(function() aldrete({ spo2 = true }) end, "spo2 must be 0, 1 or 2", "aldrete wrong type")
fails(function() s.aldrete_spo2(150, false) end, "spo2 150 is outside the plausible range", "aldrete_spo2 150")
fails(function() s.aldrete_circulation(0 / 0, 120) end, "bp must be a number", "aldrete_circulation NaN")
for _, c in ipairs({ { 100, 2 }, { 120, 2 }, { 80, 2 }, { 121, 1 }, { 79, 1 }, { 149, 1 }, { 150, 0 }, { 50, 0 } }) do
  eq(s.aldrete_circulation(c[1], 100), c[2], fmt("aldrete circulation %d vs 100 (%%)", c[1]))
end
for _, c in ipairs({ { 140, 2 }, { 141, 1 }, { 170, 1 }, { 171, 0 }, { 99, 1 } }) do
  eq(s.aldrete_circulation(c[1], 120, { variant = "mmhg" }), c[2], fmt("aldrete circulation %d vs 120 (mmHg)", c[1]))
end
eq(s.aldrete_circulation(130, 100, { bands = { { max = 30, points = 2 }, { points = 0 } } }), 2,
   "aldrete circulation with a clinic's own bands")
for _, c in ipairs({ { 93, false, 2 }, { 92, false, 1 }, { 93, true, 1 }, { 91, true, 1 }, { 90, true, 0 },
                     { 89, false, 0 } }) do
  eq(s.aldrete_spo2(c[1], c[2]), c[3], fmt("aldrete spo2 %d on %s", c[1], c[2] and "O2" or "air"))
end

-- PADSS and modified PADSS --------------------------------------------------
for _, c in ipairs({ { 0, 2 }, { 20, 2 }, { 21, 1 }, { 40, 1 }, { 41, 0 }, { -25, 1 } }) do
  eq(s.padss_vital_signs(c[1]), c[2], fmt("padss vital signs %d%%", c[1]))
end
local M = { vital_signs = 2, ambulation = 2, nausea_vomiting = 2, pain = 2, bleeding = 1 }
eq(s.padss(M, { escort = true }).total, 9, "modified padss 9")
eq(s.padss({ vital_signs = 2.0, ambulation = 2.0, nausea_vomiting = 2.0, pain = 2.0, bleeding = 1.0 },
           { escort = true }).fit, true, "modified padss points as floats")
fails(function() s.padss({ vital_signs = 2, ambulation = 2, nausea_vomiting = 2, pain = 2, bleeding = 0.5 }) end,
      "bleeding must be 0, 1 or 2", "padss half points")
eq(s.padss(M, { escort = true }).fit, true, "modified padss 9 with an escort is fit")
eq(s.padss(M, { escort = false }).fit, false, "modified padss 9 without an escort is not fit")
M.pain = 1
eq(s.padss(M, { escort = true }).fit, false, "modified padss 8 is not fit")
local NO_BLEEDING = { vital_signs = 2, ambulation = 2, nausea_vomiting = 2, pain = 1 }
fails(function() s.padss(NO_BLEEDING) end, "bleeding must be 0, 1 or 2, or declared not applicable",
      "padss: an omission is not N/A")
eq(s.padss(NO_BLEEDING, { not_applicable = { bleeding = "max" }, escort = true }).total, 9, "padss N/A as max")
eq(s.padss(NO_BLEEDING, { not_applicable = { bleeding = "max" }, escort = true }).fit, true, "padss N/A max fit")
eq(s.padss(NO_BLEEDING, { not_applicable = { bleeding = "prorate" } }).total, 9, "padss N/A prorated (7 x 5/4)")
NO_BLEEDING.pain = 0
eq(s.padss(NO_BLEEDING, { not_applicable = { bleeding = "prorate" } }).total, 8, "padss N/A prorated (6 x 5/4)")
fails(function() s.padss(M, { not_applicable = { bleeding = "max" } }) end, "declared not applicable but has a value",
      "padss N/A with a value")
fails(function() s.padss(M, { not_applicable = { intake_output = "max" } }) end, "not an item of this variant",
      "padss N/A of another variant")
eq(s.padss({ vital_signs = 2, activity = 2, pain_nausea = 2, bleeding = 2, intake_output = 1 },
           { variant = "original", escort = true }).fit, true, "original padss 9")

-- PHQ-9 and GAD-7 -----------------------------------------------------------
local function answers(n, total, max)
  local x = {}
  for i = 1, n do
    local a = math.min(max, total)
    x["q" .. i], total = a, total - a
  end
  return x
end
for _, c in ipairs({ { 0, "minimal" }, { 4, "minimal" }, { 5, "mild" }, { 9, "mild" }, { 10, "moderate" },
                     { 14, "moderate" }, { 15, "moderately severe" }, { 19, "moderately severe" }, { 20, "severe" },
                     { 24, "severe" } }) do
  local r = s.phq9(answers(8, c[1], 3) and (function() local x = answers(8, c[1], 3) x.q9 = 0 return x end)())
  eq(r.total, c[1], "phq9 total " .. c[1])
  eq(r.band, c[2], "phq9 band at " .. c[1])
  eq(r.item9, false, "phq9 item 9 at " .. c[1])
end
local full = answers(9, 27, 3)
eq(s.phq9(full).band, "severe", "phq9 27")
eq(s.phq9(full).item9, true, "phq9 27 item 9")
local only9 = answers(9, 0, 3)
only9.q9 = 1
eq(s.phq9(only9).band, "minimal", "phq9 item 9 alone: minimal total")
eq(s.phq9(only9).item9, true, "phq9 item 9 alone is flagged")
fails(function() local x = answers(9, 0, 3) x.q4 = 4 s.phq9(x) end, "q4 must be 0-3", "phq9 answer out of range")
fails(function() local x = answers(9, 0, 3) x.q2 = nil s.phq9(x) end, "q2 must be a whole number", "phq9 missing")
do local x = answers(9, 0, 3) x.q9 = 1.0 eq(s.phq9(x).item9, true, "phq9 item 9 as a float") end
fails(function() local x = answers(9, 0, 3) x.q3 = 1.5 s.phq9(x) end, "q3 must be a whole number", "phq9 half")
for _, c in ipairs({ { 0, "minimal" }, { 4, "minimal" }, { 5, "mild" }, { 9, "mild" }, { 10, "moderate" },
                     { 14, "moderate" }, { 15, "severe" }, { 21, "severe" } }) do
  local r = s.gad7(answers(7, c[1], 3))
  eq(r.total, c[1], "gad7 total " .. c[1])
  eq(r.band, c[2], "gad7 band at " .. c[1])
end

-- MOAA/S and RASS -------------------------------------------------------------
eq(#s.moaas.options, 6, "moaas has 6 levels")
eq(s.moaas.level("5"), 5, "moaas 5")
eq(s.moaas.level("0"), 0, "moaas 0")
eq(s.moaas.level(nil), nil, "moaas not recorded")
fails(function() s.moaas.level("6") end, "not a level", "moaas 6")
eq(#s.rass.options, 10, "rass has 10 levels")
eq(s.rass.level("+4"), 4, "rass +4")
eq(s.rass.level("0"), 0, "rass 0")
eq(s.rass.level("-5"), -5, "rass -5")
eq(s.rass.labels["0"], "alert and calm", "rass 0 label")
fails(function() s.rass.level("4") end, "not a level", "rass without its sign")
eq(s.moaas.help:sub(1, 8), "5 respon", "moaas help starts at 5")

-- CADSS ---------------------------------------------------------------------
local seen, n = {}, 0
for _, items in pairs(s.cadss_subscales) do
  for _, i in ipairs(items) do
    eq(seen[i], nil, "cadss item " .. i .. " in one subscale only")
    seen[i], n = true, n + 1
  end
end
eq(n, 23, "cadss subscales cover the 23 items")
local c = s.cadss(answers(23, 92, 4))
eq(c.total, 92, "cadss maximum")
eq(c.subscales.depersonalization, 28, "cadss depersonalization maximum")
eq(c.subscales.derealization, 48, "cadss derealization maximum")
eq(c.subscales.amnesia, 16, "cadss amnesia maximum")
eq(s.cadss(answers(23, 0, 4)).total, 0, "cadss minimum")
eq(s.cadss(answers(23, 30, 4), answers(23, 6, 4)).change, 24, "cadss change from baseline")
fails(function() local x = answers(23, 0, 4) x.q23 = 5 s.cadss(x) end, "q23 must be 0-4", "cadss out of range")
eq(#s.cadss_fields.q23, 5, "cadss fields 0-4")

-- The library is shared by every visit: it cannot be changed.
fails(function() s.news2_bands.rr[1].points = 0 end, "read-only", "bands are read-only")
fails(function() s.phq9 = nil end, "read-only", "the module is read-only")

return checks
