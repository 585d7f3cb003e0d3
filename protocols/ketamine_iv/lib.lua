-- lib.lua: checks shared by the infusion and observation phases of ketamine_iv.
--
-- Each function takes a vitals reading (or a sedation level) and the visit view and
-- returns an outcome (v.alert.*, v.note) or nil. The phase files declare the rules
-- and pass in the readings they look at, so that every item reference stays a
-- string literal in the phase file, where lint can check it.
--
-- No threshold lives here: every limit is a protocol parameter (see protocol.lua,
-- where each one names its page in docs/clinical/). Messages say
-- what was seen and what to consider; the decision stays with the clinician.

local v = require "vigil"
local scores = require "vigil.scores"

local lib = {}

local fmt = string.format

-- "SBP/DBP" as the nurse typed it (%g: no trailing ".0" for whole numbers).
local function bp(x) return fmt("%g/%g", x.sbp, x.dbp) end
lib.bp = bp

-- The infusion may be running only during the infusion phase, once started: only then does
-- a message suggest pausing or stopping it (before the start a reading past a limit holds
-- the start instead: docs/safety.md AP1).
local function infusion_hint(visit, text)
  if visit.phase() == "infusion" and visit.value("infusion.infusion_started") == true then return " " .. text end
  return ""
end

-- The pre-dose vitals, recorded in screening. The latest reading is the baseline,
-- so that a repeat after a high first reading (see screening "bp_hold") counts.
function lib.baseline(visit)
  return visit.value("screening.baseline")
end

-- At or above the marked-hypertension flag (sbp_alert / dbp_alert).
local function at_flag(x, visit)
  return x.sbp >= visit.param("sbp_alert") or x.dbp >= visit.param("dbp_alert")
end

