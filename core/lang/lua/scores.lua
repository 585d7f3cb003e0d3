-- scores.lua: the scoring library, `local scores = require "vigil.scores"`.
--
-- Compiled into the vigil binary like vigil.lua and run inside the protocol's
-- sandbox, so rules, gates and `compute` functions can call it. Every scale
-- keeps its bands as data (tables below, each with its source in
-- docs/clinical/README.md, "Bands in the scoring library"); functions only look values up in them. A
-- clinic that uses another variant passes its own bands (scores.band and each
-- scale's `bands` option) instead of editing numbers in code.
--
-- Copyrighted instruments (CADSS) are bundled as structure only: item count,
-- ranges, totals and subscales, never their wording.

local readonly = ...          -- deep read-only views, from vigil.lua (the tables are shared by every visit)
local fmt = string.format

local scores = {}

---------------------------------------------------------------------------
-- Bands. A band list is ordered by value; each band is { max = n, points = p }
-- (value <= max) and the last may have no max. Values are first rounded to
-- the scale's resolution, half up (35.05 C reads as 35.1), so a value between
-- two printed bands falls in the one a nurse reading the chart would pick.
---------------------------------------------------------------------------
local function round_to(x, step)
  step = step or 1
  -- The tolerance keeps 35.05 (stored as 35.04999...) a half that rounds up.
  return math.floor(x / step + 0.5 + 1e-9) * step
end

--- The band of value in bands (see above); nil when value is not a number.
function scores.band(value, bands, step)
  if type(value) ~= "number" then return nil end
  local x = round_to(value, step)
  for _, b in ipairs(bands) do
    -- A small tolerance: 36.0 computed as 35.99999999 is still 36.0.
    if b.max == nil or x <= b.max + 1e-9 then return b end
  end
  return nil
end

local function need(x, name, what)
  if x == nil then error(fmt("%s: %s is missing", what, name), 3) end
  return x
end

-- A whole number however it arrived: 2, 2.0 (JSON gives every number as a
-- float) or nil when x is not a whole number at all.
local function whole(x)
  if type(x) ~= "number" then return nil end
  return math.tointeger(x)
end

-- A measured value, refused unless it is a finite number within the scale's
-- plausible range lo..hi (a typing slip such as SpO2 150, RR -5, NaN or a
-- temperature in Fahrenheit is refused, never scored).
-- level is the error level of the protocol code that called the library.
local function measured(x, name, what, range, unit, level)
  if type(x) ~= "number" or x ~= x or x == math.huge or x == -math.huge then
    error(fmt("%s: %s must be a number (got %s)", what, name,
              type(x) == "string" and ('"' .. x .. '"') or tostring(x)), level)
  end
  if range and (x < range[1] or x > range[2]) then
    error(fmt("%s: %s %s is outside the plausible range %s-%s%s", what, name, tostring(x), tostring(range[1]),
              tostring(range[2]), unit and (" " .. unit) or ""), level)
  end
  return x
end

-- Sums whole-number answers of items 1..n ("q1".."qn"), each within lo..hi.
local function sum_items(x, n, lo, hi, what)
  if type(x) ~= "table" then error(what .. ": needs a table of answers q1..q" .. n, 3) end
  local total = 0
  for i = 1, n do
    local a = whole(x["q" .. i])
    if a == nil then
      error(fmt("%s: q%d must be a whole number %d-%d (got %s)", what, i, lo, hi, tostring(x["q" .. i])), 3)
    end
    if a < lo or a > hi then error(fmt("%s: q%d must be %d-%d (got %s)", what, i, lo, hi, tostring(a)), 3) end
    total = total + a
  end
  return total
end

-- The named band a total falls in: bands = { { min = 0, name = "minimal" }, ... } ascending.
local function named_band(total, bands)
  local found
  for _, b in ipairs(bands) do
    if total >= b.min then found = b end
  end
  return found and found.name
end

-- Points allowed for a `v.score` field: { 0, 1, ..., hi }.
local function points(lo, hi)
  local t = {}
  for i = lo, hi do t[#t + 1] = i end
  return t
end

local function item_fields(n, lo, hi)
  local f = {}
  for i = 1, n do f["q" .. i] = points(lo, hi) end
  return f
end

---------------------------------------------------------------------------
-- NEWS2. Source: docs/clinical/news2.md "NEWS2 (Royal College of Physicians, 2017)" [P]:
-- the parameter table, total 0-20, the response bands, SpO2 scale 2 for
-- hypercapnic respiratory failure (a clinician's choice), temperature to 0.1 C.
-- Adults 16+, not in pregnancy.
---------------------------------------------------------------------------
local NEWS2 = {
  rr = { { max = 8, points = 3 }, { max = 11, points = 1 }, { max = 20, points = 0 }, { max = 24, points = 2 },
         { points = 3 } },
  spo2_scale1 = { { max = 91, points = 3 }, { max = 93, points = 2 }, { max = 95, points = 1 }, { points = 0 } },
  -- Scale 2: 88-92 scores 0 whatever the oxygen, and so does >= 93 on air;
  -- on oxygen, 93-94 scores 1, 95-96 scores 2, >= 97 scores 3.
  spo2_scale2 = { { max = 83, points = 3 }, { max = 85, points = 2 }, { max = 87, points = 1 }, { max = 92, points = 0 },
                  { points = 0 } },
  spo2_scale2_on_o2 = { { max = 83, points = 3 }, { max = 85, points = 2 }, { max = 87, points = 1 },
                        { max = 92, points = 0 }, { max = 94, points = 1 }, { max = 96, points = 2 }, { points = 3 } },
  o2 = { air = 0, oxygen = 2 },
  sbp = { { max = 90, points = 3 }, { max = 100, points = 2 }, { max = 110, points = 1 }, { max = 219, points = 0 },
          { points = 3 } },
  hr = { { max = 40, points = 3 }, { max = 50, points = 1 }, { max = 90, points = 0 }, { max = 110, points = 1 },
         { max = 130, points = 2 }, { points = 3 } },
  -- ACVPU: alert 0; new confusion, voice, pain, unresponsive 3.
  consciousness = { alert = 0, confusion = 3, voice = 3, pain = 3, unresponsive = 3 },
  temp = { { max = 35.0, points = 3 }, { max = 36.0, points = 1 }, { max = 38.0, points = 0 }, { max = 39.0, points = 1 },
           { points = 2 } },
  temp_step = 0.1,
  -- Response: 0 routine; 1-4 low; a single parameter scoring 3 (total under 5)
  -- low-medium, urgent ward review; 5-6 medium, urgent response; >= 7 high, emergency.
  response = { { min = 0, name = "routine" }, { min = 1, name = "low" }, { min = 5, name = "medium" },
               { min = 7, name = "high" } },
  -- What a reading can be at all, not alarm limits: a value outside is a
  -- slip (SpO2 150, RR -5, 98.6 typed as Celsius), refused with its field
  -- named rather than scored. Wider than the entry's plausible ranges in
  -- vigil.lua (an apnoeic RR 0 still scores); opts.plausible replaces them.
  plausible = { rr = { 0, 80 }, spo2 = { 0, 100 }, sbp = { 20, 300 }, hr = { 0, 300 }, temp = { 25, 45 } },
  units = { rr = "/min", spo2 = "%", sbp = "mmHg", hr = "/min", temp = "C" },
}
scores.news2_bands = NEWS2

--- NEWS2 from a vitals reading { rr, spo2, o2, sbp, hr, consciousness, temp }.
-- opts.scale = 2 uses SpO2 scale 2 (default 1). Every parameter is needed
-- (NEWS2 is not defined on a partial set): a missing one raises an error.
-- Returns { total, parts = { rr = .. }, three_in_one = bool, response = name }.
function scores.news2(x, opts)
  opts = opts or {}
  local scale = opts.scale or 1
  if scale ~= 1 and scale ~= 2 then error("news2: scale must be 1 or 2", 2) end
  local what = "news2"
  if type(x) ~= "table" then error("news2: needs a vitals reading { rr, spo2, o2, sbp, hr, consciousness, temp }", 2) end
  local plausible = opts.plausible or NEWS2.plausible
  local function reading(name)
    return measured(need(x[name], name, what), name, what, plausible[name], NEWS2.units[name], 4)
  end
  local o2 = need(x.o2, "o2 (on supplemental oxygen: true or false)", what)
  if type(o2) ~= "boolean" then
    error(fmt("news2: o2 (on supplemental oxygen) must be true or false (got %s)",
              type(o2) == "string" and ('"' .. o2 .. '"') or tostring(o2)), 2)
  end
  local on_o2 = o2
  local parts = {
    rr = scores.band(reading("rr"), NEWS2.rr).points,
    o2 = on_o2 and NEWS2.o2.oxygen or NEWS2.o2.air,
    sbp = scores.band(reading("sbp"), NEWS2.sbp).points,
    hr = scores.band(reading("hr"), NEWS2.hr).points,
    temp = scores.band(reading("temp"), NEWS2.temp, NEWS2.temp_step).points,
  }
  local spo2 = reading("spo2")
  if scale == 1 then parts.spo2 = scores.band(spo2, NEWS2.spo2_scale1).points
  elseif on_o2 then parts.spo2 = scores.band(spo2, NEWS2.spo2_scale2_on_o2).points
  else parts.spo2 = scores.band(spo2, NEWS2.spo2_scale2).points end
  local c = NEWS2.consciousness[need(x.consciousness, "consciousness", what)]
  if c == nil then error(fmt("news2: consciousness must be alert, confusion, voice, pain or unresponsive (got %s)",
                             tostring(x.consciousness)), 2) end
  parts.consciousness = c
  local total, three = 0, false
  for _, p in pairs(parts) do
    total = total + p
    if p == 3 then three = true end
  end
  local response = named_band(total, NEWS2.response)
  if response == "low" and three then response = "low-medium" end
  return { total = total, parts = parts, three_in_one = three, response = response }
end

---------------------------------------------------------------------------
-- Modified Aldrete. Source: docs/clinical/discharge-criteria.md "Modified Aldrete (Aldrete 1995)"
-- [P/S]: five items 0-2, total 0-10, >= 9 fit to leave phase I recovery;
-- variants (circulation in mmHg rather than %; SpO2 cut-offs) kept as data.
---------------------------------------------------------------------------
local ALDRETE = {
  -- The nurse's observation for the three observed items, as choice options.
  activity = { { "moves 4 extremities", 2 }, { "moves 2 extremities", 1 }, { "moves none", 0 } },
  respiration = { { "breathes deeply and coughs freely", 2 }, { "dyspnoea, shallow or limited breathing", 1 },
                  { "apnoeic", 0 } },
  consciousness = { { "fully awake", 2 }, { "arousable on calling", 1 }, { "not responding", 0 } },
  -- Circulation, % variant: BP within 20% of baseline 2, 20-49% 1, >= 50% 0.
  circulation_pct = { { max = 20, points = 2 }, { max = 49, points = 1 }, { points = 0 } },
  -- Circulation, mmHg variant: docs/clinical/discharge-criteria.md names the variant but not its
  -- numbers. UNCONFIRMED: the widely printed form, within 20 mmHg of baseline
  -- 2, 20-50 mmHg 1, more than 50 mmHg 0. Check against your own form.
  circulation_mmhg = { { max = 20, points = 2 }, { max = 50, points = 1 }, { points = 0 } },
  -- SpO2: > 92% on room air 2; needs O2 to keep > 90% 1; < 90% even with O2 0.
  -- 90 itself is in neither printed band: it scores 0 (the cautious reading).
  spo2_air_above = 92,
  spo2_o2_above = 90,
  fit = 9,
}
scores.aldrete_bands = ALDRETE

local function choice_points(list, answer, what)
  for _, o in ipairs(list) do
    if o[1] == answer then return o[2] end
  end
  local names = {}
  for _, o in ipairs(list) do names[#names + 1] = o[1] end
  error(fmt("%s: \"%s\" is not one of: %s", what, tostring(answer), table.concat(names, "; ")), 3)
end

local function options_of(list)
  local t = {}
  for _, o in ipairs(list) do t[#t + 1] = o[1] end
  return t
end

scores.aldrete_options = {
  activity = options_of(ALDRETE.activity),
  respiration = options_of(ALDRETE.respiration),
  consciousness = options_of(ALDRETE.consciousness),
}
-- A described score field from a list of { label, points } (best first): the
-- form shows each point with what it means.
local function described(name, title, list)
  local f = { name, title = title, points = {}, labels = {} }
  for _, o in ipairs(list) do
    f.points[#f.points + 1] = o[2]
    f.labels[o[2]] = o[1]
  end
  return f
end

-- For `v.score "aldrete" { fields = scores.aldrete_fields }` when the nurse
-- enters points: the five items in the order of the published form, each
-- point with its meaning (docs/clinical/discharge-criteria.md table; circulation in the % variant).
scores.aldrete_fields = {
  described("activity", "Activity", ALDRETE.activity),
  described("respiration", "Respiration", ALDRETE.respiration),
  described("circulation", "Circulation (BP against baseline)",
            { { "within 20% of baseline", 2 }, { "20-49% from baseline", 1 }, { "50% or more from baseline", 0 } }),
  described("consciousness", "Consciousness", ALDRETE.consciousness),
  described("spo2", "SpO2", { { "above 92% on room air", 2 }, { "needs O2 to keep above 90%", 1 },
                              { "below 90% even with O2", 0 } }),
}

--- Circulation points from BP now and at baseline (systolic, or mean).
-- opts.variant = "pct" (default) or "mmhg"; opts.bands replaces the bands.
function scores.aldrete_circulation(bp, baseline, opts)
  opts = opts or {}
  if type(bp) ~= "number" or type(baseline) ~= "number" or baseline <= 0 then
    error("aldrete_circulation: needs the BP now and the baseline BP, as numbers", 2)
  end
  measured(bp, "bp", "aldrete_circulation", NEWS2.plausible.sbp, "mmHg", 3)
  measured(baseline, "baseline", "aldrete_circulation", NEWS2.plausible.sbp, "mmHg", 3)
  local variant = opts.variant or "pct"
  if variant == "pct" then
    return scores.band(math.abs(bp - baseline) / baseline * 100, opts.bands or ALDRETE.circulation_pct).points
  elseif variant == "mmhg" then
    return scores.band(math.abs(bp - baseline), opts.bands or ALDRETE.circulation_mmhg).points
  end
  error("aldrete_circulation: variant must be \"pct\" or \"mmhg\"", 2)
end

--- SpO2 points from the reading and whether the patient is on oxygen.
function scores.aldrete_spo2(spo2, on_o2)
  if type(spo2) ~= "number" then error("aldrete_spo2: needs the SpO2 as a number", 2) end
  measured(spo2, "spo2", "aldrete_spo2", NEWS2.plausible.spo2, "%", 3)
  if not on_o2 and spo2 > ALDRETE.spo2_air_above then return 2 end
  if spo2 > ALDRETE.spo2_o2_above then return 1 end
  return 0
end

--- The modified Aldrete total. x holds each item either as points (0-2) or,
-- for activity, respiration and consciousness, as one of the options above.
-- Returns { total, parts, fit = total >= 9 }.
function scores.aldrete(x)
  local parts, total = {}, 0
  for _, k in ipairs({ "activity", "respiration", "circulation", "consciousness", "spo2" }) do
    local a = need(x[k], k, "aldrete")
    local p = whole(a)
    if type(a) == "string" and ALDRETE[k] then p = choice_points(ALDRETE[k], a, "aldrete " .. k) end
    if p == nil or p < 0 or p > 2 then
      error(fmt("aldrete: %s must be 0, 1 or 2 (got %s)", k, tostring(a)), 2)
    end
    parts[k], total = p, total + p
  end
  return { total = total, parts = parts, fit = total >= ALDRETE.fit }
end

---------------------------------------------------------------------------
-- PADSS. Source: docs/clinical/discharge-criteria.md "PADSS (Chung)" [S]: five items 0-2, total
-- 0-10, >= 9 plus an accompanying adult = fit for discharge home; the
-- modified PADSS (Marshall & Chung 1999) drops intake/output and splits
-- ambulation, nausea, pain, bleeding; items that do not apply (bleeding in a
-- ketamine clinic) need a declared N/A rule.
---------------------------------------------------------------------------
local PADSS = {
  original = { "vital_signs", "activity", "pain_nausea", "bleeding", "intake_output" },
  modified = { "vital_signs", "ambulation", "nausea_vomiting", "pain", "bleeding" },
  -- Vital signs vs baseline: within 20% 2, 20-40% 1, > 40% 0.
  vital_signs_pct = { { max = 20, points = 2 }, { max = 40, points = 1 }, { points = 0 } },
  fit = 9,
}
scores.padss_bands = PADSS

--- Vital-signs points from the change from baseline, in percent.
function scores.padss_vital_signs(pct_change)
  if type(pct_change) ~= "number" then error("padss_vital_signs: needs the change from baseline in %", 2) end
  return scores.band(math.abs(pct_change), PADSS.vital_signs_pct).points
end

--- PADSS total. opts.variant = "modified" (default) or "original".
-- opts.not_applicable = { bleeding = "max" } declares items that do not apply
-- and how they count: "max" scores them 2 (the 0-10 range and the >= 9 cut-off
-- stay as validated), "prorate" scales the applicable items' total to 10.
-- An item neither given nor declared is an error: an omission is never N/A.
-- opts.escort (true/false): an accompanying adult, needed for `fit`.
-- Returns { total, parts, fit, not_applicable = { item = rule } }.
function scores.padss(x, opts)
  opts = opts or {}
  local items = PADSS[opts.variant or "modified"]
  if not items then error("padss: variant must be \"modified\" or \"original\"", 2) end
  local na = opts.not_applicable or {}
  for k, rule in pairs(na) do
    local known = false
    for _, it in ipairs(items) do known = known or it == k end
    if not known then error(fmt("padss: not_applicable names '%s', not an item of this variant", tostring(k)), 2) end
    if rule ~= "max" and rule ~= "prorate" then
      error(fmt("padss: not_applicable.%s must be \"max\" or \"prorate\"", k), 2)
    end
  end
  local parts, total, counted, prorate = {}, 0, 0, false
  for _, k in ipairs(items) do
    local a = x[k]
    if na[k] then
      if a ~= nil then error(fmt("padss: %s is declared not applicable but has a value", k), 2) end
      if na[k] == "max" then parts[k], total, counted = 2, total + 2, counted + 1 else prorate = true end
    else
      local p = whole(a)
      if p == nil or p < 0 or p > 2 then
        error(fmt("padss: %s must be 0, 1 or 2, or declared not applicable (got %s)", k, tostring(a)), 2)
      end
      parts[k], total, counted = p, total + p, counted + 1
    end
  end
  if prorate then
    if counted == 0 then error("padss: every item is declared not applicable", 2) end
    total = math.floor(total * #items / counted + 0.5)
  end
  local fit = total >= PADSS.fit and opts.escort == true
  return { total = total, parts = parts, fit = fit, not_applicable = na }
end

---------------------------------------------------------------------------
-- PHQ-9 and GAD-7. Source: docs/clinical/phq9.md: PHQ-9 9 items 0-3,
-- total 0-27, 0-4 minimal, 5-9 mild, 10-14 moderate, 15-19 moderately severe,
-- 20-27 severe; any non-zero item 9 needs same-day follow-up regardless of the
-- total. GAD-7 7 items 0-3, total 0-21, bands at 5, 10, 15.
---------------------------------------------------------------------------
scores.phq9_bands = { { min = 0, name = "minimal" }, { min = 5, name = "mild" }, { min = 10, name = "moderate" },
                      { min = 15, name = "moderately severe" }, { min = 20, name = "severe" } }
-- The PHQ-9's and GAD-7's items and answers, for the form. Source: the
-- instruments as published (Kroenke, Spitzer & Williams 2001, J Gen Intern Med
-- 16:606; Spitzer et al. 2006, Arch Intern Med 166:1092), "no permission
-- required to reproduce, translate, display or distribute" (Pfizer). Not in
-- docs/clinical/phq9.md, which gives the scoring: a clinic checks the wording against
-- the form it uses.
local PHQ_ANSWERS = { { "not at all", 0 }, { "several days", 1 }, { "more than half the days", 2 },
                      { "nearly every day", 3 } }

local function questionnaire(items)
  local f = {}
  for i, text in ipairs(items) do f[i] = described("q" .. i, fmt("%d. %s", i, text), PHQ_ANSWERS) end
  return f
end

scores.phq9_fields = questionnaire({
  "Little interest or pleasure in doing things",
  "Feeling down, depressed, or hopeless",
  "Trouble falling or staying asleep, or sleeping too much",
  "Feeling tired or having little energy",
  "Poor appetite or overeating",
  "Feeling bad about yourself, or that you are a failure or have let yourself or your family down",
  "Trouble concentrating on things, such as reading the newspaper or watching television",
  "Moving or speaking so slowly that other people could have noticed; or the opposite, being so fidgety or "
    .. "restless that you have been moving around a lot more than usual",
  "Thoughts that you would be better off dead, or of hurting yourself in some way",
})

--- PHQ-9 from { q1 .. q9 }: { total, band, item9 = true when q9 > 0 }.
function scores.phq9(x)
  local total = sum_items(x, 9, 0, 3, "phq9")
  return { total = total, band = named_band(total, scores.phq9_bands), item9 = whole(x.q9) > 0 }
end

-- Names for GAD-7's bands at 5, 10 and 15 (docs/clinical/phq9.md gives the cut points).
scores.gad7_bands = { { min = 0, name = "minimal" }, { min = 5, name = "mild" }, { min = 10, name = "moderate" },
                      { min = 15, name = "severe" } }
scores.gad7_fields = questionnaire({
  "Feeling nervous, anxious, or on edge",
  "Not being able to stop or control worrying",
  "Worrying too much about different things",
  "Trouble relaxing",
  "Being so restless that it is hard to sit still",
  "Becoming easily annoyed or irritable",
  "Feeling afraid, as if something awful might happen",
})

--- GAD-7 from { q1 .. q7 }: { total, band }.
function scores.gad7(x)
  local total = sum_items(x, 7, 0, 3, "gad7")
  return { total = total, band = named_band(total, scores.gad7_bands) }
end

---------------------------------------------------------------------------
-- Choice scales: MOAA/S and RASS, for `v.choice` items. Options are the
-- levels as text (what the nurse picks); level(answer) gives the number.
---------------------------------------------------------------------------
-- Source: docs/clinical/sedation-dissociation-scales.md: MOAA/S 5 (alert) to 0 (no response to
-- a painful stimulus); 0 = loss of consciousness. The wording of 4 to 1 as in
-- protocols/ketamine_iv/infusion.lua.
scores.moaas = {
  options = { "5", "4", "3", "2", "1", "0" },
  labels = {
    ["5"] = "responds readily to name spoken in a normal tone",
    ["4"] = "lethargic response to name spoken in a normal tone",
    ["3"] = "responds only after name is called loudly or repeatedly",
    ["2"] = "responds only after mild prodding or shaking",
    ["1"] = "responds only to a painful stimulus",
    ["0"] = "no response to a painful stimulus (loss of consciousness)",
  },
  alert = 5,
  unconscious = 0,
}

-- Source: docs/clinical/sedation-dissociation-scales.md: RASS +4 combative to -5 unarousable;
-- 0 alert and calm. The labels between are the scale's own terms (Sessler CN
-- et al., Am J Respir Crit Care Med 2002;166:1338-44).
scores.rass = {
  options = { "+4", "+3", "+2", "+1", "0", "-1", "-2", "-3", "-4", "-5" },
  labels = {
    ["+4"] = "combative", ["+3"] = "very agitated", ["+2"] = "agitated", ["+1"] = "restless",
    ["0"] = "alert and calm", ["-1"] = "drowsy", ["-2"] = "light sedation", ["-3"] = "moderate sedation",
    ["-4"] = "deep sedation", ["-5"] = "unarousable",
  },
  calm = 0,
}

-- "5" -> 5, "+2" -> 2, "-3" -> -3; nil for anything that is not a level.
local function scale_level(scale, what)
  return function(answer)
    if scale.labels[answer] == nil then
      if answer == nil then return nil end
      error(fmt("%s: \"%s\" is not a level (levels: %s)", what, tostring(answer), table.concat(scale.options, ", ")), 2)
    end
    return math.tointeger(tonumber((answer:gsub("^%+", ""))))
  end
end
scores.moaas.level = scale_level(scores.moaas, "moaas")
scores.rass.level = scale_level(scores.rass, "rass")

-- "5 responds readily ...; 4 ..." for an item's help text.
local function help_of(scale)
  local parts = {}
  for _, o in ipairs(scale.options) do parts[#parts + 1] = o .. " " .. scale.labels[o] end
  return table.concat(parts, "; ")
end
scores.moaas.help = help_of(scores.moaas)
scores.rass.help = help_of(scores.rass)

---------------------------------------------------------------------------
-- CADSS (Clinician-Administered Dissociative States Scale). Source:
-- docs/clinical/sedation-dissociation-scales.md: 23 items 0-4, total 0-92, no validated
-- cut-off: track change from baseline; copyrighted, so structure only.
-- Subscales: docs/clinical/sedation-dissociation-scales.md names none. UNCONFIRMED: the grouping most papers
-- report (Bremner et al., J Trauma Stress 1998;11:125-136): depersonalization
-- 3-7, 20, 21; derealization 1, 2, 8-13, 16-19; amnesia 14, 15, 22, 23.
-- Check it against your licensed form before relying on a subscale.
---------------------------------------------------------------------------
scores.cadss_subscales = {
  depersonalization = { 3, 4, 5, 6, 7, 20, 21 },
  derealization = { 1, 2, 8, 9, 10, 11, 12, 13, 16, 17, 18, 19 },
  amnesia = { 14, 15, 22, 23 },
}
scores.cadss_fields = item_fields(23, 0, 4)

--- CADSS from { q1 .. q23 }: { total, subscales = { name = total } }; with a
-- baseline (the same shape), also change = total - baseline total.
function scores.cadss(x, baseline)
  local total = sum_items(x, 23, 0, 4, "cadss")
  local sub = {}
  for name, items in pairs(scores.cadss_subscales) do
    local s = 0
    for _, i in ipairs(items) do s = s + whole(x["q" .. i]) end
    sub[name] = s
  end
  local r = { total = total, subscales = sub }
  if baseline ~= nil then r.change = total - sum_items(baseline, 23, 0, 4, "cadss baseline") end
  return r
end

return readonly(scores, "vigil.scores")
