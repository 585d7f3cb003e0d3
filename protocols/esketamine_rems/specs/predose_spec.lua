-- Before dosing: contraindications and pregnancy hold the checklist (blocks a
-- prescriber may override with a reason), co-medications the REMS form asks
-- about alert low (comed_sedating for benzodiazepines and hypnotics, comed_bp for
-- psychostimulants and MAOIs), substance use alerts low, and the gate needs
-- consent, a ride home, the prescriber and the oximeter confirmed and vitals the
-- prescriber did not judge unacceptable.
local session = require "session"

-- Clean pre-dose checks at 0m with PHQ-9 item 9 answered `answer` (above 0), and
-- the high alert it raises.
local function item_9(answer)
  return {
    at "0m" { record = { consent = true, ci_vascular = "no", ci_hypersensitivity = "no", pregnancy = "neither",
                         substance_use = "no", self_harm_thoughts = answer, comed_benzodiazepine = "no",
                         comed_hypnotic = "no", comed_psychostimulant = "no", comed_maoi = "no",
                         ride_confirmed = true, prescriber_on_site = true, pulse_oximeter = true,
                         predose_vitals = { sbp = 128, dbp = 78, hr = 70, spo2 = 98, rr = 14 } } },
    expect "0m" { alert = "self_harm", id = "self_harm_thoughts", priority = "high",
                  message = "PHQ-9 item 9 answered " .. answer },
  }
end

