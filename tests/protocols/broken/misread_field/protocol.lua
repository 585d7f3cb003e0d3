-- expect: 11: reads 'temprature' of vitals 'obs', which has no field 'temprature' (its fields: sbp, hr, temp)
local v = require "vigil"

return v.protocol "misread_field" {
  version = "1.0.0",
  phases = { v.phase "one" {
    items = { v.vitals "obs" { fields = { "sbp", "hr", "temp" } } },
    rules = {
      v.rule "fever" {
        on = "obs",
        check = function(x) if x.temprature > 38 then return v.alert.high("Fever") end end,
      },
    },
  } },
}
