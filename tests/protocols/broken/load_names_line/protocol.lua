-- expect: 8: calc:1
local v = require "vigil"

-- A clinic builds a rule from text; the text reads a field the item lacks
-- and misspells its local: lint names this file and the line of the load,
-- then the line within the text.
local check = load("return function(x) if x.hr > 120 then return v.alert.high('HR') end end", "calc")()
local broken = load("return function(x) return x.hr + undefined_limit end", "calc")()

return v.protocol "load_names_line" {
  version = "1.0.0",
  phases = { v.phase "one" {
    items = { v.vitals "obs" { fields = { "hr" } } },
    rules = { v.rule "hr" { on = "obs", check = check }, v.rule "limit" { on = "obs", check = broken } },
  } },
}
