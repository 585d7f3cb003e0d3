-- Screening: contraindications block (rules ci_*, pregnancy), substance use
-- alerts low, the dose is checked against weight x mg/kg (dose_calc), PHQ-9
-- gives its band as a note, item 9 alerts high (carried) and holds screening until a
-- clinician's suicide-risk assessment (self_harm), and the gate needs consent
-- and a confirmed ride. A clinician can override the gate with a reason.
local visit = require "visit"

return {
  spec "A contraindication blocks the infusion until a clinician overrides" {
    params = { weight = 70 },
    no_other = { "alerts", "blocks" },
    at "0m" { record = { consent = true, ci_hypertension = "no", ci_vascular = "yes", ci_psychosis = "yes",
                         ci_hypersensitivity = "yes", pregnancy = "pregnant", substance_use = "yes",
                         ride_confirmed = true } },
    expect "0m" { block = "ci_vascular", reason = "Contraindication: aneurysmal vascular disease" },
    expect "0m" { block = "ci_psychosis", reason = "Contraindication: psychosis or schizophrenia" },
    expect "0m" { block = "ci_hypersensitivity", reason = "hypersensitivity to ketamine" },
    expect "0m" { block = "pregnancy", reason = "Patient is pregnant" },
    expect "0m" { alert = "substance_use", priority = "low", message = "needs careful evaluation" },
    expect "0m" { note = "Substance use history reported at screening." },
    at "1m" { amend = { item = "ci_hypertension", value = "yes", reason = "BP 172/104 at home this week" } },
    expect "1m" { block = "ci_hypertension", reason = "uncontrolled hypertension" },
    at "2m" { record = { baseline = visit.vitals(130, 80) } },
    at "4m" { record = { dose = 35 } },
    at "5m" { actor = "nurse:ben", record = { dose_check = true } },
    at "6m" { record = { phq9 = { q1 = 1, q2 = 1, q3 = 1, q4 = 1, q5 = 0, q6 = 0, q7 = 0, q8 = 0, q9 = 0 } } },
    expect "6m" { note = "PHQ-9 total 4: minimal." },
    at "7m" { advance = true },
    expect "7m" { gate_blocked = "screening", reason = "Contraindication: uncontrolled hypertension" },
    expect "7m" { phase = "screening" },
    -- Each hold is named by the override that passes it (docs/safety.md Q5).
    at "8m" { actor = "dr:kim", override = "reviewed: controlled on treatment, benefit outweighs risk",
              holds = { "ci_hypertension", "ci_vascular", "ci_psychosis", "ci_hypersensitivity" } },
    expect "8m" { refused = true, error = "does not name the hold pregnancy (Patient is pregnant" },
    at "8m" { actor = "dr:kim", override = "reviewed: controlled on treatment, benefit outweighs risk",
              holds = { "ci_hypertension", "ci_vascular", "ci_psychosis", "ci_hypersensitivity", "pregnancy" } },
    expect "8m" { overridden = "screening", reason = "reviewed" },
    expect "8m" { entered = "infusion" },
  },

  spec "The dose must match weight x mg/kg within the tolerance" {
    params = { weight = 80 },   -- 0.5 mg/kg: 40 mg, 10% tolerance: 36 to 44 mg
    no_other = { "alerts", "blocks" },
    at "0m" { record = { consent = true, ci_hypertension = "no", ci_vascular = "no", ci_psychosis = "no",
                         ci_hypersensitivity = "no", pregnancy = "neither", substance_use = "no",
                         ride_confirmed = true } },
    at "1m" { record = { dose = 80 } },
    expect "1m" { alert = "dose_calc", priority = "medium", message = "Dose 80 mg differs from 40 mg" },
    expect "1m" { block = "dose_calc", reason = "recheck the calculation" },
    at "2m" { amend = { item = "dose", value = 44, reason = "drew up the ordered dose" } },
    expect "2m" { unblocked = "dose_calc" },
    expect "2m" { resolved = "dose_calc" },
    at "3m" { amend = { item = "dose", value = 35.9, reason = "wrong syringe" } },
    expect "3m" { block = "dose_calc", reason = "Dose 35.9 mg" },
    expect "3m" { alert = "dose_calc" },
  },

  spec "PHQ-9 item 9 alerts high whatever the total; bands as notes" {
    params = { weight = 70 },
    no_other = { "alerts", "notes" },
    at "0m" { record = { phq9 = { q1 = 0, q2 = 0, q3 = 0, q4 = 0, q5 = 0, q6 = 0, q7 = 0, q8 = 0, q9 = 1 } } },
    expect "0m" { note = "PHQ-9 total 1: minimal." },
    expect "0m" { alert = "phq9_item9", priority = "high", message = "item 9 scored 1" },
    at "1m" { amend = { item = "phq9", reason = "read back to the patient",
                        value = { q1 = 3, q2 = 3, q3 = 3, q4 = 3, q5 = 3, q6 = 3, q7 = 2, q8 = 0, q9 = 0 } } },
    expect "1m" { note = "PHQ-9 total 20: severe." },
    at "2m" { amend = { item = "phq9", reason = "corrected",
                        value = { q1 = 3, q2 = 3, q3 = 3, q4 = 3, q5 = 3, q6 = 2, q7 = 2, q8 = 0, q9 = 0 } } },
    expect "2m" { note = "PHQ-9 total 19: moderately severe." },
    -- Item 9 amended back to 0 does not close the carried alert (docs/safety.md, H4 and
    -- F5): the assessment or a clinician's acknowledgement with a reason does.
    expect "2m" { gate = "blocked", reason = "not acknowledged: PHQ-9 item 9 scored 1" },
  },

  spec "A positive item 9 holds screening until a clinician assesses the suicide risk" {
    params = { weight = 70 },
    no_other = { "alerts", "blocks" },
    at "0m" { record = { consent = true, ci_hypertension = "no", ci_vascular = "no", ci_psychosis = "no",
                         ci_hypersensitivity = "no", pregnancy = "neither", substance_use = "no",
                         ride_confirmed = true, baseline = visit.vitals(130, 80), dose = 35 } },
    at "1m" { actor = "nurse:ben", record = { dose_check = true } },
    at "2m" { record = { phq9 = { q1 = 1, q2 = 1, q3 = 1, q4 = 1, q5 = 0, q6 = 0, q7 = 0, q8 = 0, q9 = 2 } } },
    expect "2m" { alert = "phq9_item9", priority = "high", message = "a clinician assesses the suicide risk" },
    at "3m" { advance = true },
    expect "3m" { gate_blocked = "screening", reason = "Suicide-risk assessment by a clinician" },
    at "4m" { actor = "dr:kim", record = { suicide_risk = "high: do not dose today" } },
    expect "4m" { resolved = "phq9_item9" },
    expect "4m" { block = "self_harm", reason = "Do not dose today" },
    at "5m" { actor = "dr:kim", amend = { item = "suicide_risk", value = "moderate: proceed with a safety plan",
                        reason = "reassessed with the psychiatrist" } },
    expect "5m" { unblocked = "self_harm" },
  },

  -- docs/safety.md K1: a "high" outcome holds whatever item 9 says after it (1.3.0): signed
  -- "high" again after item 9 was amended to 0, it still blocks.
  spec "A high suicide-risk assessment blocks whatever item 9 says" {
    params = { weight = 70 },
    at "0m" { record = { phq9 = { q1 = 1, q2 = 1, q3 = 1, q4 = 1, q5 = 0, q6 = 0, q7 = 0, q8 = 0, q9 = 2 } } },
    at "1m" { actor = "dr:kim", record = { suicide_risk = "high: do not dose today" } },
    expect "1m" { block = "self_harm", reason = "Do not dose today" },
    at "2m" { amend = { item = "phq9", reason = "misread item",
                        value = { q1 = 1, q2 = 1, q3 = 1, q4 = 1, q5 = 0, q6 = 0, q7 = 0, q8 = 0, q9 = 0 } } },
    at "3m" { actor = "dr:kim", record = { suicide_risk = "high: do not dose today" } },
    expect "3m" { block = "self_harm", reason = "Do not dose today" },
    at "4m" { actor = "dr:kim", amend = { item = "suicide_risk", value = "low: proceed",
                                          reason = "reassessed with the psychiatrist" } },
    expect "4m" { unblocked = "self_harm" },
  },

  -- 1.7.12 (docs/safety.md AN10): consent amended false in the infusion held nothing and
  -- the infusion started; now it holds the start until taken back, and alerts after it.
  spec "Consent amended false after screening holds the start; after it, it alerts" {
    params = { weight = 70 },
    visit.screening(70),
    at "12m" { amend = { item = "screening.consent", value = false, reason = "patient withdrew consent" } },
    expect "12m" { block = "screening:consent_withdrawn", reason = "Informed consent not given or withdrawn" },
    at "13m" { record = { infusion_started = true } },
    expect "13m" { refused = true, error = "the dose waits while a hold is open" },
    at "14m" { amend = { item = "screening.consent", value = true, reason = "consent given again" } },
    expect "14m" { unblocked = "screening:consent_withdrawn" },
    at "15m" { record = { infusion_started = true } },
    at "20m" { amend = { item = "screening.consent", value = false, reason = "patient asks to stop" } },
    expect "20m" { alert = "consent_withdrawn", priority = "high", message = "after the infusion started" },
    at "21m" { amend = { item = "screening.ride_confirmed", value = false, reason = "the ride cancelled" } },
    expect "21m" { alert = "ride_withdrawn", priority = "medium", message = "arrange one before discharge" },
  },

  spec "No responsible adult, amended after screening, holds the start too" {
    params = { weight = 70 },
    visit.screening(70),
    at "12m" { amend = { item = "screening.ride_confirmed", value = false, reason = "the ride cancelled" } },
    expect "12m" { block = "screening:ride_withdrawn", reason = "No responsible adult to take the patient home" },
    at "13m" { record = { infusion_started = true } },
    expect "13m" { refused = true, error = "the dose waits while a hold is open" },
  },

  spec "Screening cannot be left without consent and a confirmed ride" {
    params = { weight = 70 },
    at "0m" { record = { consent = false, ci_hypertension = "no", ci_vascular = "no", ci_psychosis = "no",
                         ci_hypersensitivity = "no", pregnancy = "not applicable", substance_use = "no",
                         ride_confirmed = false } },
    at "2m" { record = { baseline = visit.vitals(120, 78) } },
    at "4m" { record = { dose = 35 } },
    at "5m" { actor = "nurse:ben", record = { dose_check = true } },
    at "6m" { record = { phq9 = { q1 = 0, q2 = 0, q3 = 0, q4 = 0, q5 = 0, q6 = 0, q7 = 0, q8 = 0, q9 = 0 } } },
    expect "7m" { gate = "blocked", reason = "informed consent not confirmed; no responsible adult confirmed" },
    at "8m" { advance = true },
    expect "8m" { gate_blocked = "screening", reason = "no responsible adult confirmed to take the patient home" },
    at "9m" { record = { consent = true, ride_confirmed = true } },
    at "10m" { advance = true },
    expect "10m" { entered = "infusion" },
  },
}
