-- Heart rate, oxygenation, breathing, sedation and dissociation rules of the
-- infusion and observation phases: hr_high (a fast reading asks for a repeat,
-- sustained 5 minutes alerts), spo2_low, rr_low, sedation_deep (MOAA/S at or
-- below 2 medium, 0 high), dissociation_distress, hr_low (at or below 40 high;
-- a reading of 0 is recorded: M6). Params hr_max, hr_min, spo2_min, rr_min,
-- moaas_alert.
local visit = require "visit"
local vitals = visit.vitals

return {
  spec "A fast heart rate alerts once it has lasted 5 minutes" {
    params = { weight = 70 },
    no_other = { "alerts" },
    visit.screening(70),
    at "10m" { record = { infusion_started = true, pump_rate = 150 } },
    at "20m" { record = { vitals = vitals(134, 84, { hr = 124 }), moaas = "5", dissociation = "none" } },
    expect "20m" { alert = "hr_high", id = "hr_high_unconfirmed", priority = "low", message = "Heart rate 124/min" },
    at "23m" { record = { vitals = vitals(134, 84, { hr = 126 }) } },
    expect "23m" { no_alert = "hr_high", id = "hr_high" },
    at "25m" { record = { vitals = vitals(134, 84, { hr = 122 }) } },
    expect "25m" { alert = "hr_high", id = "hr_high", priority = "medium", message = "for at least 5 minutes" },
    expect "25m" { resolved = "hr_high", id = "hr_high_unconfirmed" },
    at "30m" { record = { vitals = vitals(134, 84, { hr = 120 }), moaas = "5", dissociation = "none" } },
    expect "30m" { resolved = "hr_high", id = "hr_high" },
    -- 120 is not above 120: no alert at the limit itself.
    expect "30m" { no_alert = "hr_high" },
  },

  spec "Low SpO2 and slow breathing alert high, during the infusion and after" {
    params = { weight = 70 },
    no_other = { "alerts" },
    visit.screening(70),
    at "10m" { record = { infusion_started = true, pump_rate = 150 } },
    at "20m" { record = { vitals = vitals(130, 80, { spo2 = 91, rr = 9 }), moaas = "4", dissociation = "none" } },
    expect "20m" { alert = "spo2_low", priority = "high", message = "SpO2 91% is below 92%: assess the airway" },
    expect "20m" { alert = "spo2_low", message = "call the clinician. Consider stopping the infusion." },
    expect "20m" { alert = "rr_low", priority = "high", message = "Respiratory rate 9/min is below 10" },
    at "21m" { ack = "spo2_low" },
    at "21m" { ack = "rr_low" },
    at "30m" { record = { vitals = vitals(130, 80, { spo2 = 92, rr = 10 }), moaas = "5", dissociation = "none" } },
    expect "30m" { resolved = "spo2_low" },
    expect "30m" { resolved = "rr_low" },
    at "40m" { record = { vitals = vitals(130, 80), moaas = "5", dissociation = "none" } },
    at "50m" { record = { vitals = vitals(130, 80), moaas = "5", dissociation = "none", infusion_stopped = true,
                          volume_infused = 100, dose_given = 35 } },
    at "51m" { advance = true },
    at "66m" { record = { vitals = vitals(130, 80, { spo2 = 90 }), moaas = "5", dissociation = "none" } },
    expect "66m" { alert = "spo2_low", priority = "high", message = "SpO2 90%" },
    expect "66m" { no_alert = "spo2_low", message = "Consider stopping the infusion." },
  },

  -- M6 (docs/safety.md): apnoea, deep desaturation and no pulse are true readings. They are
  -- recorded, not refused as implausible, and alert high; a slow heart rate at or below hr_min
  -- (40, NEWS2's 3-point band) alerts high, during the infusion and after.
  spec "Apnoea, SpO2 below 50 and a heart rate of 0 are recorded and alert high" {
    params = { weight = 70 },
    visit.screening(70),
    at "10m" { record = { infusion_started = true, pump_rate = 150 } },
    at "20m" { record = { vitals = vitals(130, 80, { hr = 41 }), moaas = "5", dissociation = "none" } },
    expect "20m" { no_alert = "hr_low" },
    at "22m" { record = { vitals = vitals(130, 80, { hr = 40 }) } },
    expect "22m" { alert = "hr_low", priority = "high", message = "Heart rate 40/min is at or below 40" },
    at "23m" { ack = "hr_low" },
    at "25m" { record = { vitals = vitals(90, 50, { hr = 0, spo2 = 0, rr = 0 }) } },
    expect "25m" { alert = "hr_low", priority = "high", message = "Heart rate 0/min" },
    expect "25m" { alert = "spo2_low", priority = "high", message = "SpO2 0%" },
    expect "25m" { alert = "rr_low", priority = "high", message = "Respiratory rate 0/min" },
  },

  spec "After the infusion a slow heart rate alerts high too" {
    params = { weight = 70 },
    visit.screening(70),
    visit.infusion(),
    at "66m" { record = { vitals = vitals(130, 80, { hr = 35, spo2 = 45 }), moaas = "5", dissociation = "none" } },
    expect "66m" { alert = "hr_low", priority = "high", message = "Heart rate 35/min is at or below 40" },
    expect "66m" { alert = "spo2_low", priority = "high", message = "SpO2 45%" },
  },

  -- The rules' `worse` margins (lib.worse; docs/safety.md, H1): after an
  -- acknowledgement a reading worse by the margin is announced again as a new
  -- alert, one within the margin (the same state, measured again) is not.
  spec "A worse SpO2, breathing or sedation after an acknowledgement alerts again" {
    params = { weight = 70 },
    visit.screening(70),
    at "10m" { record = { infusion_started = true, pump_rate = 150 } },
    at "20m" { record = { vitals = vitals(130, 80, { spo2 = 91, rr = 9 }), moaas = "2", dissociation = "none" } },
    expect "20m" { alert = "spo2_low", priority = "high", message = "SpO2 91%" },
    expect "20m" { alert = "rr_low", priority = "high", message = "Respiratory rate 9/min" },
    expect "20m" { alert = "sedation_deep", id = "sedation_deep", priority = "medium", message = "MOAA/S 2" },
    at "21m" { ack = "spo2_low" },
    at "21m" { ack = "rr_low" },
    at "21m" { ack = "sedation_deep" },
    at "23m" { record = { vitals = vitals(130, 80, { spo2 = 90, rr = 9 }) } },
    expect "23m" { no_alert = "spo2_low" },
    at "25m" { record = { vitals = vitals(130, 80, { spo2 = 88, rr = 7 }), moaas = "1" } },
    expect "25m" { alert = "spo2_low", priority = "high", message = "SpO2 88%" },
    expect "25m" { alert = "rr_low", priority = "high", message = "Respiratory rate 7/min" },
    expect "25m" { alert = "sedation_deep", id = "sedation_deep", priority = "medium", message = "MOAA/S 1" },
  },

  spec "Deep sedation alerts medium, no response alerts high; distressing dissociation alerts low" {
    params = { weight = 70 },
    no_other = { "alerts" },
    visit.screening(70),
    at "10m" { record = { infusion_started = true, pump_rate = 150 } },
    at "20m" { record = { vitals = vitals(130, 80), moaas = "3", dissociation = "distressing" } },
    expect "20m" { no_alert = "sedation_deep" },
    expect "20m" { alert = "dissociation_distress", priority = "low", message = "Consider pausing the infusion." },
    at "30m" { record = { vitals = vitals(130, 80), moaas = "2", dissociation = "present" } },
    expect "30m" { alert = "sedation_deep", id = "sedation_deep", priority = "medium", message = "MOAA/S 2" },
    expect "30m" { resolved = "dissociation_distress" },
    at "31m" { record = { moaas = "0" } },
    expect "31m" { alert = "sedation_deep", id = "sedation_unresponsive", priority = "high",
                   message = "no response to a painful stimulus" },
    expect "31m" { resolved = "sedation_deep", id = "sedation_deep" },
    -- Escalation tells more people; the priority stays the rule's (low).
    expect "25m" { escalated = "dissociation_distress", priority = "low" },
    expect "30m" { escalated = "dissociation_distress", priority = "low", level = 2 },
    expect "36m" { escalated = "sedation_deep", id = "sedation_unresponsive", priority = "high", level = 1 },
  },

  spec "After the infusion the same limits alert, without suggesting to stop an infusion that has ended" {
    params = { weight = 70 },
    no_other = { "alerts" },
    visit.screening(70),
    visit.infusion(),
    at "66m" { record = { vitals = vitals(130, 80, { hr = 125, rr = 8 }), moaas = "2", dissociation = "distressing" } },
    expect "66m" { alert = "hr_high", id = "hr_high_unconfirmed", priority = "low" },
    expect "66m" { alert = "rr_low", priority = "high", message = "Respiratory rate 8/min is below 10" },
    expect "66m" { alert = "sedation_deep", id = "sedation_deep", priority = "medium", message = "MOAA/S 2" },
    expect "66m" { alert = "dissociation_distress", priority = "low" },
    expect "66m" { no_alert = true, message = "infusion" },
    at "67m" { ack = "rr_low" },
    at "67m" { ack = "sedation_deep" },
    at "67m" { ack = "dissociation_distress" },
    at "71m" { record = { vitals = vitals(130, 80, { hr = 128 }) } },
    expect "71m" { alert = "hr_high", id = "hr_high", priority = "medium", message = "for at least 5 minutes (now 128/min): tell the clinician." },
    expect "71m" { resolved = "rr_low" },
    expect "72m" { gate = "blocked", reason = "sedation not resolved (MOAA/S 2, needs 5); dissociation not resolved (distressing)" },
  },
}
