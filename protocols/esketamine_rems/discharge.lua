-- discharge.lua: ready to leave. Blood pressure before leaving, the prescriber's
-- judgement that the vitals are acceptable, the REMS form's questions on what
-- occurred during the session, and the ride home present. Leaving this phase
-- ends the session; the gate lists everything still missing.
--
-- A repeat breathing reading and MOAA/S taken now (items respiration and moaas, not
-- scheduled, not required: docs/safety.md T6) run the monitoring's spo2_low, rr_low and
-- sedation_deep under the same names, so a calm one resolves a late low reading of the
-- monitoring that holds leaving (S2, T1) without back-dating; a low one alerts as in the
-- monitoring and is on the REMS form's record.
--
-- Rule ids: spo2_low, rr_low, rr_high, sedation_deep (as monitoring.lua's), leaving_without_vitals, bp_leaving (blocks; bp_leaving also at low BP or a slow heart rate),
-- bp_high, bp_low, hr_low, hr_high (high alerts on the BP before leaving: AL9, Q4, AS4), bp_rise (medium, from the pre-dose
-- reading: AN16), sedation_answer, dissociation_answer,
-- respiratory_answer (blocks while a "no" contradicts the monitoring record and the
-- prescriber has not confirmed it: docs/safety.md N6).
--
-- The gate holds a "yes" for leaving (leaving_acceptable) that a BP before leaving recorded after
-- it raising an alert, or an amendment of one she judged, has voided, until the prescriber answers
-- again (yes_voided: docs/safety.md AQ1, AS1, AS3).

local v = require "vigil"
local lib = require "lib"

local fmt = string.format

local YES_NO = { "yes", "no" }

-- What the monitoring record shows of each of the form's three questions: a text
-- for each that occurred, nil for one that did not. MOAA/S below "resolved"
-- (param moaas_recovered) counts as sedation; any dissociation but "none" as
-- dissociation; a breathing reading below spo2_min or rr_min as respiratory
-- depression. Every reading counts, not only the latest, the discharge's repeat
-- readings too (a low one at leaving occurred during the session: docs/safety.md T6).
local function record_shows(visit)
  local recovered = visit.param("moaas_recovered")
  local lowest
  for _, level in ipairs(lib.readings(visit, { "monitoring.moaas", "discharge.moaas" })) do
    local n = tonumber(level)
    if n and n < recovered and (lowest == nil or n < lowest) then lowest = n end
  end
  local dissociation
  for _, d in ipairs(visit.last("monitoring.dissociation", visit.count("monitoring.dissociation")) or {}) do
    if d ~= "none" and dissociation ~= "distressing" then dissociation = d end
  end
  local breathing
  for _, r in ipairs(lib.readings(visit, { "monitoring.respiration", "discharge.respiration" })) do
    if breathing == nil and lib.depressed(r, visit) then breathing = fmt("SpO2 %g%%, RR %g/min", r.spo2, r.rr) end
  end
  return {
    sedation = lowest and fmt("MOAA/S as low as %g", lowest),
    dissociation = dissociation and fmt("dissociation %s", dissociation),
    respiratory = breathing,
  }
end

-- What each rule on the BP before leaving alerts at, by the rule's id (the rules below run
-- these): the limits of the reading (bp_high, bp_low, hr_low: docs/safety.md AL9, Q4, R5) and
-- its rise from the pre-dose reading (bp_rise: AN16), a fast heart rate (hr_high: AS4). The leaving
-- gate reads the same ones: a reading recorded after the prescriber's "yes" that raises any of them
-- voids it (AQ1, AS1, AS3).
local BP_ALERTS = {
  -- Source: docs/clinical/vitals-limits.md, "Marked hypertension" (params sbp_alert, dbp_alert).
  bp_high = lib.bp_high,
  -- Source: docs/clinical/vitals-limits.md, "Rise from baseline" (params sbp_rise, dbp_rise).
  bp_rise = function(x, visit) return lib.bp_rise(x, lib.predose_bp(visit), visit) end,
  -- Source: see params sbp_low and hr_min in protocol.lua (NEWS2: systolic <= 90 and pulse
  -- <= 40 score 3).
  bp_low = lib.bp_low,
  hr_low = lib.hr_low,
  -- Source: docs/clinical/vitals-limits.md, "Tachycardia" (param hr_max; NEWS2: pulse >= 131
  -- scores 3; docs/safety.md AS4).
  hr_high = lib.hr_high,
}
local BP_ALERT_RULES = { "bp_high", "bp_rise", "bp_low", "hr_low", "hr_high" }

