-- expect: 10: reads 'o2' of vitals 'obs', which has no field 'o2'
local v = require "vigil"
local scores = require "vigil.scores"

return v.protocol "compute_fails" {
  version = "1.0.0",
  phases = { v.phase "one" {
    items = {
      v.vitals "obs" { fields = { "sbp", "hr", "spo2", "rr", "temp" } },
      v.score "news2" { from = "obs", compute = function(x) return scores.news2(x).total end },
    },
  } },
}
