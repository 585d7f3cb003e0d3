-- Known engine bug: a param whose kind is not "choice" keeps its `options`
-- table as written, and core/protocol.c get_options() interns each entry with
-- intern(lua_tostring(...)): a non-string entry is intern(NULL), a crash.
local v = require "vigil"

return v.protocol "sandbox_param_options" {
  version = "1.0.0",
  params = { v.param "weight" { kind = "number", unit = "kg", default = 70, options = { {} } } },
  phases = { v.phase "attack" { items = { v.check "attack" {} } } },
}
