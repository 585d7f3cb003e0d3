-- expect: 4: needs phases
local v = require "vigil"

return v.protocol "missing_phases" {
  version = "1.0.0",
  title = "No phases at all",
}
