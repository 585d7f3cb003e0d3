-- expect: 4: has no version
local v = require "vigil"

return v.protocol "missing_version" {
  title = "No version",
  phases = { v.phase "p" { items = { v.check "c" {} } } },
}
