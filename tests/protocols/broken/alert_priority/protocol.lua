-- expect: 10: there is no alert priority 'urgent': write v.alert.high
local v = require "vigil"

return v.protocol "alert_priority" {
  version = "1.0.0",
  phases = { v.phase "one" {
    items = { v.vitals "obs" { fields = { "hr" } } },
    rules = {
      v.rule "tachy" { on = "obs", check = function(x)
        if x.hr > 249 then return v.alert.urgent("HR " .. x.hr) end
      end },
    },
  } },
}