return {
  spec "A contraindication holds dosing until the prescriber overrides with a reason" {
    no_other = { "blocks", "gates" },
    session.predose(nil, nil, true),
    -- A recorded answer is changed by an amendment with a reason (docs/safety.md U11).
    at "2m" { amend = { item = "ci_vascular", value = "yes", reason = "AVM in the referral letter" } },
    expect "2m" { block = "ci_vascular", reason = "Contraindication: aneurysmal vascular disease" },
    at "3m" { advance = true },
    expect "3m" { gate_blocked = "predose", reason = "Do not dose without the prescriber's review" },
    at "5m" { actor = "dr:kim", override = "AVM treated in 2019, neurology cleared", holds = { "ci_vascular" } },
    expect "5m" { overridden = "predose" },
    expect "5m" { entered = "dosing" },
  },

  spec "Pregnancy holds dosing; breastfeeding too" {
    no_other = { "blocks" },
    session.predose(nil, nil, true),
    at "2m" { amend = { item = "pregnancy", value = "pregnant", reason = "test positive this morning" } },
    expect "2m" { block = "pregnancy", reason = "Patient is pregnant" },
    -- An answer that holds is changed by an amendment with a reason (docs/safety.md, G1).
    at "3m" { amend = { item = "pregnancy", value = "breastfeeding", reason = "not pregnant: breastfeeding" } },
    expect "3m" { block = "pregnancy", reason = "Patient is breastfeeding" },
    at "4m" { amend = { item = "pregnancy", value = "neither", reason = "weaned last month" } },
    expect "4m" { unblocked = "pregnancy" },
  },

  spec "Co-medications on the REMS form alert low, sedating ones and BP-raising ones apart" {
    no_other = { "alerts" },
    at "0m" { record = { consent = true, comed_benzodiazepine = "yes", comed_hypnotic = "no",
                         comed_psychostimulant = "no", comed_maoi = "yes", substance_use = "yes" } },
    expect "0m" { alert = "comed_benzodiazepine", id = "comed_sedating", priority = "low",
                  message = "benzodiazepines: they can deepen sedation" },
    expect "0m" { alert = "comed_maoi", id = "comed_bp", priority = "low",
                  message = "monoamine oxidase inhibitors (MAOIs): they can raise blood pressure" },
    expect "0m" { alert = "substance_use", priority = "low", message = "careful evaluation" },
    expect "0m" { no_alert = "comed_hypnotic" },
    expect "0m" { no_alert = "comed_psychostimulant" },
  },

  spec "Hypnotics and psychostimulants too; hypersensitivity holds dosing" {
    no_other = { "alerts", "blocks" },
    at "0m" { record = { consent = true, comed_benzodiazepine = "no", comed_hypnotic = "yes",
                         comed_psychostimulant = "yes", comed_maoi = "no", ci_hypersensitivity = "yes" } },
    expect "0m" { alert = "comed_hypnotic", id = "comed_sedating", message = "non-benzodiazepine hypnotics" },
    expect "0m" { alert = "comed_psychostimulant", id = "comed_bp", message = "psychostimulants" },
    expect "0m" { block = "ci_hypersensitivity", reason = "hypersensitivity to esketamine or ketamine" },
  },

  spec "The gate lists what is missing, and a prescriber's no holds it" {
    at "0m" { record = { consent = true, ci_vascular = "no", ci_hypersensitivity = "no", pregnancy = "neither",
                         substance_use = "no", self_harm_thoughts = "0", comed_benzodiazepine = "no", comed_hypnotic = "no",
                         comed_psychostimulant = "no", comed_maoi = "no", ride_confirmed = false,
                         prescriber_on_site = false, pulse_oximeter = false } },
    at "1m" { advance = true },
    expect "1m" { gate_blocked = "predose", reason = "Vitals before dosing not recorded" },
    at "2m" { record = { predose_vitals = { sbp = 128, dbp = 78, hr = 70, spo2 = 98, rr = 14 } } },
    at "2m" { actor = "dr:kim", record = { predose_acceptable = "no" } },
    at "3m" { advance = true },
    expect "3m" { gate_blocked = "predose", reason = "no ride home confirmed" },
    expect "3m" { gate_blocked = "predose", reason = "prescriber not confirmed on site" },
    expect "3m" { gate_blocked = "predose", reason = "pulse oximeter not confirmed" },
    expect "3m" { gate_blocked = "predose", reason = "vitals judged not acceptable for dosing" },
    at "5m" { record = { ride_confirmed = true, prescriber_on_site = true, pulse_oximeter = true } },
    -- The prescriber's judgement changed is an amendment with a reason (docs/safety.md U11).
    at "6m" { actor = "dr:kim", amend = { item = "predose_acceptable", value = "yes",
                                          reason = "BP rechecked after rest, within limits" } },
    at "7m" { advance = true },
    expect "7m" { entered = "dosing" },
  },

  -- 1.2.0 (docs/safety.md H13, as ketamine_iv): a skip with a reason let a nurse pass
  -- every pre-dose answer and dose; the REMS form then said "vitals acceptable" with no BP.
  spec "What dosing rests on cannot be skipped; acceptable vitals need vitals" {
    no_other = { "blocks" },
    at "0m" { skip = { item = "consent", reason = "patient in a hurry today" } },
    expect "0m" { refused = true, error = "cannot be skipped" },
    at "1m" { skip = { item = "comed_maoi", reason = "patient unsure of the names" } },
    expect "1m" { refused = true, error = "cannot be skipped" },
    at "2m" { skip = { item = "predose_vitals", reason = "the cuff is broken today" } },
    expect "2m" { refused = true, error = "cannot be skipped" },
    at "3m" { actor = "dr:kim", record = { predose_acceptable = "yes" } },
    expect "3m" { block = "acceptable_without_vitals", reason = "no pre-dose vitals are recorded" },
    at "4m" { record = { predose_vitals = { sbp = 128, dbp = 78, hr = 70, spo2 = 98, rr = 14 } } },
    expect "4m" { unblocked = "acceptable_without_vitals" },
  },

  -- 1.3.0 (docs/safety.md M8, H4): SPRAVATO's boxed warning on suicidal thoughts and
  -- behaviours. A positive PHQ-9 item 9 alerts high (carried) and holds the session
  -- before dosing until the prescriber's suicide-risk assessment; "high" holds.
  spec "Suicidal thoughts hold dosing until the prescriber assesses the suicide risk" {
    no_other = { "alerts", "blocks" },
    item_9("2"),
    at "1m" { actor = "dr:kim", record = { predose_acceptable = "yes" } },
    at "2m" { advance = true },
    expect "2m" { gate_blocked = "predose", reason = "Suicide-risk assessment by the prescriber" },
    at "3m" { actor = "dr:kim", record = { suicide_risk = "high: do not dose today" } },
    expect "3m" { resolved = "self_harm" },
    expect "3m" { block = "self_harm", reason = "Do not dose today" },
    at "4m" { advance = true },
    expect "4m" { gate_blocked = "predose", reason = "Do not dose today" },
    at "5m" { actor = "dr:kim", amend = { item = "suicide_risk", value = "moderate: proceed with a safety plan",
                                          reason = "reassessed with the psychiatrist" } },
    expect "5m" { unblocked = "self_harm" },
    at "7m" { advance = true },
    expect "7m" { entered = "dosing" },
  },

  -- 1.5.1 (docs/safety.md N1): the smallest positive answer pins the hold, so that a
  -- version whose rule or condition lets a 1 (or any answer) through is named weakened
  -- by `vigil protocol diff` and at its approval (this version's specs, run against it).
  spec "An item 9 of 1 alerts high and holds dosing for the assessment" {
    item_9("1"),
    at "1m" { actor = "dr:kim", record = { predose_acceptable = "yes" } },
    at "2m" { advance = true },
    expect "2m" { gate_blocked = "predose", reason = "Suicide-risk assessment by the prescriber" },
  },

  -- 1.7.12 (docs/safety.md AN10): consent, the prescriber on site, the oximeter and the
  -- prescriber's judgement amended false (or "no") in Dosing held nothing; now each holds
  -- the dose until it is taken back, and after the devices it alerts (carried).
  spec "An answer dosing rests on, amended false in Dosing, holds the dose" {
    session.predose(),
    at "4m" { amend = { item = "predose.consent", value = false, reason = "patient withdrew consent" } },
    expect "4m" { block = "predose:consent_withdrawn", reason = "Informed consent not given or withdrawn" },
    at "5m" { record = { dose = "56 mg" } },
    expect "5m" { refused = true, error = "the dose waits while a hold is open" },
    at "6m" { amend = { item = "predose.consent", value = true, reason = "consent given again" } },
    expect "6m" { unblocked = "predose:consent_withdrawn" },
    at "7m" { actor = "dr:kim", amend = { item = "predose.predose_acceptable", value = "no", reason = "not today" } },
    expect "7m" { block = "predose:vitals_not_acceptable", reason = "Vitals judged not acceptable for dosing" },
    at "8m" { record = { dose = "56 mg" } },
    expect "8m" { refused = true, error = "the dose waits while a hold is open" },
  },

  spec "After the devices, consent withdrawn alerts high for the clinician, the oximeter medium" {
    session.predose(),
    session.dosing(),
    at "20m" { amend = { item = "predose.consent", value = false, reason = "patient withdrew consent" } },
    expect "20m" { alert = "consent_withdrawn", priority = "high", message = "after the dose was given" },
    at "21m" { amend = { item = "predose.pulse_oximeter", value = false, reason = "the probe stopped reading" } },
    expect "21m" { alert = "oximeter_absent", priority = "medium", message = "put a working one on the patient" },
  },

  spec "Dosing: the gate waits for the devices" {
    params = { dose_mg = "84" },
    session.predose(),
    at "4m" { record = { dose = "84 mg", lot_number = "EKA3307" } },
    at "5m" { advance = true },
    expect "5m" { gate_blocked = "dosing", reason = "devices not recorded as administered" },
    at "16m" { record = { devices_administered = true } },
    at "16m" { advance = true },
    expect "16m" { entered = "monitoring" },
  },
}
