-- expect: 11: score field 'activity': a label for 3, which is not one of its points
-- expect: 12: score field 'breathing': point 1 is listed twice
-- expect: 12: score field 'colour': unknown option 'label'
-- expect: 12: score field 3 needs its name first and its points
-- expect: 17: score field 'pain' is declared twice
local v = require "vigil"

return v.protocol "score_fields" {
  version = "1.0.0",
  phases = {
    v.phase "p" { items = { v.score "form" { fields = { { "activity", points = { 0, 1, 2 }, labels = { [3] = "runs" } } } },
      v.score "second" { fields = {
        { "breathing", points = { 0, 1, 1 } },
        { "colour", points = { 0, 1 }, label = "pink" },
        { title = "no name", points = { 0, 1 } },
      } },
      v.score "third" { fields = { { "pain", points = { 0, 1 } }, { "pain", points = { 0, 2 } } } },
    } },
  },
}