-- The prescriber's answer of record: of her leaving_acceptable readings, the one recorded last (an
-- entry back-dated before an earlier answer is still her latest: docs/safety.md AS6), its value and
-- its place in the order of recording (visit.recorded_seq: an amendment is a new recording).
local function latest_answer(visit)
  local n = visit.count("leaving_acceptable")
  local answers = visit.last("leaving_acceptable", n) or {}
  local seq, answer
  for k = 1, n do
    local changed = visit.recorded_seq("leaving_acceptable", k)
    if seq == nil or changed > seq then seq, answer = changed, answers[k] end
  end
  return seq, answer
end

-- The first rule of BP_ALERTS that alerts on reading x, or nil.
local function alerting(x, visit)
  for _, id in ipairs(BP_ALERT_RULES) do
    if BP_ALERTS[id](x, visit) then return id end
  end
  return nil
end

-- The prescriber's "yes" (leaving_acceptable) judged the BPs before leaving on record when she
-- gave it, by the ORDER OF RECORDING (visit.recorded_seq), not by observed times: a clock that
-- did not move between two entries (after a restart, or the simulated clock) and an entry
-- back-dated before her answer were taken as judged (docs/safety.md AS1, AS3). The gate's
-- reason, or nil when the "yes" stands:
-- * a BP before leaving entered after her answer that raises an alert of BP_ALERTS, whatever its
--   observed time, is outside what she judged (AQ1: "yes" on 126/80, then 178/108, its rise
--   acknowledged by the nurse, and the patient left with "yes" beside 178/108 on the REMS form);
--   a calm one voids nothing, nor does one of her own entry (she records the BP and her answer
--   together);
-- * a BP on record at her answer amended after it, calm or not: what she judged changed (AS3);
-- * a BP entered after her answer and amended since, calm or not: what it first said may have
--   voided her "yes" and is not in the view (AS8);
-- * a calm BP entered after her answer that is as far from the one she judged as a rise from the
--   pre-dose that alerts (sbp_rise, dbp_rise): she judged another patient state (AS7);
-- * a "yes" given before any BP before leaving judged none: the first that comes after it voids
--   it, calm or not (AS2).
-- It stands again when she answers again (a new entry, or her amendment: recorded after them).
local function yes_voided(visit)
  local yes_seq, answer = latest_answer(visit)
  if answer ~= "yes" then
    return fmt("the prescriber's latest answer is \"%s\" (entered with an earlier observed time than an earlier "
               .. "\"yes\"): vitals not judged acceptable for leaving", tostring(answer))
  end
  local n = visit.count("bp_before_leaving")
  local readings = visit.last("bp_before_leaving", n) or {}
  local voiding, amended, judged, rose, rose_x, later_amended
  for k = 1, n do
    local _, entered = visit.recorded_seq("bp_before_leaving", k)
    if entered <= yes_seq then
      judged = readings[k] -- the newest observed of those she saw
      break
    end
  end
  for k = 1, n do
    local changed, entered = visit.recorded_seq("bp_before_leaving", k)
    local x, at = readings[k], visit.observed_at("bp_before_leaving", k)
    local said = fmt("%s at %s", lib.bp(x), lib.clock(at))
    if entered <= yes_seq then
      if changed > yes_seq and amended == nil then amended = said end
    elseif changed > entered then
      -- Entered after her answer, then amended: what it first said is not in the view, and it may
      -- have voided her "yes" (178/108 amended to 128/80 brought the "yes" back: docs/safety.md
      -- AS8, the mirror of AS3).
      later_amended = later_amended or said
    elseif voiding == nil and alerting(x, visit) then
      voiding = said
    elseif rose == nil and judged and lib.bp_rise(x, judged, visit) then
      -- Under every limit, yet as far from the BP she judged as a rise from the pre-dose that
      -- alerts (params sbp_rise, dbp_rise): 118/74 judged, then 166/102 (docs/safety.md AS7).
      rose, rose_x = said, x
    end
  end
  if amended then
    return fmt("blood pressure before leaving %s, on record at the prescriber's \"yes\", was amended after it: "
               .. "the prescriber answers again, judging what it says now (a new entry of \"Vitals acceptable for "
               .. "leaving\")", amended)
  end
  if later_amended then
    return fmt("blood pressure before leaving %s, entered after the prescriber's \"yes\", was amended since: the "
               .. "prescriber answers again, judging what it says now (a new entry of \"Vitals acceptable for "
               .. "leaving\")", later_amended)
  end
  if voiding == nil and rose then
    return fmt("blood pressure before leaving %s came after the prescriber's \"yes\" (on %s) and is %+g/%+g mmHg "
               .. "from the reading she judged (flag: +%g systolic or +%g diastolic): the prescriber answers again "
               .. "(a new entry of \"Vitals acceptable for leaving\")", rose, lib.bp(judged),
               rose_x.sbp - judged.sbp, rose_x.dbp - judged.dbp, visit.param("sbp_rise"), visit.param("dbp_rise"))
  end
  if voiding == nil and judged == nil and n > 0 then
    return fmt("blood pressure before leaving %s at %s came after the prescriber's \"yes\", given before any blood "
               .. "pressure before leaving: the prescriber answers again, judging it (a new entry of \"Vitals "
               .. "acceptable for leaving\")", lib.bp(readings[1]), lib.clock(visit.observed_at("bp_before_leaving", 1)))
  end
  if voiding == nil then return nil end
  return fmt("blood pressure before leaving %s came after the prescriber's \"yes\" (%s) and raised an alert: the "
             .. "prescriber answers again (a new entry of \"Vitals acceptable for leaving\")", voiding,
             judged and "on " .. lib.bp(judged) or "given before any blood pressure before leaving")
