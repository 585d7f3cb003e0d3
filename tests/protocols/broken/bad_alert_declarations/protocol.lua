-- expect: 15: rule 'a': priority must be high, medium or low
-- expect: 16: rule 'b': worse must be "higher", "lower", { higher = N } or { lower = N } (N >= 0)
-- expect: 17: rule 'c': worse must be "higher", "lower", { higher = N } or { lower = N } (N >= 0)
-- expect: 18: rule 'd': worse must say one direction, higher or lower
-- expect: 8: defaults.escalation_raises_priority must be true or false
local v = require "vigil"

return v.protocol "bad_alert_declarations" {
  version = "1.0.0",
  defaults = { escalation_raises_priority = "yes" },
  phases = {
    v.phase "p" {
      items = { v.number "x" { unit = "1" } },
      rules = {
        v.rule "a" { on = "x", priority = "urgent", check = function() end },
        v.rule "b" { on = "x", worse = "down", check = function() end },
        v.rule "c" { on = "x", worse = { lower = -1 }, check = function() end },
        v.rule "d" { on = "x", worse = { lower = 1, higher = 1 }, check = function() end },
      },
    },
  },
}
