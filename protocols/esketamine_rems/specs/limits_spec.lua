-- Each Q3/Q4 limit pinned at its boundary, alone, in each phase where it is taken
-- (docs/safety.md Q3, Q4, R3): a systolic of exactly sbp_low (90), a heart rate of
-- exactly hr_min (40), an SpO2 just below spo2_min (91) and a respiratory rate just
-- below rr_min (9), each in a reading otherwise calm. A version that drops one of
-- them from a rule, or moves it past the boundary, fails a case here, and the
-- protocol diff names it weakened (N1(c)); a reading with every value low would
-- still fire on the others and hide it.
local session = require "session"
local bp = session.bp

-- What each limit says at its boundary: the field's value and the alert's words.
local LIMITS = {
  { rule = "bp_low", over = { sbp = 90, dbp = 66 }, says = "systolic at or below 90",
    hold = "Pre-dose systolic BP 90 mmHg is at or below 90" },
  { rule = "hr_low", over = { hr = 40 }, says = "Heart rate 40/min is at or below 40",
    hold = "Pre-dose heart rate 40/min is at or below 40" },
  { rule = "spo2_low", over = { spo2 = 91 }, says = "SpO2 91% is below 92%", hold = "Pre-dose SpO2 91% is below 92%" },
  { rule = "rr_low", over = { rr = 9 }, says = "Respiratory rate 9/min is below 10",
    hold = "Pre-dose respiratory rate 9/min is below 10" },
}

-- A copy of calm with over's fields.
local function with(calm, over)
  local r = {}
  for k, x in pairs(calm) do r[k] = x end
  for k, x in pairs(over) do r[k] = x end
  return r
end

-- Steps from minute m: `item` at the boundary of each limit in `limits` (by
-- index into LIMITS), alerting high (and holding, when hold), then calm again,
-- acknowledged. Returns the steps and the next free minute.
local function each_alone(item, calm, m, limits, hold)
  local steps = {}
  local function add(s) steps[#steps + 1] = s end
  for _, i in ipairs(limits) do
    local l = LIMITS[i]
    local t, t1 = m .. "m", (m + 1) .. "m"
    add(at(t) { record = { [item] = with(calm, l.over) } })
    add(expect(t) { alert = l.rule, priority = "high", message = l.says })
    if hold then add(expect(t) { block = l.rule, reason = l.hold }) end
    add(at(t1) { record = { [item] = calm } })
    if hold then add(expect(t1) { unblocked = l.rule }) else add(expect(t1) { resolved = l.rule }) end
    add(at(t1) { ack = l.rule })
    m = m + 2
  end
  return steps, m
end

-- Steps from minute m: the BP before leaving `low`, alerting high (rule, says)
-- and blocking leaving (reason), the discharge refused, then a calm BP lifting it.
local function leaving_alone(m, low, rule, says, reason)
  local t, t1, t2 = m .. "m", (m + 1) .. "m", (m + 2) .. "m"
  return {
    at(t) { record = { bp_before_leaving = low } },
    expect(t) { alert = rule, priority = "high", message = says },
    expect(t) { block = "bp_leaving", reason = reason },
    at(t1) { ack = rule },
    at(t1) { discharge = true },
    expect(t1) { gate_blocked = "discharge", reason = "not fit to leave" },
    at(t2) { record = { bp_before_leaving = bp(116, 72) } },
    expect(t2) { unblocked = "bp_leaving" },
  }
end

local predose_steps = each_alone("predose_vitals", bp(128, 78, { spo2 = 98, rr = 14 }), 3, { 1, 2, 3, 4 }, true)
local bp_steps = each_alone("bp", bp(118, 72), 52, { 1, 2 })
local bp40_steps = each_alone("bp_40m", bp(118, 72), 56, { 1, 2 })
local breathing_steps = each_alone("respiration", { spo2 = 98, rr = 14 }, 60, { 3, 4 })

return {
  spec "Before dosing, each limit alone at its boundary alerts high and holds" {
    session.predose(128, 78, true),
    predose_steps,
    at "11m" { advance = true },
    expect "11m" { entered = "dosing" },
  },

  spec "In monitoring, each limit alone at its boundary alerts high, on either BP item" {
    session.predose(),
    session.dosing(),
    session.monitoring({}, nil, true),
    bp_steps,
    bp40_steps,
    breathing_steps,
  },

  spec "Before leaving, a systolic or a heart rate alone at its limit alerts high and holds leaving" {
    session.predose(),
    session.dosing(),
    session.monitoring(),
    session.discharge({ bp_before_leaving = bp(116, 72) }, true),
    leaving_alone(133, bp(90, 66), "bp_low", "BP 90/66: systolic at or below 90",
                  "BP before leaving 90/66, heart rate 70/min: at or below"),
    leaving_alone(136, bp(116, 72, { hr = 40 }), "hr_low", "Heart rate 40/min is at or below 40",
                  "BP before leaving 116/72, heart rate 40/min: at or below"),
    -- The slow heart rate came after the prescriber's "yes" (133m): it voids it until she
    -- answers again (docs/safety.md AQ1).
    at "139m" { discharge = true },
    expect "139m" { gate_blocked = "discharge", reason = "blood pressure before leaving 116/72 at " },
    at "139m" { actor = "dr:kim", record = { leaving_acceptable = "yes" } },
    at "140m" { discharge = true },
    expect "140m" { discharged = true },
  },
}