end

-- The form's "no" answers that the monitoring record contradicts, as one text
-- ("" when none): what the prescriber confirms by signing answers_confirmed.
local function contradictions(visit)
  local shows, out = record_shows(visit), {}
  if visit.value("sedation_occurred") == "no" and shows.sedation then
    out[#out + 1] = "sedation answered no, the record shows " .. shows.sedation
  end
  if visit.value("dissociation_occurred") == "no" and shows.dissociation then
    out[#out + 1] = "dissociation answered no, the record shows " .. shows.dissociation
  end
  if visit.value("respiratory_depression_occurred") == "no" and shows.respiratory then
    out[#out + 1] = "respiratory depression answered no, the record shows " .. shows.respiratory
  end
  return table.concat(out, "; ")
end

return v.phase "discharge" {
  title = "Ready to leave",
  help = "Blood pressure before leaving, the prescriber's judgement, the three REMS form questions, and the ride home "
         .. "here. No driving until the next day, after restful sleep.",
  items = {
    -- Source: docs/clinical/discharge-criteria.md, "A repeat reading at discharge" (docs/safety.md
    -- T6); the limits and the scale are the monitoring's (monitoring.lua).
    v.vitals "respiration" {
      title = "Breathing now (a repeat reading before leaving)",
      help = "Take SpO2 and the respiratory rate again now if a reading is in doubt, or the prescriber asks: the "
             .. "monitoring's limits alert, and a low one is on the REMS form's record.",
      fields = { "spo2", "rr" },
      required = false,
    },
    v.choice "moaas" {
      title = "Sedation now (MOAA/S, a repeat before leaving)",
      help = "5 responds readily to name; 4 lethargic response to name; 3 only to a loud or repeated name; "
             .. "2 only to mild prodding or shaking; 1 only to a painful stimulus; 0 no response.",
      options = { "5", "4", "3", "2", "1", "0" },
      required = false,
    },
    -- Source: docs/clinical/esketamine-rems.md, Patient Monitoring Form: "BP ... before
    -- leaving"; "vitals acceptable ... before leaving (yes/no)" [S reproducing P].
    -- What the form reports at leaving cannot be skipped (skippable = false;
    -- docs/safety.md M5): a skipped BP let "vitals acceptable before leaving" be
    -- filed with no blood pressure.
    v.vitals "bp_before_leaving" {
      title = "Blood pressure before leaving",
      fields = { "sbp", "dbp", "hr" },
      skippable = false,
    },
    -- The REMS form's "vitals acceptable before leaving" is the prescriber's evaluation: a
    -- clinician's entry (clinician = true: a nurse's entry, amendment or skip is refused, 403
    -- naming it; docs/safety.md AL6: a nurse's "yes" was filed as the prescriber's).
    v.choice "leaving_acceptable" {
      title = "Vitals acceptable for leaving (prescriber's judgement)",
      options = YES_NO,
      skippable = false,
      clinician = true,
    },
    -- Source: docs/clinical/esketamine-rems.md, Patient Monitoring Form: "whether
    -- sedation, dissociation or respiratory depression occurred" [S reproducing P].
    v.choice "sedation_occurred" {
      title = "Sedation occurred during this session", options = YES_NO, skippable = false,
    },
    v.choice "dissociation_occurred" {
      title = "Dissociation occurred during this session", options = YES_NO, skippable = false,
    },
    v.choice "respiratory_depression_occurred" {
      title = "Respiratory depression occurred during this session", options = YES_NO, skippable = false,
    },
    -- Source: docs/clinical/esketamine-rems.md: "No driving until the next day after
    -- restful sleep; confirm a ride before dosing" [P][S]; docs/clinical/discharge-criteria.md:
    -- released to a responsible adult [W].
    -- A "no" that the monitoring record contradicts (MOAA/S 1, then "no sedation")
    -- holds leaving until the answer is corrected or the prescriber confirms it
    -- here (docs/safety.md N6): a signature, so a clinician's and not the nurse's who
    -- answered; it attests each contradiction, and a change to any answer voids it.
    v.signature "answers_confirmed" {
      title = "Form answers confirmed against the monitoring record by the prescriber",
      of = "sedation_occurred",
      when = function(visit) return contradictions(visit) ~= "" end,
      calculation = function(visit) return contradictions(visit) end,
      meaning = "the prescriber confirms the form's answers that the monitoring record contradicts",
    },
    -- Neither can be skipped (docs/safety.md P6): skipped, the gate's reasons went away and
    -- the patient left with no ride and no advice on record.
    v.check "ride_present" { title = "The ride home is here", skippable = false },
    v.check "no_driving_advice" {
      title = "Told not to drive or operate machinery until the next day, after restful sleep", skippable = false,
    },
  },

  rules = lib.with_breathing_rules({
    -- The REMS form's "vitals acceptable before leaving" says yes only about vitals
    -- that were taken: a yes with no BP before leaving holds until it is recorded
    -- (as predose's acceptable_without_vitals; docs/safety.md M5).
    v.rule "leaving_without_vitals" {
      on = { "leaving_acceptable", "bp_before_leaving" },
      check = function(_, visit)
        if visit.value("leaving_acceptable") == "yes" and visit.value("bp_before_leaving") == nil then
          return v.block("Vitals judged acceptable for leaving, but no blood pressure before leaving is recorded: "
                         .. "record it.")
        end
      end,
    },
    -- Source: docs/clinical/vitals-limits.md, "Marked hypertension" (params sbp_alert, dbp_alert),
    -- "Low blood pressure" and "Bradycardia" (params sbp_low, hr_min; docs/safety.md Q4): the
    -- BP before leaving past either holds leaving, whatever "acceptable for leaving" says; the
    -- way past is a reading within the limits or the prescriber's override naming this rule.
    v.rule "bp_leaving" {
      on = "bp_before_leaving",
      check = function(x, visit)
        if lib.at_flag(x, visit) then
          return v.block(fmt("%s: keep monitoring and tell the prescriber.",
                             lib.flag_words("BP before leaving", x, visit)))
        end
        if x.sbp <= visit.param("sbp_low") or x.hr <= visit.param("hr_min") then
          return v.block(fmt("BP before leaving %s, heart rate %g/min: at or below %g systolic or %g/min, not fit to "
                             .. "leave: keep monitoring and tell the prescriber.", lib.bp(x), x.hr,
                             visit.param("sbp_low"), visit.param("hr_min")))
        end
      end,
    },
    -- A high BP before leaving alerts high, as the monitoring's bp_high of the same name
    -- (docs/safety.md AL9: 192/114 held leaving and told nobody): the block above holds
    -- leaving, the alert tells someone; a calm BP before leaving resolves the monitoring's.
    -- Source: docs/clinical/vitals-limits.md, "Marked hypertension" (params sbp_alert, dbp_alert).
    v.rule "bp_high" {
      on = "bp_before_leaving",
      priority = "high", worse = lib.worse.bp,
      check = BP_ALERTS.bp_high,
    },
    -- A rise from the pre-dose reading before leaving alerts medium, as the monitoring's bp_rise
    -- of the same name (docs/safety.md AN16: a leaving 178/108, +50/+28 over the pre-dose 128/80,
    -- raised nothing): the prescriber judging the vitals acceptable for leaving sees it.
    -- Source: docs/clinical/vitals-limits.md, "Rise from baseline" (params sbp_rise, dbp_rise).
    v.rule "bp_rise" {
      on = "bp_before_leaving",
      priority = "medium", worse = lib.worse.bp,
      check = BP_ALERTS.bp_rise,
    },
    -- A low BP or a slow heart rate before leaving alerts high, as wherever BP is taken
    -- (docs/safety.md Q4, R5): the block above holds leaving, the alert tells someone.
    -- Source: see params sbp_low and hr_min in protocol.lua (NEWS2: systolic <= 90 and pulse
    -- <= 40 score 3).
    v.rule "bp_low" {
      on = "bp_before_leaving",
      priority = "high", worse = lib.worse.bp_low,
      check = BP_ALERTS.bp_low,
    },
    v.rule "hr_low" {
      on = "bp_before_leaving",
      priority = "high", worse = lib.worse.hr_low,
      check = BP_ALERTS.hr_low,
    },
    -- A fast heart rate before leaving alerts high (docs/safety.md AS4: HR 150 raised nothing and
    -- the prescriber's "yes" given before it stood); after her "yes" it voids it (yes_voided).
    -- Source: docs/clinical/vitals-limits.md, "Tachycardia" (param hr_max).
    v.rule "hr_high" {
      on = "bp_before_leaving",
      priority = "high", worse = lib.worse.hr_high,
      check = BP_ALERTS.hr_high,
    },
    -- The form's answers against the monitoring records (lib.form_answer): a "no"
    -- the record contradicts holds until corrected or confirmed (docs/safety.md N6).
    v.rule "sedation_answer" {
      on = { "sedation_occurred", "answers_confirmed" },
      check = function(_, visit)
        return lib.form_answer(visit.value("sedation_occurred"), record_shows(visit).sedation, "sedation",
                               visit.value("answers_confirmed"))
      end,
    },
    v.rule "dissociation_answer" {
      on = { "dissociation_occurred", "answers_confirmed" },
      check = function(_, visit)
        return lib.form_answer(visit.value("dissociation_occurred"), record_shows(visit).dissociation, "dissociation",
                               visit.value("answers_confirmed"))
      end,
    },
    v.rule "respiratory_answer" {
      on = { "respiratory_depression_occurred", "answers_confirmed" },
      check = function(_, visit)
        return lib.form_answer(visit.value("respiratory_depression_occurred"), record_shows(visit).respiratory,
                               "respiratory depression", visit.value("answers_confirmed"))
      end,
    },
  }),

  gate = function(visit)
    local missing = {}
    if visit.value("leaving_acceptable") ~= "yes" then
      missing[#missing + 1] = "vitals not judged acceptable for leaving"
    else
      missing[#missing + 1] = yes_voided(visit)
    end
    -- A pre-dose BP changed after the dose by someone who is not a clinician holds until a
    -- clinician confirms it (docs/safety.md U6, AQ2, AW1, AW2; lib.predose_changed).
    local _, changed = lib.predose_changed(visit)
    if changed then missing[#missing + 1] = changed end
    if visit.value("ride_present") ~= true then missing[#missing + 1] = "the ride home is not here" end
    if visit.value("no_driving_advice") ~= true then missing[#missing + 1] = "no-driving advice not given" end
    -- Source: docs/clinical/esketamine-rems.md: "until sedation ... [has] resolved" [P] (param
    -- moaas_recovered), as the monitoring's gate: a MOAA/S taken now, at leaving, below it says
    -- sedation has not resolved (a 3 or 4 raises no alert; docs/safety.md T6).
    local now = tonumber(visit.value("discharge.moaas"))
    if now and now < visit.param("moaas_recovered") then
      missing[#missing + 1] = fmt("sedation not resolved at leaving (MOAA/S %g, needs %g)", now,
                                  visit.param("moaas_recovered"))
    end
    -- Source: docs/clinical/discharge-criteria.md, "Vitals at discharge no older than" (param
    -- discharge_vitals_max_age_min) and vitals-limits.md, "Fast breathing" (rr_max): the newest
    -- breathing reading, the repeat taken here or else the monitoring's, is of now and not
    -- fast (docs/safety.md U2, U3: breathing 90 minutes old, RR 40 acknowledged, let go).
    local breathing, observed = visit.value("discharge.respiration"), visit.observed_at("discharge.respiration")
    if breathing == nil then
      breathing, observed = visit.value("monitoring.respiration"), visit.observed_at("monitoring.respiration")
    end
    local max_age = visit.param("discharge_vitals_max_age_min")
    -- The BP before leaving too (docs/safety.md AN16: one 27 minutes old went): the REMS form's
    -- "before leaving" and the holds and alerts above read it, so it is of now.
    local bp_at = visit.observed_at("bp_before_leaving")
    if bp_at and visit.now() - bp_at > max_age * 60000 then
      missing[#missing + 1] = fmt("blood pressure before leaving taken %d minutes ago (needs within %g): take it "
                                  .. "again now", lib.minutes(visit.now() - bp_at), max_age)
    end
    if breathing == nil then
      missing[#missing + 1] = "breathing not recorded: take SpO2 and the respiratory rate now"
    else
      if visit.now() - observed > max_age * 60000 then
        missing[#missing + 1] = fmt("breathing last recorded %d minutes ago (needs within %g): take SpO2 and the "
                                    .. "respiratory rate now", lib.minutes(visit.now() - observed), max_age)
      end
      if breathing.rr >= visit.param("rr_max") then
        missing[#missing + 1] = fmt("respiratory rate %g at or above %g at leaving: record breathing within the "
                                    .. "limits, or the prescriber overrides", breathing.rr, visit.param("rr_max"))
      end
    end
    -- The REMS Patient Monitoring Form: every field it asks has a value before the
    -- patient leaves (docs/rems.md, lib.form_gaps): a skipped answer or no BP at
    -- 40 minutes was a form filed with a gap. Source: docs/clinical/esketamine-rems.md,
    -- "The Patient Monitoring Form" [S reproducing P].
    local dosed = visit.value("dosing.devices_administered") == true
                  and visit.observed_at("dosing.devices_administered")
    local bp = math.max(visit.observed_at("monitoring.bp_40m") or 0, visit.observed_at("monitoring.bp") or 0)
    local form = lib.form_gaps({
      { visit.value("predose.comed_benzodiazepine"), "benzodiazepines (co-medication)" },
      { visit.value("predose.comed_hypnotic"), "non-benzodiazepine hypnotics (co-medication)" },
      { visit.value("predose.comed_psychostimulant"), "psychostimulants (co-medication)" },
      { visit.value("predose.comed_maoi"), "MAOIs (co-medication)" },
      { visit.value("predose.predose_vitals"), "blood pressure before dosing" },
      { visit.value("predose.predose_acceptable"), "vitals acceptable before dosing" },
      { visit.value("dosing.dose"), "dose" },
      { visit.value("dosing.lot_number"), "device lot number" },
      { visit.value("bp_before_leaving"), "blood pressure before leaving" },
      { visit.value("leaving_acceptable"), "vitals acceptable before leaving (the prescriber's evaluation)" },
      { visit.value("sedation_occurred"), "whether sedation occurred" },
      { visit.value("dissociation_occurred"), "whether dissociation occurred" },
      { visit.value("respiratory_depression_occurred"), "whether respiratory depression occurred" },
    }, dosed, bp)
    for _, gap in ipairs(form) do missing[#missing + 1] = gap end
    if #missing > 0 then return false, table.concat(missing, "; ") end
    return true
  end,
}
