-- expect: 4: boom
local v = require "vigil"

error("boom")

return v.protocol "load_error" {
  version = "1.0.0",
  phases = { v.phase "p" { items = { v.check "c" {} } } },
}
