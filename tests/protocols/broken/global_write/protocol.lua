-- expect: 4: cannot set global 'threshold'
local v = require "vigil"

threshold = 180

return v.protocol "global_write" {
  version = "1.0.0",
  phases = { v.phase "p" { items = { v.check "c" {} } } },
}
