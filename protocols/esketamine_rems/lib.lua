-- lib.lua: checks shared by the phases of esketamine_rems.
--
-- Each function takes a reading and the visit view and returns an outcome
-- (v.alert.*, v.block, v.note) or nil. The phase files declare the rules and pass
-- in the readings they look at, so that every item reference stays a string
-- literal in the phase file, where lint checks it.
--
-- No threshold lives here: every limit is a protocol parameter (protocol.lua names
-- each one's source, a page of docs/clinical/). Messages say what was seen
-- and what to consider; the decision stays with the prescriber.

local v = require "vigil"

local lib = {}

local fmt = string.format

-- "SBP/DBP" as the nurse typed it (%g: no trailing ".0").
function lib.bp(x) return fmt("%g/%g", x.sbp, x.dbp) end

-- At or above the marked-hypertension flag (params sbp_alert / dbp_alert).
function lib.at_flag(x, visit)
  return x.sbp >= visit.param("sbp_alert") or x.dbp >= visit.param("dbp_alert")
end

-- What of reading x reaches the flag, said true (docs/safety.md AS6: "BP 150/110 is at or above
-- 180/110" when only its diastolic did): "BP 192/114 is at or above 180/110" when both parts do,
-- else the part that does, "BP 150/110 has a diastolic of 110, at or above 110 (the flag
-- 180/110)". what: "BP", "BP before leaving".
function lib.flag_words(what, x, visit)
  local s, d = visit.param("sbp_alert"), visit.param("dbp_alert")
  if x.sbp >= s and x.dbp >= d then return fmt("%s %s is at or above %g/%g", what, lib.bp(x), s, d) end
  local part, value, limit = "systolic", x.sbp, s
  if x.sbp < s then part, value, limit = "diastolic", x.dbp, d end
  return fmt("%s %s has a %s of %g, at or above %g (the flag %g/%g)", what, lib.bp(x), part, value, limit, s, d)
end

-- Above the pre-dose 140/90 guide (sbp_caution, dbp_caution), under the flag: the prescriber
-- weighs risk against benefit (predose's bp_caution alert and bp_caution_review signature).
function lib.above_guide(x, visit)
  return not lib.at_flag(x, visit) and (x.sbp > visit.param("sbp_caution") or x.dbp > visit.param("dbp_caution"))
end

-- Marked hypertension after dosing. Readings after esketamine are sparse (the
-- label asks for one at about 40 minutes, then as clinically warranted), so one
-- reading at the flag is enough to call the prescriber. Alert id "bp_high"; its
-- value is how far the reading is past the flag, in mmHg (the larger of systolic
-- and diastolic), for the rule's `worse` margin.
function lib.bp_high(x, visit)
  if not lib.at_flag(x, visit) then return nil end
  local past = math.max(x.sbp - visit.param("sbp_alert"), x.dbp - visit.param("dbp_alert"))
  return v.alert.high(fmt("%s after dosing: tell the prescriber now and repeat the reading.",
                          lib.flag_words("BP", x, visit)), { id = "bp_high", value = past })
end

-- The pre-dose reading a rise is measured from: dosing's repeat when the first grew old
-- (docs/safety.md AN13), else predose's. The monitoring's bp_rise and the discharge's (AN16).
function lib.predose_bp(visit)
  return visit.value("dosing.vitals") or visit.value("predose.predose_vitals")
end

-- Rise from the pre-dose reading `before` (params sbp_rise / dbp_rise).
-- Alert id "bp_rise"; its value is how far the rise is past its limit, in mmHg
-- (the larger of the two).
function lib.bp_rise(x, before, visit)
  if not before then return nil end
  local ds, dd = x.sbp - before.sbp, x.dbp - before.dbp
  local lim_s, lim_d = visit.param("sbp_rise"), visit.param("dbp_rise")
  if ds >= lim_s or dd >= lim_d then
    return v.alert.medium(fmt("BP %s is %+g/%+g mmHg from the pre-dose %s (flag: +%g systolic or +%g diastolic): "
                              .. "repeat the reading and tell the prescriber.", lib.bp(x), ds, dd, lib.bp(before),
                              lim_s, lim_d), { id = "bp_rise", value = math.max(ds - lim_s, dd - lim_d) })
  end
  return nil
end

-- Respiratory depression: SpO2 below spo2_min. Alert id "spo2_low" (high); its
-- value is the SpO2, for the rule's `worse` margin.
function lib.spo2_low(x, visit)
  local min = visit.param("spo2_min")
  if x.spo2 < min then
    return v.alert.high(fmt("SpO2 %g%% is below %g%%: assess the airway, check the probe, call the prescriber.",
                            x.spo2, min), { id = "spo2_low", value = x.spo2 })
  end
  return nil
end

-- Respiratory depression: breathing slower than rr_min. Alert id "rr_low" (high);
-- its value is the rate.
function lib.rr_low(x, visit)
  local min = visit.param("rr_min")
  if x.rr < min then
    return v.alert.high(fmt("Respiratory rate %g/min is below %g: stimulate, assess the airway and SpO2, call the "
                            .. "prescriber.", x.rr, min), { id = "rr_low", value = x.rr })
  end
  return nil
end

-- Fast breathing: at or above rr_max. Alert id "rr_high" (high); its value is the rate
-- (docs/safety.md U3).
function lib.rr_high(x, visit)
  local max = visit.param("rr_max")
  if x.rr >= max then
    return v.alert.high(fmt("Respiratory rate %g/min is at or above %g: count again over a full minute, check SpO2 "
                            .. "and the airway, call the prescriber.", x.rr, max), { id = "rr_high", value = x.rr })
  end
  return nil
end

-- Low blood pressure (sbp_low): systolic at or below it. Alert id "bp_low" (high);
-- its value is the systolic (docs/safety.md Q4).
function lib.bp_low(x, visit)
  local min = visit.param("sbp_low")
  if x.sbp <= min then
    return v.alert.high(fmt("BP %s: systolic at or below %g. Check the reading and the patient (lie them flat if "
                            .. "faint); call the prescriber.", lib.bp(x), min), { id = "bp_low", value = x.sbp })
  end
  return nil
end

-- Slow heart rate (hr_min): at or below it. Alert id "hr_low" (high); its value is
-- the rate. A heart rate of 0 is a true reading (docs/safety.md M6).
function lib.hr_low(x, visit)
  local min = visit.param("hr_min")
  if x.hr <= min then
    return v.alert.high(fmt("Heart rate %g/min is at or below %g: check the pulse and the patient; call the "
                            .. "prescriber.", x.hr, min), { id = "hr_low", value = x.hr })
  end
  return nil
end

-- Fast heart rate (hr_max): above it. Alert id "hr_high" (high); its value is the rate.
-- Readings after esketamine are sparse, so one reading is enough, as for hr_low
-- (docs/safety.md AS4: HR 150 before leaving raised nothing).
function lib.hr_high(x, visit)
  local max = visit.param("hr_max")
  if x.hr > max then
    return v.alert.high(fmt("Heart rate %g/min is above %g: check the pulse and the patient, repeat the reading; "
                            .. "call the prescriber.", x.hr, max), { id = "hr_high", value = x.hr })
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
-- amendment brings it in dosing), lifted by a reading within the limit (the latest
-- counts) or the prescriber's override naming the rule.
function lib.predose_hold(field, alert, x, visit)
  if alert == nil then return nil end
  local l = PREDOSE[field]
  return { alert, v.block(fmt("Pre-dose " .. l.what .. ": do not dose; rest and repeat the reading (the latest counts), "
                              .. "or the prescriber reviews and overrides this hold.", x[field], visit.param(l.param))) }
end

-- rules (a phase's list) with the pre-dose vitals' holds and alerts on the phase's vitals item
-- `item`: predose's predose_vitals, and dosing's repeat reading when those grew old before the
-- dose (docs/safety.md AN13). The same names, so that the phase's latest reading is what holds.
function lib.with_predose_vitals_rules(item, rules)
  -- Hold at marked hypertension. Source: docs/clinical/vitals-limits.md "Pre-dose hold"
  -- (esketamine label data [P/S]; Del Sant 2020 [S]); params sbp_alert, dbp_alert. The hold
  -- alerts too (docs/safety.md AN12: 185/112 and 215/125 held and told nobody): a medium alert
  -- asking for the prescriber, as AL9's BP before leaving alerts beside its hold. Medium, not
  -- the monitoring's high: the dose waits, nothing given is acting yet (clinic convention, ours).
  rules[#rules + 1] = v.rule "bp_hold" {
    on = item,
    priority = "high", worse = lib.worse.bp, -- a block: a failing rule's technical alert is high
    check = function(x, visit)
      if lib.at_flag(x, visit) then
        local s, d = visit.param("sbp_alert"), visit.param("dbp_alert")
        return { v.alert.medium(fmt("Pre-dose BP %s is at or above %g/%g: the dose is held; tell the prescriber, "
                                    .. "rest and repeat.", lib.bp(x), s, d),
                                { id = "bp_hold", value = math.max(x.sbp - s, x.dbp - d) }),
                 v.block(fmt("Pre-dose BP %s is at or above %g/%g: rest and repeat; do not dose without the "
                             .. "prescriber's review.", lib.bp(x), s, d)) }
      end
    end,
  }
  -- Low pre-dose vitals (docs/safety.md Q3, Q4): a high alert and a hold before dosing.
  -- Sources: see params sbp_low (NEWS2 systolic <= 90 scores 3), hr_min (pulse <= 40 scores
  -- 3), spo2_min (SpO2 <= 91 scores 3) and rr_min (9-11 scores 1, <= 8 scores 3) in
  -- protocol.lua. An amendment of these vitals in dosing runs them again: their hold then
  -- holds the devices (N7).
  -- Each: the rule, the reading's field, its check and its worse margin.
  for _, low in ipairs({ { "bp_low", "sbp", lib.bp_low, lib.worse.bp_low }, { "hr_low", "hr", lib.hr_low, lib.worse.hr_low },
                         { "spo2_low", "spo2", lib.spo2_low, lib.worse.spo2 }, { "rr_low", "rr", lib.rr_low, lib.worse.rr } }) do
    local field, check = low[2], low[3]
    rules[#rules + 1] = v.rule(low[1]) {
      on = item,
      priority = "high", worse = low[4],
      check = function(x, visit) return lib.predose_hold(field, check(x, visit), x, visit) end,
    }
  end
  -- Source: docs/clinical/esketamine-rems.md: "Pre-dose BP above about 140 systolic or
  -- 90 diastolic: weigh risk against benefit" [S]; params sbp_caution, dbp_caution.
  rules[#rules + 1] = v.rule "bp_caution" {
    on = item,
    priority = "low", worse = lib.worse.bp,
    check = function(x, visit)
      local s, d = visit.param("sbp_caution"), visit.param("dbp_caution")
      if lib.above_guide(x, visit) then
        -- After the devices (an amendment, a later entry: docs/safety.md AW3, AX6) the dose is given.
        local next_step = visit.value("dosing.devices_administered") == true
                          and "recorded after the dose: tell the prescriber."
                          or "the prescriber should weigh risk against benefit before dosing."
        return v.alert.low(fmt("Pre-dose BP %s is above %g/%g: %s", lib.bp(x), s, d, next_step),
                           { id = "bp_caution", value = math.max(x.sbp - s, x.dbp - d) })
      end
    end,
  }
  -- A pre-dose BP changed after the dose by someone who is not a clinician (lib.predose_changed,
  -- docs/safety.md U6, AQ2, AW1, AW2): leaving holds on it, and this alert says what it changes. Medium,
  -- carried: it asks a clinician for a decision on the record, the patient's state is as it was
  -- and leaving's gate is the hold (a high alert would hold every phase and sound as a
  -- deterioration); only a clinician acknowledges it, with a reason.
  -- Source: docs/clinical/vitals-limits.md, "Rise from baseline".
  rules[#rules + 1] = v.rule "baseline_amended" {
    on = item,
    carry = true,
    worse = false, -- one decision per amendment: a clinician's amendment or acknowledgement
    check = function(_, visit)
      local changed, _, ref = lib.predose_changed(visit)
      if changed == nil then return nil end
      local now = changed.now
      local was_bp = changed.previous and lib.bp(changed.previous) or "none before the dose"
      local changes = ""
      if ref == "dosing.vitals" or visit.value("dosing.vitals") == nil then -- the rise's reference (lib.predose_bp)
        changes = fmt(" Every rise is now judged from %s.", lib.bp(now))
        local last = changed.previous and lib.last_bp(visit)
        local was, is = last and lib.bp_rise(last, changed.previous, visit), last and lib.bp_rise(last, now, visit)
        if was and not is then
          changes = changes .. fmt(" The last BP %s, a rise that alerts from %s, no longer is.", lib.bp(last), was_bp)
        elseif is and not was then
          changes = changes .. fmt(" The last BP %s, no rise that alerts from %s, now is.", lib.bp(last), was_bp)
        end
      end
      if ref == "predose.predose_vitals" then
        changes = changes .. fmt(" The REMS form's BP before dosing says %s.", lib.bp(now))
      end
      return v.alert.medium(fmt("Pre-dose BP %s after the dose by %s: %s to %s.%s Leaving holds until a "
                                .. "clinician confirms it (amends it again) or overrides.",
                                changed.how, changed.by, was_bp, lib.bp(now),
                                changes), { id = "baseline_amended" })
    end,
  }
  return rules
end

-- The newest BP after the dose (the BP before leaving, the monitoring's), or nil.
function lib.last_bp(visit)
  local last, at
  for _, ref in ipairs({ "discharge.bp_before_leaving", "monitoring.bp", "monitoring.bp_40m" }) do
    local t = visit.observed_at(ref)
    if t and (at == nil or t > at) then last, at = visit.value(ref), t end
  end
  return last
end

-- Whether two readings have the same BP (nil alike: neither recorded).
local function same_bp(a, b)
  if a == nil or b == nil then return a == b end
  return a.sbp == b.sbp and a.dbp == b.dbp
end

-- A pre-dose BP (predose_vitals, dosing's repeat) changed after the dose by someone who is not a
-- clinician (docs/safety.md U6, AQ2: in ketamine_iv a nurse's 130/100 for 128/80 lifted the
-- discharge's BP-recovery hold; AW1: a pre-dose reading entered after the devices did the same
-- without an amendment; AW2: a second amendment that changed only the heart rate lifted the
-- hold). After the dose the pre-dose BP is what every rise is judged from (bp_rise, and through it
-- the prescriber's leaving "yes": AQ1) and what the REMS form reports as the BP before dosing:
-- changing it is a clinician's decision, whatever changes it and whatever else the change
-- carries. The BP a clinician stands by is each reading's in effect when the devices were given
-- (their first entry and its observed time), or the one a clinician's later change made the
-- reading (an amendment, or an entry of the newest reading): v.changed_since. Returns the change
-- ({ previous = the reading stood by, nil when none was recorded before the dose; now = the reading in effect now;
-- by = who last changed the BP; how = "amended", "entered again" or "entered" (none before) }),
-- the words of leaving's hold and the item, or nil when both readings' BP is the one stood by or
-- the devices were not given.
function lib.predose_changed(visit)
  if visit.value("dosing.devices_administered") ~= true then return nil end
  local first = visit.count("dosing.devices_administered")
  local _, dosed = visit.recorded_seq("dosing.devices_administered", first)
  local at = visit.observed_at("dosing.devices_administered", first)
  for _, ref in ipairs({ "predose.predose_vitals", "dosing.vitals" }) do
    local changed = v.changed_since(visit, ref, dosed, at, same_bp)
    if changed then
      return changed, fmt("the pre-dose BP was %s after the dose by %s (%s to %s): a clinician confirms it "
                          .. "(amends it again or overrides)", changed.how,
                          changed.by, changed.previous and lib.bp(changed.previous) or "none before the dose",
                          lib.bp(changed.now)), ref
    end
  end
  return nil
end

-- The dose waits for vitals of now (docs/safety.md AN13: a pre-dose BP 3 hours old, then the
-- dose): `at` is when the newest pre-dose reading was observed (ms; 0 for none). Older than
-- predose_vitals_max_age_min, the check before the dose (dosing's before_dose) says so. No
-- reading at all is predose's gate's to hold (its override is the prescriber's).
function lib.vitals_before_dose(at, visit)
  local max_age = visit.param("predose_vitals_max_age_min")
  if at > 0 and visit.now() - at > max_age * 60000 then
    return false, fmt("the pre-dose vitals are %d minutes old (the dose needs them taken within %g): take the "
                      .. "pre-dose vitals again (Vitals again before the devices)", lib.minutes(visit.now() - at),
                      max_age)
  end
  return true
end

-- A rule on an answer dosing rests on (consent, the prescriber on site, ...), read as it
-- stands now (docs/safety.md AN10: amended false in Dosing, it had held nothing). `s`: the
-- `item` and the rule's `id`; `phase`, the answer's, whose gate reads it while the visit is
-- there (a check's false there is "not yet", recorded again when done: G1); `dosed(visit)`,
-- whether the dose is given (the phase file names the item); the words `what`, `before`
-- and `after`. Past its phase, the answer false (or "no") before the dose is a block, which
-- holds the phase and, in Dosing, the dose itself (the engine's dose hold, N7) until the
-- answer is taken back (an amendment): no signature outweighs it. After the dose, an alert
-- the rule carries (a clinician acknowledges it, with a reason): medium, high if `urgent`.
-- vigil stops nothing: the message says what was seen and who decides.
function lib.stopping_rule(s)
  return v.rule(s.id) {
    on = s.item,
    carry = true,
    priority = "high",
    worse = false, -- an answer: nothing worse to announce than the stop itself
    check = function(x, visit)
      if (x ~= false and x ~= "no") or visit.phase() == s.phase then return nil end
      if not s.dosed(visit) then return v.block(fmt("%s: do not dose; %s", s.what, s.before)) end
      local message = fmt("%s after the dose was given: %s.", s.what, s.after)
      if s.urgent then return v.alert.high(message, { value = s.what }) end
      return v.alert.medium(message, { value = s.what })
    end,
  }
end

-- Whether a respiration reading shows respiratory depression.
function lib.depressed(x, visit)
  return x.spo2 < visit.param("spo2_min") or x.rr < visit.param("rr_min")
end

-- Sedation on the MOAA/S scale, recorded as a choice "5" .. "0". 0 is loss of
-- consciousness by the scale's definition (sedation-dissociation-scales.md): always
-- high. At or below moaas_alert: medium.
-- Alert ids "sedation_unresponsive" (high), "sedation_deep" (medium); their value
-- is the level, for the rule's `worse` margin.
function lib.sedation(level_text, visit)
  local level = tonumber(level_text)
  if level == nil then return nil end
  if level == 0 then
    return v.alert.high("MOAA/S 0: no response to a painful stimulus. Support the airway and call the prescriber now.",
                        { id = "sedation_unresponsive", value = level })
  end
  local limit = visit.param("moaas_alert")
  if level <= limit then
    return v.alert.medium(fmt("MOAA/S %g (at or below %g): deeper sedation than expected. Watch airway and SpO2 "
                              .. "closely; tell the prescriber.", level, limit), { id = "sedation_deep", value = level })
  end
  return nil
end

-- Dissociation as observed: "none", "present" (tolerated), "distressing". There is
-- no validated cut-off (docs/clinical/sedation-dissociation-scales.md): only distress alerts.
-- Alert id "dissociation_distress".
function lib.dissociation(x)
  if x == "distressing" then
    return v.alert.low("Patient distressed by dissociation: reassure, reduce stimulation, tell the prescriber.",
                       { id = "dissociation_distress" })
  end
  return nil
end

-- After an alert is acknowledged, a reading that still meets its condition is
-- announced again (active, with the new value) when it is worse than the one last
-- announced by at least these margins (each rule's `worse`, in the units of its
-- alerts' value; a higher priority is always announced again; docs/safety.md, H1).
-- The same margins as ketamine_iv's lib.worse, for the same reasons: just beyond
-- the measurement's own noise.
--   SpO2 3 points: a pulse oximeter's stated accuracy is within about 3 points.
--   RR 2/min (lower for rr_low, higher for rr_high): a manual count over 30-60 s is off by
--     1-2 breaths.
--   BP 10 mmHg past the flag: repeated cuff readings differ by about 5-8 mmHg.
--   Low systolic 10 mmHg and heart rate 10/min below the last announced (bp_low, hr_low).
--   MOAA/S 1 step: each step of the scale is a clinically different state.
lib.worse = {
  spo2 = { lower = 3 },
  rr = { lower = 2 },
  rr_high = { higher = 2 },
  bp = { higher = 10 },
  bp_low = { lower = 10 },
  hr_low = { lower = 10 },
  hr_high = { higher = 10 },
  moaas = { lower = 1 },
}

-- rules (a phase's list) with monitoring.lua's breathing and sedation rules, the same
-- names, priorities, worse margins and checks, on the phase's own items `respiration`
-- and `moaas` (the discharge's repeat readings: docs/safety.md T6). The same name is
-- what lets a calm reading there resolve a late low reading of the monitoring (S2, T1).
function lib.with_breathing_rules(rules)
  rules[#rules + 1] = v.rule "spo2_low" {
    on = "respiration", priority = "high", worse = lib.worse.spo2,
    check = function(x, visit) return lib.spo2_low(x, visit) end,
  }
  rules[#rules + 1] = v.rule "rr_low" {
    on = "respiration", priority = "high", worse = lib.worse.rr,
    check = function(x, visit) return lib.rr_low(x, visit) end,
  }
  rules[#rules + 1] = v.rule "rr_high" {
    on = "respiration", priority = "high", worse = lib.worse.rr_high,
    check = function(x, visit) return lib.rr_high(x, visit) end,
  }
  rules[#rules + 1] = v.rule "sedation_deep" {
    on = "moaas", priority = "high", worse = lib.worse.moaas,
    check = function(x, visit) return lib.sedation(x, visit) end,
  }
  return rules
end

-- Every reading of each of `items` (qualified names), in one list: what the REMS
-- form's answers are checked against (discharge.lua, record_shows).
function lib.readings(visit, items)
  local out = {}
  for _, item in ipairs(items) do
    for _, x in ipairs(visit.last(item, visit.count(item)) or {}) do out[#out + 1] = x end
  end
  return out
end

-- Whether any of `values` (newest first, as visit.last gives them) satisfies
-- `pred`.
function lib.any(values, pred)
  for _, x in ipairs(values or {}) do
    if pred(x) then return true end
  end
  return false
end

-- The REMS form asks whether sedation, dissociation or respiratory depression
-- occurred. `answer` is the nurse's "yes"/"no"; `seen` what the monitoring records
-- show (a text such as "MOAA/S as low as 1", or nil when they show none;
-- discharge.lua reads the records). A "no"
-- against the records holds leaving (a block; docs/safety.md N6: a low alert was
-- acknowledged and the form filed "no"), until the answer is corrected or the
-- prescriber confirms it (`confirmed`: the signature answers_confirmed, whose
-- calculation names each contradiction, so that a change to any of them voids it).
function lib.form_answer(answer, seen, what, confirmed)
  if answer == "no" and seen and not confirmed then
    return v.block(fmt("The form says no %s occurred, but the monitoring record shows %s: correct the answer, or "
                       .. "the prescriber confirms it (Form answers confirmed).", what, seen))
  end
  return nil
end

-- Whole minutes, for messages.
function lib.minutes(ms)
  return math.floor(ms / 60000)
end

-- A time of day, "10:42 UTC", for messages (ms since the epoch, UTC; the engine's messages
-- say their times in UTC).
function lib.clock(ms)
  local minutes = ms // 60000
  return fmt("%02d:%02d UTC", minutes // 60 % 24, minutes % 60)
end

-- The form's "BP at about 40 minutes" is the first blood pressure of monitoring
-- observed at or after 40 minutes from dosing (docs/rems.md; docs/safety.md N6).
-- Source: docs/clinical/esketamine-rems.md: "BP before dosing, at about 40 min after
-- dosing" [P].
local FORM_BP_AFTER = "40m"

-- What the REMS Patient Monitoring Form would lack if the patient left now, as
-- texts: each field ({ value, name }) with no value, no time of dosing (dosed: when
-- the devices were recorded as given, or false), and no blood pressure observed at
-- or after 40 minutes from dosing (bp_at: when the latest monitoring BP was observed,
-- 0 for none; readings are kept in the order they were observed).
function lib.form_gaps(fields, dosed, bp_at)
  local gaps = {}
  for _, f in ipairs(fields) do
    if f[1] == nil then gaps[#gaps + 1] = "REMS form: " .. f[2] .. " not recorded" end
  end
  if not dosed then
    gaps[#gaps + 1] = "REMS form: no time of dosing (devices administered), so no total monitoring time"
  elseif bp_at < dosed + v.ms(FORM_BP_AFTER) then
    gaps[#gaps + 1] = "REMS form: no blood pressure observed at or after 40 minutes from dosing"
  end
  return gaps
end

return lib
