-- expect: 10: an alert needs its priority: write v.alert.high("..."), v.alert.medium("...") or v.alert.low("..."), not v.alert("...")
local v = require "vigil"

return v.protocol "alert_called" {
  version = "1.0.0",
  phases = { v.phase "one" {
    items = { v.choice "mood" { options = { "calm", "unresponsive" } } },
    rules = {
      v.rule "unresponsive" { on = "mood", check = function(x)
        if x == "unresponsive" then return v.alert("Unresponsive") end
      end },
    },
  } },
}
