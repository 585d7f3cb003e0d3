-- expect: helper.lua:4: <name> expected near
local v = require "vigil"
local helper = require "helper"

return v.protocol "syntax_in_required" {
  version = "1.0.0",
  phases = { helper },
}
