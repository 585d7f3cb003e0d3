-- expect: 9: needs options
local v = require "vigil"

return v.protocol "choice_no_options" {
  version = "1.0.0",
  phases = {
    v.phase "p" {
      items = {
        v.choice "route" { title = "Route" },
      },
    },
  },
}