-- The vitals readings of `refs` (qualified names, the phase's own first) before the newest
-- of the first, the one a rule judges: each { x = reading, at = observed ms }, newest first
-- (the phase's, then the earlier phase's), for lib.bp_high's repeat window.
function lib.earlier_readings(visit, refs)
  local out = {}
  for i, ref in ipairs(refs) do
    local n = visit.count(ref)
    local values = visit.last(ref, n) or {}
    for k = (i == 1) and 2 or 1, n do
      out[#out + 1] = { x = values[k], at = visit.observed_at(ref, k) }
    end
  end
  return out
end

-- Marked hypertension. One reading above the severe limit is enough; a reading at
-- the flag needs a confirmation reading: the first gives a medium prompt to repeat
-- in 5 minutes, and the flag met again gives the high alert: by the reading just
-- before (in a row), or by any reading within bp_confirm_window_min before this one,
-- whatever lay between (docs/safety.md AN14: 185/112, 179/109, 186/113, 179/108,
-- 188/114 two minutes apart gave only mediums, each closed by the next lower
-- reading). `at` is when `x` was observed; `earlier` the readings before it
-- (lib.earlier_readings), newest first.
--   alert ids: "bp_high" (high), "bp_high_unconfirmed" (medium, not latching: it
--   clears on the next reading, whatever that shows).
--   The alerts' value is how far the reading is past the flag, in mmHg (the larger of
--   systolic and diastolic), for the rule's `worse` margin.
function lib.bp_high(x, at, earlier, visit)
  local severe_s, severe_d = visit.param("sbp_severe"), visit.param("dbp_severe")
  local past = math.max(x.sbp - visit.param("sbp_alert"), x.dbp - visit.param("dbp_alert"))
  if x.sbp > severe_s or x.dbp > severe_d then
    return v.alert.high(fmt("BP %s is above %g/%g: tell the clinician now.%s", bp(x), severe_s, severe_d,
                            infusion_hint(visit, "Consider stopping the infusion.")), { id = "bp_high", value = past })
  end
  if not at_flag(x, visit) then return nil end
  local flag = fmt("%g/%g", visit.param("sbp_alert"), visit.param("dbp_alert"))
  local previous = earlier[1]
  if previous and at_flag(previous.x, visit) then
    return v.alert.high(fmt("BP at or above %s on two readings in a row (%s, then %s): tell the clinician.%s",
                            flag, bp(previous.x), bp(x),
                            infusion_hint(visit, "Consider pausing or stopping the infusion.")),
                        { id = "bp_high", value = past })
  end
  local window = visit.param("bp_confirm_window_min")
  for _, e in ipairs(earlier) do
    if at == nil or e.at == nil or at - e.at > window * 60000 then break end
    if at_flag(e.x, visit) then
      return v.alert.high(fmt("BP at or above %s again within %g minutes (%s, %d minutes before %s): tell the "
                              .. "clinician.%s", flag, window, bp(e.x), lib.minutes(at - e.at), bp(x),
                              infusion_hint(visit, "Consider pausing or stopping the infusion.")),
                          { id = "bp_high", value = past })
    end
  end
  return v.alert.medium(fmt("BP %s is at or above %s: repeat the reading in 5 minutes to confirm.", bp(x), flag),
                        { id = "bp_high_unconfirmed", latching = false, value = past })
end

-- A BP before the start at or above the pre-dose hold (sbp_hold / dbp_hold) holds the start
-- (screening's bp_hold, the infusion's before the start) and, since the hold alone told nobody (docs/safety.md AN12:
-- 185/112 and 215/125 gave `alerts: []`), alerts: medium at the hold (the clinician
-- reviews before the start), high above the severe limit (sbp_severe / dbp_severe), as
-- after the start. Alert ids "bp_hold" (medium), "bp_hold_severe" (high: its own, so that it
-- is raised beside an unacknowledged medium, as bp_high's); their value is how far the reading
-- is past the hold, in mmHg (the larger of systolic and diastolic).
-- The severe alert is the hold's until a reading out of the hold (docs/safety.md AP3: 215/125
-- then 181/100 resolved it on a reading still at the hold): a reading at the hold after a
-- severe one of the same hold (`ref`'s readings back to the last one under the hold) keeps it.
-- `what` names the reading ("Baseline"; "Pre-start", a repeat in the infusion: AN13), `ref` its
-- item ("screening.baseline", "infusion.vitals"). The alert and the hold's block, or nil under
-- the hold. A baseline changed after the start (an amendment, a later entry: docs/safety.md AW3)
-- says so, and asks for the clinician, not for a start that has happened.
function lib.predose_bp_hold(x, what, visit, ref)
  local s, d = visit.param("sbp_hold"), visit.param("dbp_hold")
  if x.sbp < s and x.dbp < d then return nil end
  if visit.value("infusion.infusion_started") == true then
    return { v.alert.medium(fmt("%s BP %s, recorded after the start, is at or above the hold limit %g/%g: tell the "
                                .. "clinician.", what, bp(x), s, d), { id = "bp_hold", value = math.max(x.sbp - s, x.dbp - d) }),
             v.block(fmt("%s BP %s, recorded after the start, is at or above the hold limit %g/%g: a clinician "
                         .. "decides and overrides this hold, with a reason.", what, bp(x), s, d)) }
  end
  local past = math.max(x.sbp - s, x.dbp - d)
  local severe_s, severe_d = visit.param("sbp_severe"), visit.param("dbp_severe")
  local function severe(r) return r.sbp > severe_s or r.dbp > severe_d end
  local severe_before
  for _, e in ipairs(lib.earlier_readings(visit, { ref })) do
    if e.x == nil or (e.x.sbp < s and e.x.dbp < d) then break end
    if severe(e.x) then
      severe_before = e.x
      break
    end
  end
  local alert
  if severe(x) then
    alert = v.alert.high(fmt("%s BP %s is above %g/%g before the start: tell the clinician now; do not start.", what,
                             bp(x), severe_s, severe_d), { id = "bp_hold_severe", value = past })
  elseif severe_before then
    alert = v.alert.high(fmt("%s BP %s is still at or above the hold limit %g/%g after %s above %g/%g before the "
                             .. "start: tell the clinician now; do not start.", what, bp(x), s, d, bp(severe_before),
                             severe_s, severe_d), { id = "bp_hold_severe", value = past })
  else
    alert = v.alert.medium(fmt("%s BP %s is at or above the hold limit %g/%g: the start is held; tell the "
                               .. "clinician, rest and repeat.", what, bp(x), s, d), { id = "bp_hold", value = past })
  end
  return { alert, v.block(fmt("%s BP %s is at or above the hold limit %g/%g: rest and repeat; do not start without a "
                              .. "clinician's review.", what, bp(x), s, d)) }
end

-- The start waits for vitals of now (docs/safety.md AN13: a baseline 4 hours old, then
-- infusion_started): `at` is when the newest reading before the start was observed (ms; 0 for
-- none). Older than predose_vitals_max_age_min, the infusion's before_dose says so. No reading at
-- all is screening's gate's to hold (its override is a clinician's, naming the baseline: V1).
function lib.vitals_before_dose(at, visit)
  local max_age = visit.param("predose_vitals_max_age_min")
  if at > 0 and visit.now() - at > max_age * 60000 then
    return false, fmt("the pre-dose vitals are %d minutes old (the start needs them taken within %g): take the vitals "
                      .. "again (Vitals, before the start)", lib.minutes(visit.now() - at), max_age)
  end
  return true
end

-- Rise from the pre-dose baseline (sbp_rise / dbp_rise). Alert id "bp_rise"; its
-- value is how far the rise is past its limit, in mmHg (the larger of the two).
function lib.bp_rise(x, visit)
  local b = lib.baseline(visit)
  if not b then return nil end
  local ds, dd = x.sbp - b.sbp, x.dbp - b.dbp
  local lim_s, lim_d = visit.param("sbp_rise"), visit.param("dbp_rise")
  if ds >= lim_s or dd >= lim_d then
    return v.alert.medium(fmt("BP %s is %+g/%+g mmHg from the baseline %s (flag: +%g systolic or +%g diastolic): "
                              .. "repeat the reading and tell the clinician.", bp(x), ds, dd, bp(b), lim_s, lim_d),
                          { id = "bp_rise", value = math.max(ds - lim_s, dd - lim_d) })
  end
  return nil
end

-- Fast breathing (rr_max): at or above it. Alert id "rr_high"; its value is the rate, for
-- the rule's `worse` margin (docs/safety.md U3).
function lib.rr_high(x, visit)
  local max = visit.param("rr_max")
  if x.rr >= max then
    return v.alert.high(fmt("Respiratory rate %g/min is at or above %g: count again over a full minute, check SpO2 "
                            .. "and the airway; call the clinician.%s", x.rr, max,
                            infusion_hint(visit, "Consider stopping the infusion.")), { id = "rr_high", value = x.rr })
  end
  return nil
end

-- Tachycardia. `sustained` is visit.held(...) of "hr > hr_max" over 5 minutes,
-- computed by the phase (it names its own vitals item). A single fast reading only
-- asks for a repeat; a sustained one alerts.
--   alert ids: "hr_high" (medium), "hr_high_unconfirmed" (low, not latching).
function lib.hr_high(x, sustained, visit)
  local max = visit.param("hr_max")
  if sustained then
    return v.alert.medium(fmt("Heart rate above %g for at least 5 minutes (now %g/min): tell the clinician.%s",
                              max, x.hr, infusion_hint(visit, "Consider pausing the infusion.")),
                          { id = "hr_high", value = x.hr })
  end
  if x.hr > max then
    return v.alert.low(fmt("Heart rate %g/min is above %g: repeat in 5 minutes (flagged if sustained).", x.hr, max),
                       { id = "hr_high_unconfirmed", latching = false, value = x.hr })
  end
  return nil
end

-- Slow heart rate (hr_min): at or below it. Alert id "hr_low". Heart rate 0 is a
-- true reading (docs/safety.md M6): it alerts, it is not refused.
function lib.hr_low(x, visit)
  local min = visit.param("hr_min")
  if x.hr <= min then
    return v.alert.high(fmt("Heart rate %g/min is at or below %g: check the pulse and the patient; call the "
                            .. "clinician.%s", x.hr, min, infusion_hint(visit, "Consider stopping the infusion.")),
                        { id = "hr_low", value = x.hr })
  end
  return nil
end

-- Low blood pressure (sbp_low): systolic at or below it. Alert id "bp_low"; its value
-- is the systolic, for the rule's `worse` margin (docs/safety.md Q4).
function lib.bp_low(x, visit)
  local min = visit.param("sbp_low")
  if x.sbp <= min then
    return v.alert.high(fmt("BP %s: systolic at or below %g. Check the reading and the patient (lie them flat if "
                            .. "faint); call the clinician.%s", bp(x), min,
                            infusion_hint(visit, "Consider stopping the infusion.")),
                        { id = "bp_low", value = x.sbp })
  end
  return nil
end

-- Before dosing, a reading past a limit is also a hold (docs/safety.md Q3, Q4): each
-- field's limit (a param) and how it is said.
local PREDOSE = {
  sbp = { param = "sbp_low", what = "systolic BP %g mmHg is at or below %g" },
  hr = { param = "hr_min", what = "heart rate %g/min is at or below %g" },
  spo2 = { param = "spo2_min", what = "SpO2 %g%% is below %g%%" },
  rr = { param = "rr_min", what = "respiratory rate %g/min is below %g" },
}

-- The alert `alert` (nil when the reading is within its limit) of a pre-dose reading
-- x, with the hold it brings: a block of the phase (and of the dose, N7, when an
-- amendment brings it later), lifted by a reading within the limit (the latest
-- counts) or a clinician's override naming the rule. `prestart`: x is a reading in the
-- infusion before its start (docs/safety.md AP1), whose hold holds the start itself (N7),
-- which no gate override passes: a reading within the limit lifts it.
function lib.predose_hold(field, alert, x, visit, prestart)
  if alert == nil then return nil end
  local l = PREDOSE[field]
  local what = fmt(l.what, x[field], visit.param(l.param))
  if prestart then
    return { alert, v.block(fmt("Pre-start %s: do not start the infusion; tell the clinician, rest and repeat the "
                                .. "reading (the latest counts).", what)) }
  end
  return { alert, v.block(fmt("Pre-dose %s: do not dose; rest and repeat the reading (the latest counts), or a "
                              .. "clinician reviews and overrides this hold.", what)) }
end

-- A rule on an answer the infusion rests on (consent, a responsible adult to take the
-- patient home), read as it stands now (docs/safety.md AN10: consent amended false in the
-- infusion had held nothing). `s`: the `item` and the rule's `id`; `phase`, the answer's,
-- whose gate reads it while the visit is there (a check's false there is "not yet",
-- recorded again when done: G1); `started(visit)`, whether the dose is given (the phase
-- file names the items); the words `what`, `before` and `after`. Past its phase, the answer
-- false before the start is a block, which holds the phase and, in the infusion, its start
-- (the engine's dose hold, N7) until the answer is taken back (an amendment): no signature
-- outweighs it. After the start, an alert the rule carries (a clinician acknowledges it,
-- with a reason): medium, high if `urgent`. vigil stops nothing: the message says what was
-- seen and who decides.
function lib.stopping_rule(s)
  return v.rule(s.id) {
    on = s.item,
    carry = true,
    priority = "high",
    worse = false, -- an answer: nothing worse to announce than the stop itself
    check = function(x, visit)
      if x ~= false or visit.phase() == s.phase then return nil end
      if not s.started(visit) then return v.block(fmt("%s: do not start the infusion; %s", s.what, s.before)) end
      local message = fmt("%s after the infusion started: %s.", s.what, s.after)
      if s.urgent then return v.alert.high(message, { value = s.what }) end
      return v.alert.medium(message, { value = s.what })
    end,
  }
end

-- The last vitals of the visit after the dose and when they were observed (ms since the
-- epoch): the discharge's repeat reading (T6), else the observation's, else the infusion's.
-- Each phase's readings are taken after the last phase's, so the first found is the newest.
function lib.last_vitals(visit)
  if visit.value("discharge.vitals") then
    return visit.value("discharge.vitals"), visit.observed_at("discharge.vitals")
  end
  if visit.value("observation.vitals") then
    return visit.value("observation.vitals"), visit.observed_at("observation.vitals")
  end
  return visit.value("infusion.vitals"), visit.observed_at("infusion.vitals")
end

-- BP back near the baseline (params bp_recovery_pct, dbp_recovery_pct): the first of x's
-- systolic and diastolic that is too far from the baseline's, as its name ("Systolic",
-- "Diastolic") and "S is more than P% away from the baseline B", or nil when both are within
-- (or no baseline). The observation's block (bp_not_recovered) and the discharge's gate
-- (docs/safety.md AL2) read the same check; the diastolic since AN15 (130/105 after 120/75 went
-- home). A rise is judged against the baseline; a fall against the lower of the baseline and
-- the pre-dose caution figure (sbp_caution, dbp_caution): from a baseline above it, a fall back
-- to a normal figure is recovered (docs/workstation.md V4: 126 after 176 held every
-- hypertensive patient), a fall far below it still holds ("S is more than P% below C (the
-- pre-dose caution figure, under the baseline B)"). At or under the caution figure the
-- baseline is the reference both ways, as before. Source: docs/clinical/discharge-criteria.md,
-- "BP back near baseline".
-- `b` (optional) is the baseline to judge from, else lib.baseline's (lib.baseline_changed:
-- what a change of the baseline after the dose changes).
function lib.bp_not_recovered(x, visit, b)
  b = b or lib.baseline(visit)
  if not b or not x then return nil end
  for _, part in ipairs({ { "Systolic", "sbp", "bp_recovery_pct", "sbp_caution" },
                          { "Diastolic", "dbp", "dbp_recovery_pct", "dbp_caution" } }) do
    local name, field, pct = part[1], part[2], visit.param(part[3])
    local base = b[field]
    if x[field] > base and x[field] - base > base * pct / 100 then
      return name, fmt("%g is more than %g%% away from the baseline %g", x[field], pct, base)
    end
    local ref = math.min(base, visit.param(part[4]))
    if x[field] < ref and ref - x[field] > ref * pct / 100 then
      if ref == base then return name, fmt("%g is more than %g%% away from the baseline %g", x[field], pct, base) end
      return name, fmt("%g is more than %g%% below %g (the pre-dose caution figure, under the baseline %g)", x[field],
                       pct, ref, base)
    end
  end
  return nil
end

-- x past the limits s/d (`past(value, limit)`), in words: "BP 176/102 is above 140/90" when both
-- parts are, else the part that is ("BP 130/100 has a diastolic of 100, above 90 (140/90)"), as
-- esketamine_rems's lib.flag_words (docs/safety.md AS6, AW3: 130 is not above 140).
function lib.above_words(what, x, s, d)
  if x.sbp > s and x.dbp > d then return fmt("%s %s is above %g/%g", what, bp(x), s, d) end
  local part, value, limit = "systolic", x.sbp, s
  if x.sbp <= s then part, value, limit = "diastolic", x.dbp, d end
  return fmt("%s %s has a %s of %g, above %g (%g/%g)", what, bp(x), part, value, limit, s, d)
end

-- Whether two readings have the same BP (nil alike: neither recorded).
local function same_bp(a, b)
  if a == nil or b == nil then return a == b end
  return a.sbp == b.sbp and a.dbp == b.dbp
end

-- The pre-dose baseline's BP changed after the dose by someone who is not a clinician
-- (docs/safety.md U6, AQ2: 128/80 amended by a nurse to 130/100, "mis-typed", during the
-- observation lifted the BP-recovery hold, and rises were judged from it; AW1: a later entry of
-- the baseline did the same without an amendment; AW2: a second amendment that changed only the
-- heart rate lifted the hold). After the dose the baseline is what every rise, fall and the
-- recovery to leave is judged from: changing its BP is a clinician's decision, whatever changes it
-- and whatever else the change carries. The BP a clinician stands by is the one in effect when the
-- dose was given (the infusion's first start: its entry and observed time), or the one a
-- clinician's later change made the baseline (an amendment, or an entry of the newest reading):
-- v.changed_since. Returns nil when the baseline's BP now is that one or the dose was not given; else
-- the change ({ previous = the baseline stood by, nil when none was recorded before the dose; now =
-- the baseline in effect now; by = who last changed the BP; how = "amended", "entered again" or
-- "entered" (none before) }) and the words of the hold.
-- Source: docs/clinical/discharge-criteria.md, "BP back near baseline".
function lib.baseline_changed(visit)
  if visit.value("infusion.infusion_started") ~= true then return nil end
  local first = visit.count("infusion.infusion_started")
  local _, dosed = visit.recorded_seq("infusion.infusion_started", first)
  local at = visit.observed_at("infusion.infusion_started", first)
  local changed = v.changed_since(visit, "screening.baseline", dosed, at, same_bp)
  if changed == nil then return nil end
  return changed, fmt("the pre-dose BP was %s after the dose by %s (%s to %s): a clinician confirms it (amends "
                      .. "it again or overrides)", changed.how, changed.by,
                      changed.previous and bp(changed.previous) or "none before the dose", bp(changed.now))
end

-- The last vitals at discharge: what of them is past its limit, as one text, or nil.
-- Systolic at or below sbp_low, heart rate at or below hr_min (docs/safety.md Q4); heart
-- rate above hr_max, respiratory rate below rr_min or at or above rr_max (U3: a fast heart
-- or breathing rate at leaving gave only alerts a quick acknowledgement cleared).
function lib.out_of_range_at_discharge(last, visit)
  if last == nil then return nil end
  local found = {}
  if last.sbp <= visit.param("sbp_low") then
    found[#found + 1] = fmt("systolic %g at or below %g", last.sbp, visit.param("sbp_low"))
  end
  if last.hr <= visit.param("hr_min") then
    found[#found + 1] = fmt("heart rate %g at or below %g", last.hr, visit.param("hr_min"))
  end
  if last.hr > visit.param("hr_max") then
    found[#found + 1] = fmt("heart rate %g above %g", last.hr, visit.param("hr_max"))
  end
  if last.rr < visit.param("rr_min") then
    found[#found + 1] = fmt("respiratory rate %g below %g", last.rr, visit.param("rr_min"))
  end
  if last.rr >= visit.param("rr_max") then
    found[#found + 1] = fmt("respiratory rate %g at or above %g", last.rr, visit.param("rr_max"))
  end
  if #found == 0 then return nil end
  return table.concat(found, ", ")
end

-- How many of the observed times `times` (ms, newest first, as visit.observed_at(ref, k) for
-- k = 1, 2, ...) are at least `apart` ms apart: readings closer together count once
-- (docs/safety.md U2: three readings typed within a second are one look at the patient).
-- Counting from the newest and keeping each reading at least `apart` before the last kept
-- one keeps as many as any choice could.
function lib.count_apart(times, apart)
  local n, kept = 0, nil
  for _, at in ipairs(times) do
    if kept == nil or kept - at >= apart then
      n, kept = n + 1, at
    end
  end
  return n
end

-- Low SpO2 (spo2_min). Alert id "spo2_low".
function lib.spo2_low(x, visit)
  local min = visit.param("spo2_min")
  if x.spo2 < min then
    return v.alert.high(fmt("SpO2 %g%% is below %g%%: assess the airway and check the probe; call the clinician.%s",
                            x.spo2, min, infusion_hint(visit, "Consider stopping the infusion.")),
                        { id = "spo2_low", value = x.spo2 })
  end
  return nil
end

-- Slow breathing (rr_min). Alert id "rr_low".
function lib.rr_low(x, visit)
  local min = visit.param("rr_min")
  if x.rr < min then
    return v.alert.high(fmt("Respiratory rate %g/min is below %g: stimulate, assess the airway and SpO2; "
                            .. "call the clinician.%s", x.rr, min,
                            infusion_hint(visit, "Consider stopping the infusion.")), { id = "rr_low", value = x.rr })
  end
  return nil
end

-- The limit rules whose check reads the reading alone, as observation.lua declares them:
-- priority and worse margin by rule id (the checks are the lib functions of those names).
local LIMIT_RULES = {
  { id = "bp_rise", priority = "medium", worse = "bp" },
  { id = "bp_low", priority = "high", worse = "bp_low" },
  { id = "hr_low", priority = "high", worse = "hr_low" },
  { id = "spo2_low", priority = "high", worse = "spo2" },
  { id = "rr_low", priority = "high", worse = "rr" },
  { id = "rr_high", priority = "high", worse = "rr_high" },
}

-- rules (a phase's list) with those limit rules on its vitals item `on` added: a phase
-- that declares the observation's limits on a reading of its own (discharge.vitals, T6).
function lib.with_limit_rules(on, rules)
  for _, r in ipairs(LIMIT_RULES) do
    local check = lib[r.id]
    rules[#rules + 1] = v.rule(r.id) {
      on = on,
      priority = r.priority, worse = lib.worse[r.worse],
      check = function(x, visit) return check(x, visit) end,
    }
  end
  return rules
end

-- Sedation depth on the MOAA/S scale, recorded as a choice "5" .. "0".
-- 0 is loss of consciousness by the scale's definition (MOAA/S in docs/clinical/
-- sedation-dissociation-scales.md): always high. At or below moaas_alert: medium.
--   alert ids: "sedation_unresponsive" (high), "sedation_deep" (medium).
function lib.sedation(level_text, visit)
  local level = tonumber(level_text)
  if level == nil then return nil end
  if level == 0 then
    return v.alert.high("MOAA/S 0: no response to a painful stimulus. Support the airway and call the clinician now."
                        .. infusion_hint(visit, "Consider stopping the infusion."), { id = "sedation_unresponsive", value = level })
  end
  local limit = visit.param("moaas_alert")
  if level <= limit then
    return v.alert.medium(fmt("MOAA/S %g (at or below %g): deeper sedation than expected. Watch airway and SpO2 "
                              .. "closely; tell the clinician.%s", level, limit,
                              infusion_hint(visit, "Consider pausing the infusion.")),
                          { id = "sedation_deep", value = level })
  end
  return nil
end

-- Dissociation, as the nurse observes it: "none", "present" (tolerated) or
-- "distressing". No validated cut-off exists for dissociation scales (CADSS in
-- docs/clinical/sedation-dissociation-scales.md): only distress, an observation, alerts.
-- Alert id "dissociation_distress".
function lib.dissociation(x, visit)
  if x == "distressing" then
    return v.alert.low("Patient distressed by dissociation: reassure, reduce stimulation, tell the clinician."
                       .. infusion_hint(visit, "Consider pausing the infusion."), { id = "dissociation_distress" })
  end
  return nil
end

-- After an alert is acknowledged, a reading that still meets its condition is
-- announced again (active, with the new value) when it is worse than the one last
-- announced by at least these margins (each rule's `worse`, in the units of its
-- alerts' value; a higher priority is always announced again). The margins sit
-- just beyond the measurement's own noise, so that a real deterioration is never
-- silent and a re-measurement of the same state does not alarm again
-- (docs/safety.md, H1):
--   SpO2 3 points: a pulse oximeter's stated accuracy is within about 3 points
--     (ISO 80601-2-61 accuracy as Arms <= 4%, devices commonly state 2-3%).
--   RR 2/min (lower for rr_low, higher for rr_high): a manual count over 30-60 s is off by
--     1-2 breaths.
--   BP 10 mmHg past the flag: repeated cuff readings differ by about 5-8 mmHg.
--   HR 10/min: beat-to-beat and movement variation of a few beats.
--   Low systolic 10 mmHg (bp_low, lower): as BP above.
--   MOAA/S 1 step: each step of the scale is a clinically different state.
lib.worse = {
  spo2 = { lower = 3 },
  rr = { lower = 2 },
  rr_high = { higher = 2 },
  bp = { higher = 10 },
  hr = { higher = 10 },
  hr_low = { lower = 10 },
  bp_low = { lower = 10 },
  moaas = { lower = 1 },
}

-- Aldrete points that restate a measurement (docs/safety.md, H12): for each such field
-- of the score, the vitals field it restates, how the reading is said, and the most points
-- the last reading of it allows. A score above that contradicts the chart.
--   spo2: the score's own bands (scores.aldrete_spo2 on room air, the most it gives:
--     above 92% 2, above 90% 1, else 0).
--   respiration: below the slow-breathing limit (param rr_min) breathing is at best
--     "shallow or limited" (1 point), never "breathes deeply and coughs freely" (2).
--   circulation: the score's own bands against the baseline's systolic
--     (scores.aldrete_circulation, % variant: within 20% 2, 20-49% 1, else 0; docs/safety.md
--     AL2: 2 beside 94 after 128 was not contradicted). No baseline: nil, nothing to compare.
lib.aldrete_restates = {
  { field = "spo2", reading = "spo2", what = function(spo2) return fmt("SpO2 %g%%", spo2) end,
    most = function(spo2) return scores.aldrete_spo2(spo2, false) end },
  { field = "respiration", reading = "rr", what = function(rr) return fmt("respiratory rate %g/min", rr) end,
    most = function(rr, visit) if rr < visit.param("rr_min") then return 1 end return 2 end },
  { field = "circulation", reading = "sbp",
    what = function(sbp, visit) return fmt("systolic %g against the baseline %g", sbp, lib.baseline(visit).sbp) end,
    most = function(sbp, visit) local b = lib.baseline(visit) return b and scores.aldrete_circulation(sbp, b.sbp) end },
}

-- The Aldrete points (x) that the last vitals (last, nil when none) contradict, as
-- one sentence, or nil.
function lib.aldrete_contradictions(x, last, visit)
  if last == nil then return nil end
  local found = {}
  for _, m in ipairs(lib.aldrete_restates) do
    local points, reading = tonumber(x[m.field]), last[m.reading]
    if points ~= nil and reading ~= nil then
      local most = m.most(reading, visit)
      if most ~= nil and points > most then
        found[#found + 1] = fmt("%s %g points, but the last %s allows at most %g", m.field, points,
                                m.what(reading, visit), most)
      end
    end
  end
  if #found == 0 then return nil end
  return table.concat(found, "; ")
end

-- Whole minutes, for messages.
function lib.minutes(ms)
  return math.floor(ms / 60000)
end

-- The course's PHQ-9 response and remission (docs/clinical/course.md,
-- "Response and remission"): a fall of 50 % or more from the course's first
-- session; a total below 5.
lib.RESPONSE_FALL_PCT = 50
lib.REMISSION_BELOW = 5

-- A note at discharge: today's PHQ-9 total against the course's first
-- session's, from the second session on (nil at the first, or without both).
function lib.course_response_note(visit)
  local c = visit.course()
  local first = c and c.session > 1 and c.first("phq9")
  local today = visit.value("screening.phq9")
  today = today and today.total
  if not first or not today or first <= 0 then return nil end
  local fall = (first - today) / first * 100
  local verdict = fall >= lib.RESPONSE_FALL_PCT and "a response" or "no response yet"
  if today < lib.REMISSION_BELOW then verdict = verdict .. ", in remission" end
  return v.note(string.format("Course session %d: PHQ-9 %g today, %g at the first session: a fall of %.0f %% "
                              .. "(%s; a response is a fall of %g %% or more).", c.session, today, first, fall,
                              verdict, lib.RESPONSE_FALL_PCT))
end

return lib
