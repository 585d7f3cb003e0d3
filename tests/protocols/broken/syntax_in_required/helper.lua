-- A required file with a syntax error: the problem must name this file.
local v = require "vigil"

local = v.phase "p" { items = { v.check "c" {} } }
return x
