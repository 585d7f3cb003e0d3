-- For tests/test_specs.c: state kept in a table of a required module.
local v = require "vigil"
local lib = require "lib"

return v.protocol "stateful_table" {
  version = "1.0.0",
  phases = {
    v.phase "only" {
      items = {
        v.vitals "vitals" { fields = { "hr" }, rule = function(x) lib.remember(x.hr) end },
      },
    },
  },
}
