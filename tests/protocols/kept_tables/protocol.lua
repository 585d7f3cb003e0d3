-- AM5 (docs/security.md): tables a protocol's code keeps between visits.
-- One Lua state serves every visit of a version: this file's `seen`, and the
-- tables of lib.lua, filled by one visit's rule, would show that patient's
-- words in the next patient's alert. Each way of writing to them (a new
-- key, a key the table had, table.insert, a nested table) must fail as a
-- failing rule does (a technical alert at the writing line), and reading
-- them (#, ipairs, pairs, next, rawget, rawlen) must work as before.
local v = require "vigil"
local lib = require "lib"

local seen = {}
local LEVELS = { "none", "passive", "active" }

return v.protocol "kept_tables" {
  version = "1.0.0",
  phases = {
    v.phase "screening" {
      items = {
        v.text "thoughts" {},
        v.number "n" { unit = "1" },
      },
      rules = {
        -- n = 42: remember the thoughts, four ways.
        v.rule "remember_new_key" {
          on = "n", priority = "medium", worse = false,
          check = function(x, visit)
            if x == 42 then seen[#seen + 1] = visit.value("thoughts") end
          end,
        },
        v.rule "remember_known_key" {
          on = "n", priority = "medium", worse = false,
          check = function(x, visit)
            if x == 42 then lib.remember_last(visit.value("thoughts")) end
          end,
        },
        v.rule "remember_insert" {
          on = "n", priority = "medium", worse = false,
          check = function(x, visit)
            if x == 42 then table.insert(lib.list, visit.value("thoughts")) end
          end,
        },
        v.rule "remember_nested" {
          on = "n", priority = "medium", worse = false,
          check = function(x, visit)
            if x == 42 then lib.by_kind.screening.latest = visit.value("thoughts") end
          end,
        },
        -- n = 43: say what was remembered.
        v.rule "recall" {
          on = "n", priority = "medium", worse = false,
          check = function(x)
            if x ~= 43 then return nil end
            local said = {}
            for _, s in ipairs(seen) do said[#said + 1] = s end
            for _, s in ipairs(lib.list) do said[#said + 1] = s end
            said[#said + 1] = lib.last
            said[#said + 1] = lib.by_kind.screening.latest
            return v.alert.medium("recalled: " .. table.concat(said, " / "))
          end,
        },
        -- n = 44: read the frozen tables every way a rule may.
        v.rule "read" {
          on = "n", priority = "medium", worse = false,
          check = function(x)
            if x ~= 44 then return nil end
            local keys = {}
            for k in pairs(lib.by_kind) do keys[#keys + 1] = k end
            table.sort(keys)
            local listed = {}
            for i, s in ipairs(LEVELS) do listed[i] = s end
            return v.alert.medium(string.format("read: %d %s %s %s %s %d %s %s", #LEVELS, table.concat(listed, ","),
              next(LEVELS) == 1 and "next" or "no next", rawget(LEVELS, 2), table.concat(keys, ","),
              rawlen(LEVELS), table.concat(LEVELS, "+"), lib.CLEAR.outcome))
          end,
        },
        -- n = 45: a kept outcome returned as it is.
        v.rule "kept_outcome" {
          on = "n", priority = "low", worse = false,
          check = function(x)
            if x == 45 then return lib.CLEAR end
          end,
        },
      },
    },
  },
}
