-- Each Q3/Q4 limit pinned at its boundary, alone, in each phase where vitals are
-- taken (docs/safety.md Q3, Q4, R3): a systolic of exactly sbp_low (90, with a
-- diastolic of 66), a heart rate of exactly hr_min (40), an SpO2 just below
-- spo2_min (91) and a respiratory rate just below rr_min (9), each in a reading
-- otherwise calm. A version that drops one of them from a rule, adds a condition
-- to it (a diastolic too) or moves it past the boundary fails a case here, and the
-- protocol diff names it weakened (N1(c)); a reading with every value low would
-- still fire on the others and hide it.
local visit = require "visit"
local vitals = visit.vitals

-- What each limit says at its boundary: the fields' values and the alert's words.
local LIMITS = {
  { rule = "bp_low", over = { sbp = 90, dbp = 66 }, says = "BP 90/66: systolic at or below 90",
    hold = "Pre-dose systolic BP 90 mmHg is at or below 90" },
  { rule = "hr_low", over = { hr = 40 }, says = "Heart rate 40/min is at or below 40",
    hold = "Pre-dose heart rate 40/min is at or below 40" },
  { rule = "spo2_low", over = { spo2 = 91 }, says = "SpO2 91% is below 92%", hold = "Pre-dose SpO2 91% is below 92%" },
  { rule = "rr_low", over = { rr = 9 }, says = "Respiratory rate 9/min is below 10",
    hold = "Pre-dose respiratory rate 9/min is below 10" },
}

-- Steps from minute m: `item` (vitals) at the boundary of each limit, alone,
-- alerting high (and holding, when hold), then the calm reading (sbp, dbp) again,
-- acknowledged.
local function each_alone(item, sbp, dbp, m, hold)
  local steps = {}
  local function add(s) steps[#steps + 1] = s end
  for _, l in ipairs(LIMITS) do
    local t, t1 = m .. "m", (m + 1) .. "m"
    add(at(t) { record = { [item] = vitals(l.over.sbp or sbp, l.over.dbp or dbp, l.over) } })
    add(expect(t) { alert = l.rule, priority = "high", message = l.says })
    if hold then add(expect(t) { block = l.rule, reason = l.hold }) end
    add(at(t1) { record = { [item] = vitals(sbp, dbp) } })
    if hold then add(expect(t1) { unblocked = l.rule }) else add(expect(t1) { resolved = l.rule }) end
    add(at(t1) { ack = l.rule })
    m = m + 2
  end
  return steps
end

return {
  spec "Before the infusion, each limit alone at its boundary alerts high and holds" {
    params = { weight = 70 },
    visit.screening(70, true),
    each_alone("baseline", 130, 80, 7, true),
    at "15m" { advance = true },
    expect "15m" { entered = "infusion" },
  },

  spec "In the infusion, each limit alone at its boundary alerts high" {
    params = { weight = 70 },
    visit.screening(70),
    visit.infusion(),
    each_alone("vitals", 134, 84, 21, false),
  },

  spec "In observation, each limit alone at its boundary alerts high" {
    params = { weight = 70 },
    visit.screening(70),
    visit.infusion(),
    visit.observation(),
    each_alone("vitals", 128, 80, 67, false),
  },

  spec "A systolic alone at its limit holds the discharge" {
    params = { weight = 70 },
    visit.screening(70),
    visit.infusion(),
    visit.observation(vitals(90, 66)),
    expect "111m" { alert = "bp_low", priority = "high", message = "BP 90/66: systolic at or below 90" },
    at "112m" { ack = "bp_low" },
    at "112m" { actor = "dr:kim", override = "reviewed at the bedside: lying down, feels well",
                holds = { "bp_not_recovered" } },
    visit.discharge(),
    expect "115m" { gate_blocked = "discharge", reason = "last vitals systolic 90 at or below 90" },
  },
}
