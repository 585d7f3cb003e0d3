-- expect: 3: bad module name
local v = require "vigil"
local shared = require "../x"

return v.protocol "require_outside" {
  version = "1.0.0",
  phases = { v.phase "p" { items = { v.check "c" {} } } },
}
