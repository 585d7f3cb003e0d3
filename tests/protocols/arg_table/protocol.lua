-- AV1 (docs/security.md): a rule's reading is given in one table that the
-- state keeps for every call (issue 16). This rule says what its reading
-- holds, then writes in it all it can: a key of its own, an array element,
-- a field taken out, a metatable. The next call, another patient's, must see
-- its own reading and nothing of that.
local v = require "vigil"

return v.protocol "arg_table" {
  version = "1.0.0",
  phases = {
    v.phase "infusion" {
      items = {
        v.vitals "vitals" { fields = { "sbp", "spo2", "hr" } },
      },
      rules = {
        v.rule "argument" {
          on = "vitals", priority = "low", worse = false,
          check = function(x)
            local keys = {}
            for k, value in pairs(x) do keys[#keys + 1] = tostring(k) .. "=" .. tostring(value) end
            table.sort(keys)
            local said = "saw " .. table.concat(keys, " ") .. "; metatable " .. tostring(getmetatable(x) ~= nil)
              .. "; missing " .. tostring(x.missing)
            x.left_by = "sbp " .. tostring(x.sbp)
            x[1] = "array"
            x.hr = nil
            x.spo2 = 1
            setmetatable(x, { __index = function() return "inherited" end })
            return v.alert.low(said)
          end,
        },
      },
    },
  },
}
