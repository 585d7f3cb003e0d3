-- expect: 1: must return v.protocol
local v = require "vigil"

local p = v.protocol "returns_nothing" {
  version = "1.0.0",
  phases = { v.phase "p" { items = { v.check "c" {} } } },
}
