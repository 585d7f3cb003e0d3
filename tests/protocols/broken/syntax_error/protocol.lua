-- expect: 5: unexpected symbol near '='
local v = require "vigil"

local sbp_max = 180
local dbp_max = = 110

return v.protocol "syntax_error" {
  version = "1.0.0",
  phases = { v.phase "p" { items = { v.check "c" {} } } },
}
