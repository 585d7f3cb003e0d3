-- AQ4, AQ5 (docs/security.md): what a protocol may keep and still load. A
-- `<const>` local of the file; a function that makes its string.gmatch
-- iterator inside the call that uses it; a function nested in a call that
-- assigns the locals of that call (made afresh at each call). Each visit's
-- alert must show its own note only.
local v = require "vigil"

local PREFIX <const> = "words: "
local LIMITS <const> = { shown = 3 }

local function words(text)
  local n, shown = 0, {}
  local function count(w)
    n = n + 1
    if #shown < LIMITS.shown then shown[#shown + 1] = w end
  end
  for w in string.gmatch(text, "%a+") do count(w) end
  return n, table.concat(shown, " ")
end

return v.protocol "kept_locals" {
  version = "1.0.0",
  phases = {
    v.phase "screening" {
      items = {
        v.text "note" {},
      },
      rules = {
        v.rule "count_words" {
          on = "note", priority = "low", worse = false,
          check = function(x)
            local n, shown = words(x)
            return v.alert.low(PREFIX .. n .. " (" .. shown .. ")")
          end,
        },
      },
    },
  },
}
