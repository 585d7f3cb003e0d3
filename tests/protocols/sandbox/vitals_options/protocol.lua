-- Known engine bug: v.vitals_fields is read-only one level deep only; its
-- field tables are the language's own, so a protocol can replace the options
-- of "consciousness", and core/protocol.c get_options() interns a non-string.
local v = require "vigil"

v.vitals_fields.consciousness.options = { {} }

return v.protocol "sandbox_vitals_options" {
  version = "1.0.0",
  phases = { v.phase "attack" { items = { v.vitals "attack" { fields = { "sbp", "consciousness" } } } } },
}
