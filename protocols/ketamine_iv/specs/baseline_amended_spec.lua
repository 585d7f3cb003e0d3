-- A pre-dose baseline changed after the dose is a clinician's decision (docs/safety.md U6, AQ2:
-- a nurse's 130/100 for 128/80, "mis-typed", lifted the discharge's BP-recovery hold; AW1: a later
-- entry of the baseline did the same; AW2: a second amendment that changed only the heart rate
-- lifted the hold). Its BP changed after the dose by someone who is not a clinician, by an
-- amendment or a later entry, the discharge holds naming who and both readings
-- (lib.baseline_changed) and the carried medium alert baseline_amended says what the change does;
-- a clinician's amendment or entry (`clinician = true`, as the server says of one) confirms it and
-- lifts the hold (the alert waits for a clinician's acknowledgement, with a reason, as every
-- carried alert); a nurse's before the dose is the baseline the dose was given on.
local visit = require "visit"
local vitals = visit.vitals

local DISCHARGE_CHECKS = { aldrete = { activity = 2, respiration = 2, circulation = 2, consciousness = 2, spo2 = 2 },
                           responsible_adult = true, no_driving_advice = true, written_instructions = true }

return {
  spec "A nurse's amendment of the baseline after the dose holds the discharge until a clinician confirms it" {
    params = { weight = 70 },
    no_other = { "alerts" },
    visit.screening(70),
    visit.infusion(),
    visit.observation(),
    at "113m" { record = { vitals = vitals(132, 98) } },
    at "113m" { record = DISCHARGE_CHECKS },
    at "114m" { discharge = true },
    expect "114m" { gate_blocked = "discharge", reason = "last vitals diastolic 98 is more than 20% away from the baseline 80" },
    at "115m" { amend = { item = "screening.baseline", value = vitals(130, 100), reason = "mis-typed" } },
    -- Its words (docs/safety.md AW3): the part past the figure, and what to do after the start.
    expect "115m" { alert = "bp_caution", priority = "low",
                    message = "Baseline BP 130/100 has a diastolic of 100, above 90 (140/90): recorded after the start: "
                              .. "tell the clinician." },
    expect "115m" { alert = "baseline_amended", priority = "medium",
                    message = "Pre-dose BP amended after the dose by nurse: 130/80 to 130/100. Every rise and the "
                              .. "BP recovery to leave are now judged from 130/100. The last vitals 132/98, not back "
                              .. "near 130/80 (diastolic 98 is more than 20% away from the baseline 80), are now taken "
                              .. "as recovered." },
    at "116m" { discharge = true },
    expect "116m" { gate_blocked = "discharge",
                    reason = "the pre-dose BP was amended after the dose by nurse (130/80 to 130/100): a clinician "
                             .. "confirms it (amends it again or overrides)" },
    at "117m" { actor = "dr:kim", amend = { item = "screening.baseline", value = vitals(130, 100), clinician = true,
                                            reason = "confirmed against the screening sheet" } },
    -- Her amendment lifts the hold; the carried alert waits for her acknowledgement, with a reason.
    at "118m" { discharge = true },
    expect "118m" { gate_blocked = "discharge", reason = "medium alert 2 not acknowledged: Pre-dose BP amended" },
    at "119m" { actor = "dr:kim", ack = "baseline_amended", reason = "confirmed: 130/100 is the pre-dose reading" },
    at "119m" { actor = "dr:kim", ack = "bp_caution", reason = "seen" },
    expect "119m" { acknowledged = "baseline_amended" },
    at "120m" { discharge = true },
    expect "120m" { discharged = true },
  },

  spec "A clinician's amendment of the baseline after the dose is taken as it is" {
    params = { weight = 70 },
    no_other = { "alerts" },
    visit.screening(70),
    visit.infusion(),
    visit.observation(),
    at "113m" { record = { vitals = vitals(132, 98) } },
    at "113m" { record = DISCHARGE_CHECKS },
    at "115m" { actor = "dr:kim", amend = { item = "screening.baseline", value = vitals(130, 100), clinician = true,
                                            reason = "mis-typed" } },
    expect "115m" { alert = "bp_caution", priority = "low" },
    expect "115m" { no_alert = "baseline_amended" },
    at "116m" { actor = "dr:kim", ack = "bp_caution", reason = "seen" },
    at "117m" { discharge = true },
    expect "117m" { discharged = true },
  },

  spec "A nurse's amendment of the baseline before the dose is the baseline the dose was given on" {
    params = { weight = 70 },
    no_other = { "alerts" },
    visit.screening(70),
    at "9m" { amend = { item = "screening.baseline", value = vitals(130, 84), reason = "mis-typed" } },
    visit.infusion(),
    visit.observation(),
    at "113m" { record = { vitals = vitals(132, 98) } },
    at "113m" { record = DISCHARGE_CHECKS },
    expect "113m" { no_alert = "baseline_amended" },
    at "114m" { discharge = true },
    expect "114m" { discharged = true },
  },

  spec "A nurse's lower baseline after the dose names the last vitals it now holds as not recovered" {
    params = { weight = 70 },
    no_other = { "alerts" },
    visit.screening(70),
    visit.infusion(),
    visit.observation(),
    at "113m" { amend = { item = "screening.baseline", value = vitals(100, 60), reason = "mis-typed" } },
    expect "113m" { alert = "baseline_amended", priority = "medium",
                    message = "The last vitals 128/80, back near 130/80, are now held as not recovered (systolic 128 "
                              .. "is more than 20% away from the baseline 100)." },
    at "113m" { record = DISCHARGE_CHECKS },
    -- The Aldrete's circulation is checked against the baseline too (AL2).
    expect "113m" { alert = "aldrete_restates", priority = "high", message = "against the baseline 100" },
    at "114m" { discharge = true },
    expect "114m" { gate_blocked = "discharge",
                    reason = "the pre-dose BP was amended after the dose by nurse (130/80 to 100/60)" },
  },

  spec "A later entry of the baseline after the dose holds the discharge as an amendment does" {
    params = { weight = 70 },
    no_other = { "alerts" },
    visit.screening(70),
    visit.infusion(),
    visit.observation(),
    at "113m" { record = { vitals = vitals(132, 98) } },
    at "113m" { record = DISCHARGE_CHECKS },
    -- Observed in screening (at 8m, after the baseline of 2m), entered now: the newest baseline.
    at "114m" { record = { baseline = vitals(138, 88), observed_at = "8m" } },
    expect "114m" { alert = "baseline_amended", priority = "medium",
                    message = "Pre-dose BP entered again after the dose by nurse: 130/80 to 138/88. Every rise and "
                              .. "the BP recovery to leave are now judged from 138/88. The last vitals 132/98, not "
                              .. "back near 130/80" },
    at "115m" { discharge = true },
    expect "115m" { gate_blocked = "discharge",
                    reason = "the pre-dose BP was entered again after the dose by nurse (130/80 to 138/88): a "
                             .. "clinician confirms it (amends it again or overrides)" },
    at "116m" { actor = "dr:kim", amend = { item = "screening.baseline", value = vitals(138, 88), clinician = true,
                                            reason = "the 08:08 reading is the pre-dose one" } },
    at "117m" { actor = "dr:kim", ack = "baseline_amended", reason = "confirmed" },
    at "118m" { discharge = true },
    expect "118m" { discharged = true },
  },

  spec "A clinician's later entry of the baseline after the dose is taken as it is" {
    params = { weight = 70 },
    no_other = { "alerts" },
    visit.screening(70),
    visit.infusion(),
    visit.observation(),
    at "113m" { record = { vitals = vitals(132, 98) } },
    at "113m" { record = DISCHARGE_CHECKS },
    at "114m" { actor = "dr:kim", clinician = true,
                record = { baseline = vitals(138, 88), observed_at = "8m" } },
    expect "114m" { no_alert = "baseline_amended" },
    at "115m" { discharge = true },
    expect "115m" { discharged = true },
  },

  spec "A second amendment of the heart rate only keeps the hold; after a clinician's it holds nothing" {
    params = { weight = 70 },
    no_other = { "alerts" },
    visit.screening(70),
    visit.infusion(),
    visit.observation(),
    at "113m" { record = { vitals = vitals(132, 98) } },
    at "113m" { record = DISCHARGE_CHECKS },
    at "114m" { amend = { item = "screening.baseline", value = vitals(130, 100), reason = "mis-typed" } },
    expect "114m" { alert = "baseline_amended", priority = "medium" },
    expect "114m" { alert = "bp_caution", priority = "low" },
    -- A clinician acknowledges both without confirming the reading: the hold stays.
    at "115m" { actor = "dr:kim", ack = "baseline_amended", reason = "will check the screening sheet" },
    at "115m" { actor = "dr:kim", ack = "bp_caution", reason = "seen" },
    at "116m" { amend = { item = "screening.baseline", value = vitals(130, 100, { hr = 75 }), reason = "HR mis-typed" } },
    -- Changed again, still unconfirmed: the alert is raised again for the clinician.
    expect "116m" { alert = "baseline_amended", priority = "medium", message = "130/80 to 130/100" },
    at "117m" { discharge = true },
    expect "117m" { gate_blocked = "discharge",
                    reason = "the pre-dose BP was amended after the dose by nurse (130/80 to 130/100)" },
    at "118m" { actor = "dr:kim", amend = { item = "screening.baseline", value = vitals(130, 100, { hr = 75 }),
                                            clinician = true, reason = "confirmed against the screening sheet" } },
    -- The BP a clinician stands by now is 130/100: a nurse's correction of the heart rate holds nothing.
    at "118m" { actor = "dr:kim", ack = "baseline_amended", reason = "confirmed" },
    at "119m" { amend = { item = "screening.baseline", value = vitals(130, 100, { hr = 76 }), reason = "HR 76" } },
    expect "119m" { no_alert = "baseline_amended" },
    at "120m" { discharge = true },
    expect "120m" { discharged = true },
  },

  spec "A later entry of a baseline observed before the one in effect changes nothing" {
    params = { weight = 70 },
    no_other = { "alerts" },
    visit.screening(70),
    visit.infusion(),
    visit.observation(),
    at "113m" { record = { vitals = vitals(132, 98) } },
    at "113m" { record = DISCHARGE_CHECKS },
    -- Observed at 1m, before the baseline of 2m: that one is still the newest, the baseline.
    at "114m" { record = { baseline = vitals(138, 88), observed_at = "1m" } },
    expect "114m" { no_alert = "baseline_amended" },
    at "115m" { discharge = true },
    expect "115m" { gate_blocked = "discharge", reason = "last vitals diastolic 98 is more than 20% away from the baseline 80" },
  },

  spec "A baseline at the hold limit recorded after the start asks for the clinician, not for a start" {
    params = { weight = 70 },
    no_other = { "alerts" },
    visit.screening(70),
    visit.infusion(),
    visit.observation(),
    at "113m" { record = DISCHARGE_CHECKS },
    at "114m" { amend = { item = "screening.baseline", value = vitals(185, 112), reason = "mis-typed" } },
    expect "114m" { alert = "bp_hold", priority = "medium",
                    message = "Baseline BP 185/112, recorded after the start, is at or above the hold limit 180/110: "
                              .. "tell the clinician." },
    expect "114m" { alert = "baseline_amended", priority = "medium" },
    at "115m" { discharge = true },
    expect "115m" { gate_blocked = "discharge",
                    reason = "Baseline BP 185/112, recorded after the start, is at or above the hold limit 180/110: a "
                             .. "clinician decides and overrides this hold, with a reason" },
  },

  spec "A clinician's entry of a baseline older than the nurse's confirms nothing" {
    params = { weight = 70 },
    no_other = { "alerts" },
    visit.screening(70),
    visit.infusion(),
    visit.observation(),
    at "113m" { record = { vitals = vitals(132, 98) } },
    at "113m" { record = DISCHARGE_CHECKS },
    at "114m" { record = { baseline = vitals(138, 88), observed_at = "8m" } },
    expect "114m" { alert = "baseline_amended", priority = "medium" },
    -- Observed at 1m, before the nurse's 8m reading: the baseline is still hers (docs/safety.md AX1).
    at "115m" { actor = "dr:kim", clinician = true, record = { baseline = vitals(130, 80), observed_at = "1m" } },
    at "116m" { actor = "dr:kim", ack = "baseline_amended", reason = "the screening sheet says 130/80" },
    at "117m" { discharge = true },
    expect "117m" { gate_blocked = "discharge",
                    reason = "the pre-dose BP was entered again after the dose by nurse (130/80 to 138/88)" },
  },

  spec "A baseline amended before the start was recorded, and the start entered late before it, is after the dose" {
    params = { weight = 70 },
    no_other = { "alerts" },
    visit.screening(70),
    -- In the infusion, the pump running but not yet ticked: the nurse amends the baseline, then
    -- records the start as observed two minutes before it (docs/safety.md AX2).
    at "12m" { amend = { item = "screening.baseline", value = vitals(138, 88), reason = "the sheet says 138/88" } },
    at "13m" { record = { infusion_started = true, pump_rate = 150, observed_at = "10m" } },
    at "20m" { record = { vitals = vitals(134, 84), moaas = "5", dissociation = "present" } },
    at "30m" { record = { vitals = vitals(134, 84), moaas = "5", dissociation = "present" } },
    at "40m" { record = { vitals = vitals(134, 84), moaas = "5", dissociation = "present" } },
    at "50m" { record = { vitals = vitals(134, 84), moaas = "5", dissociation = "present", infusion_stopped = true,
                          volume_infused = 100, dose_given = 35 } },
    at "51m" { advance = true },
    visit.observation(),
    at "113m" { record = { vitals = vitals(132, 98) } },
    at "113m" { record = DISCHARGE_CHECKS },
    at "114m" { discharge = true },
    expect "114m" { gate_blocked = "discharge",
                    reason = "the pre-dose BP was amended after the dose by nurse (130/80 to 138/88)" },
  },
}
