-- expect: 18: rule 'spo2_low' raises an alert without a value
-- expect: 20: rule 'hr_high' gives its alert a value but declares no worse
-- M4 (docs/safety.md): an alert without a value, or a number value on a rule
-- with no `worse`, cannot be announced again when the next reading is worse
-- (H1): lint refuses it. `worse = false` says on purpose that nothing is
-- worse (dissociation "distressing" is the top of what is observed).
local v = require "vigil"

return v.protocol "alert_without_value" {
  version = "1.0.0",
  phases = {
    v.phase "infusion" {
      items = {
        v.vitals "vitals" { fields = { "spo2", "hr" } },
        v.choice "dissociation" { options = { "none", "distressing" } },
      },
      rules = {
        v.rule "spo2_low" { on = "vitals", priority = "high",
          check = function(x) if x.spo2 < 92 then return v.alert.high("SpO2 low: call the clinician.") end end },
        v.rule "hr_high" { on = "vitals", priority = "medium",
          check = function(x) if x.hr > 120 then return v.alert.medium("HR high.", { value = x.hr }) end end },
        v.rule "distress" { on = "dissociation", priority = "low", worse = false,
          check = function(x) if x == "distressing" then return v.alert.low("Distressing dissociation.") end end },
      },
    },
  },
}
