-- expect: 4: an endless loop?
local v = require "vigil"

while true do end

return v.protocol "load_loop" {
  version = "1.0.0",
  phases = { v.phase "p" { items = { v.check "c" {} } } },
}
