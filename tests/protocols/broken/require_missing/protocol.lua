-- expect: 3: no file not_there.lua in the protocol folder
local v = require "vigil"
local helper = require "not_there"

return v.protocol "require_missing" {
  version = "1.0.0",
  phases = { v.phase "p" { items = { v.check "c" {} } } },
}
