-- expect: 4: version must be semantic
local v = require "vigil"

return v.protocol "bad_version" {
  version = "1.0",
  phases = { v.phase "p" { items = { v.check "c" {} } } },
}
