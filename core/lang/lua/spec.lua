-- spec.lua: protocol tests (`vigil test`), the runner's Lua side.
--
-- A spec file (`*_spec.lua`, docs/protocols.md "Testing a protocol") returns
-- one spec, or a list of them:
--
--   return spec "A BP at the flag is confirmed on a second reading" {
--     params = { weight = 80 },
--     no_other = "alerts",
--     at "30m" { record = { vitals = { sbp = 184, dbp = 104, hr = 92, spo2 = 97, rr = 15 } } },
--     expect "30m" { alert = "bp_high", priority = "medium" },
--   }
--
-- `spec`, `at` and `expect` record the file:line they were written at, so a
-- failure points at the line of the expectation that did not hold. This file
-- runs in its own plain Lua state (not a protocol's sandbox): C (core/spec.c)
-- hands over the engine as `host`, with a simulated clock and the protocol
-- under test loaded.
--
-- host.start(patient, actor, params) -> visit, start_ms | nil, message
-- host.advance_to(ms)                   simulated time, firing deadlines
-- host.step(visit, actor, step)        -> ok, description, error message
-- host.state(visit)                    -> the visit as vigil_visit_json, decoded
-- host.events()                        -> every event so far, decoded
-- host.patient(patient)                 -> the patient's courses (vigil_patient_json), decoded, or nil
-- lang is the protocol language (core/lang/lua/vigil.lua), loaded in this state
-- for its duration parser and its file:line finder.

local host, lang = ...        -- lang: core/lang/lua/vigil.lua, for durations and file:line
local loadfile = loadfile
-- A spec sees no address either (a table's or a function's kind only, %p
-- refused), as protocol code: the check of an upload runs its specs in a
-- fork of the server (docs/security.md W S4).
-- This state's string.format is that one too, for ("%s"):format(t).
local fmt, tostring = lang.safe_format, lang.safe_tostring
string.format = fmt
local where, duration = lang.where, lang.parse_duration

local M = {}

---------------------------------------------------------------------------
-- Times: "30m", "1h30m" (as in protocols), or a window "30m..40m".
---------------------------------------------------------------------------
local function window(s)
  if type(s) ~= "string" then return nil end
  local a, b = s:match("^(.-)%.%.(.+)$")
  if a then
    local lo, hi = duration(a), duration(b)
    if lo and hi and lo <= hi then return lo, hi end
    return nil
  end
  local t = duration(s)
  return t, t
end

-- "1h05m" style for messages: minutes are what nurses count in.
local function clock(ms)
  local m = ms // 60000
  local s = (ms % 60000) // 1000
  if s ~= 0 then return fmt("%dm%02ds", m, s) end
  return fmt("%dm", m)
end

local function when_text(node)
  if node.lo == node.hi then return "at " .. clock(node.lo) end
  return fmt("between %s and %s", clock(node.lo), clock(node.hi))
end

---------------------------------------------------------------------------
-- What an expectation can say. Event expectations are checked against the
-- visit's events once the spec has run; state expectations against the
-- visit's state at their time (after the steps written before them).
---------------------------------------------------------------------------
local EVENT_KINDS = {
  alert = "alert.raised", escalated = "alert.escalated", acknowledged = "alert.acknowledged",
  resolved = "alert.resolved", overdue = "item.overdue", block = "block.set", unblocked = "block.cleared",
  note = "note.added", gate_blocked = "gate.blocked", overridden = "gate.overridden", entered = "phase.entered",
  discharged = "visit.discharged", aborted = "visit.aborted", refused = "refused", no_alert = "alert.raised",
}
local STATE_KINDS = { phase = true, status = true, gate = true, course = true }
-- What a course expectation may say about the patient's latest course.
local COURSE_FIELDS = { sessions = "number", completed = "number", counted = "number", response = "boolean",
                        remission = "boolean", stage = "string", status = "string", overdue = "boolean" }
local OPTIONS = { priority = true, id = true, message = true, source = true, reason = true, rule = true,
                  level = true, error = true }
-- The categories `no_other` can close, and the event type of each.
local CATEGORIES = { alerts = "alert.raised", overdue = "item.overdue", blocks = "block.set",
                     notes = "note.added", escalations = "alert.escalated", gates = "gate.blocked" }

local function ends_with(s, name)
  if type(s) ~= "string" then return false end
  return s == name or s:sub(-#name - 1) == "." .. name
end

local function has(s, part)
  if part == nil then return true end
  return type(s) == "string" and s:find(part, 1, true) ~= nil
end

-- The id part of an alert's key ("bp_high/bp_high_unconfirmed").
local function alert_id(d)
  local key = d.key
  if type(key) ~= "string" then return nil end
  return key:match("/([^/]+)$")
end

local function alert_matches(d, name, x)
  if name ~= nil and name ~= true and not (ends_with(d.rule, name) or alert_id(d) == name) then return false end
  if x.id ~= nil and alert_id(d) ~= x.id then return false end
  if x.priority ~= nil and d.priority ~= x.priority then return false end
  if x.source ~= nil and d.source ~= x.source then return false end
  return has(d.message, x.message)
end

-- ev: a decoded event plus `raised` (the alert.raised data of the alert it
-- concerns, for escalations, acknowledgements and resolutions).
local MATCH = {
  alert = function(ev, x) return alert_matches(ev.data, x.alert, x) end,
  no_alert = function(ev, x) return alert_matches(ev.data, x.no_alert, x) end,
  escalated = function(ev, x)
    if not (ev.raised and alert_matches(ev.raised, x.escalated, { id = x.id, source = x.source })) then return false end
    if x.priority ~= nil and ev.data.priority ~= x.priority then return false end
    return x.level == nil or ev.data.level == x.level
  end,
  acknowledged = function(ev, x) return ev.raised ~= nil and alert_matches(ev.raised, x.acknowledged, x) end,
  resolved = function(ev, x) return ev.raised ~= nil and alert_matches(ev.raised, x.resolved, x) end,
  overdue = function(ev, x) return ends_with(ev.data.item, x.overdue) end,
  block = function(ev, x) return ends_with(ev.data.rule, x.block) and has(ev.data.reason, x.reason) end,
  unblocked = function(ev, x) return ends_with(ev.data.rule, x.unblocked) end,
  note = function(ev, x)
    return has(ev.data.message, x.note) and (x.rule == nil or ends_with(ev.data.rule, x.rule))
  end,
  gate_blocked = function(ev, x)
    return ev.data.phase == x.gate_blocked and has(table.concat(ev.data.reasons or {}, "; "), x.reason)
  end,
  overridden = function(ev, x) return ev.data.phase == x.overridden and has(ev.data.reason, x.reason) end,
  entered = function(ev, x) return ev.data.phase == x.entered end,
  discharged = function() return true end,
  aborted = function(ev, x) return has(ev.data.reason, x.reason) end,
  refused = function(ev, x) return has(ev.data.error, x.error) end,
}

-- A sentence for what an expectation asks, for TAP and failures.
local function describe(x)
  local k = x.kind
  local t = when_text(x)
  local opt = ""
  if x.id then opt = opt .. fmt(" (id %s)", x.id) end
  if x.message then opt = opt .. fmt(" saying \"%s\"", x.message) end
  if x.reason then opt = opt .. fmt(" with reason \"%s\"", x.reason) end
  if k == "alert" or k == "no_alert" then
    local what = fmt("%s%salert", x.priority and (x.priority .. " ") or "", x.source and (x.source .. " ") or "")
    local from = (x[k] == true) and "" or fmt(" from %s", x[k])
    if k == "no_alert" then return fmt("no %s%s%s %s", what, from, opt, t) end
    return fmt("%s %s%s%s %s", what:match("^[aeiou]") and "an" or "a", what, from, opt, t)
  elseif k == "escalated" then
    return fmt("the alert from %s escalated%s%s %s", x.escalated, x.priority and (" to " .. x.priority) or "",
               x.level and fmt(" (level %d)", x.level) or "", t)
  elseif k == "acknowledged" or k == "resolved" then
    return fmt("the alert from %s %s%s %s", x[k], k, opt, t)
  elseif k == "overdue" then return fmt("item %s overdue %s", x.overdue, t)
  elseif k == "block" then return fmt("a block from rule %s%s %s", x.block, opt, t)
  elseif k == "unblocked" then return fmt("the block from rule %s cleared %s", x.unblocked, t)
  elseif k == "note" then return fmt("a note \"%s\"%s %s", x.note, x.rule and (" from " .. x.rule) or "", t)
  elseif k == "gate_blocked" then return fmt("the %s gate blocked%s %s", x.gate_blocked, opt, t)
  elseif k == "overridden" then return fmt("the %s gate overridden%s %s", x.overridden, opt, t)
  elseif k == "entered" then return fmt("phase %s entered %s", x.entered, t)
  elseif k == "discharged" then return fmt("the visit discharged %s", t)
  elseif k == "aborted" then return fmt("the visit aborted%s %s", opt, t)
  elseif k == "refused" then
    return fmt("the step refused%s %s", x.error and fmt(" with \"%s\"", x.error) or "", t)
  elseif k == "phase" then return fmt("the visit in phase %s %s", x.phase, t)
  elseif k == "status" then return fmt("the visit %s %s", x.status, t)
  elseif k == "gate" then return fmt("the gate %s%s %s", x.gate, opt, t)
  elseif k == "course" then
    local parts = {}
    for name in pairs(COURSE_FIELDS) do
      if x.course[name] ~= nil then parts[#parts + 1] = fmt("%s %s", name, tostring(x.course[name])) end
    end
    table.sort(parts)
    return fmt("the course with %s %s", table.concat(parts, ", "), t)
  end
  return k
end

---------------------------------------------------------------------------
-- The spec file's environment: data, helpers, and the three constructors.
---------------------------------------------------------------------------
local function load_file(path, env) return loadfile(path, "t", env) end

local function environment(dir)
  local env = {
    string = string, table = table, math = math, utf8 = utf8, pairs = pairs, ipairs = ipairs, next = next,
    select = select, tostring = tostring, tonumber = tonumber, type = type, error = error, assert = assert,
  }
  function env.spec(title)
    local at = where(2)
    if type(title) ~= "string" then error("spec needs a title: spec \"what it shows\" { ... }", 2) end
    return function(body)
      if type(body) ~= "table" then error("spec \"" .. title .. "\" needs a table: spec \"...\" { ... }", 2) end
      return { node = "spec", title = title, where = at, body = body }
    end
  end
  local function timed(kind)
    return function(time)
      local at = where(2)
      local lo, hi = window(time)
      if not lo then
        error(fmt("%s needs a time from the visit's start such as \"30m\"%s, got %s", kind,
                  kind == "expect" and " or a window \"30m..40m\"" or "", tostring(time)), 2)
      end
      if kind == "at" and lo ~= hi then error("at takes one time, not a window", 2) end
      return function(body)
        if type(body) ~= "table" then error(fmt("%s \"%s\" needs a table { ... }", kind, time), 2) end
        return { node = kind, lo = lo, hi = hi, where = at, body = body }
      end
    end
  end
  env.at = timed("at")
  env.expect = timed("expect")
  local loaded = {}
  function env.require(name)
    if type(name) ~= "string" or not name:match("^[%w_]+$") then
      error("require takes the name of a file next to the spec (no folders)", 2)
    end
    if loaded[name] == nil then
      local chunk, err = load_file(dir .. "/" .. name .. ".lua", env)
      if not chunk then error(err, 0) end
      local r = chunk()
      loaded[name] = r == nil and true or r
    end
    return loaded[name]
  end
  return env
end

-- The steps and expectations of a spec, in file order, flattening lists
-- (helpers may return several steps at once).
local function flatten(list, out, problems, spec_where)
  for _, n in ipairs(list) do
    if type(n) == "table" and (n.node == "at" or n.node == "expect") then
      out[#out + 1] = n
    elseif type(n) == "table" and n.node == nil then
      flatten(n, out, problems, spec_where)
    else
      problems[#problems + 1] = { where = spec_where, message = "a spec lists at \"...\" { } and expect \"...\" { } only" }
    end
  end
  return out
end

local ACTION_KEYS = { record = true, ack = true, amend = true, skip = true, advance = true, discharge = true,
                      rems_submitted = true, reason = true, clinician = true,
                      override = true, holds = true, abort = true, actor = true, start = true }

-- Checks one expectation's table; returns its kind or nil, message.
local function classify(x)
  local kind
  for k in pairs(x.body) do
    if EVENT_KINDS[k] or STATE_KINDS[k] then
      if kind then return nil, fmt("an expectation says one thing (found %s and %s)", kind, k) end
      kind = k
    elseif not OPTIONS[k] then
      local known = {}
      for name in pairs(EVENT_KINDS) do known[#known + 1] = name end
      for name in pairs(STATE_KINDS) do known[#known + 1] = name end
      table.sort(known)
      return nil, fmt("unknown expectation '%s' (expect one of: %s)", tostring(k), table.concat(known, ", "))
    end
  end
  if not kind then return nil, "an expectation needs what to expect, e.g. { alert = \"rule\" }" end
  if STATE_KINDS[kind] and x.lo ~= x.hi then
    return nil, fmt("%s is checked at one time, not over a window", kind)
  end
  if kind == "course" then
    if type(x.body.course) ~= "table" or next(x.body.course) == nil then
      return nil, "course takes a table of what to check, e.g. { course = { sessions = 6, response = true } }"
    end
    for k, v in pairs(x.body.course) do
      if not COURSE_FIELDS[k] then
        local known = {}
        for name in pairs(COURSE_FIELDS) do known[#known + 1] = name end
        table.sort(known)
        return nil, fmt("unknown course field '%s' (%s)", tostring(k), table.concat(known, ", "))
      elseif type(v) ~= COURSE_FIELDS[k] then
        return nil, fmt("course field %s is a %s", k, COURSE_FIELDS[k])
      end
    end
  end
  return kind
end

---------------------------------------------------------------------------
-- Running one spec.
---------------------------------------------------------------------------
local function event_line(ev, t0)
  local d = ev.data or {}
  local s
  if ev.type == "alert.raised" then
    s = fmt("%s alert from %s%s: %s", d.priority, d.rule, alert_id(d) and alert_id(d) ~= d.rule and
            (" (id " .. alert_id(d) .. ")") or "", d.message)
  elseif ev.raised then
    s = fmt("alert from %s%s", ev.raised.rule, d.priority and (", now " .. d.priority) or "")
  elseif ev.type == "item.overdue" or ev.type == "item.not_applicable" then s = d.item
  elseif ev.type == "block.set" then s = fmt("%s: %s", d.rule, d.reason)
  elseif ev.type == "block.cleared" then s = d.rule
  elseif ev.type == "note.added" then s = fmt("%s: %s", d.rule, d.message)
  elseif ev.type == "gate.blocked" then s = fmt("%s: %s", d.phase, table.concat(d.reasons or {}, "; "))
  elseif ev.type == "gate.overridden" then s = fmt("%s: %s", d.phase, d.reason)
  elseif ev.type == "phase.entered" then s = d.phase
  elseif ev.type == "refused" then s = fmt("%s: %s", d.step, d.error)
  else s = d.phase or d.reason or "" end
  if #s > 160 then s = s:sub(1, 157) .. "..." end
  return fmt("%7s  %-18s %s", clock(ev.time - t0), ev.type, s)
end

-- Events a nurse (and so a spec) cares about; recordings are left out.
local NOTABLE = { ["item.recorded"] = false, ["item.amended"] = false, ["visit.started"] = false,
                  ["phase.minimum_reached"] = false, ["item.skipped"] = false }

local function timeline(events, t0, family)
  local lines = {}
  for _, ev in ipairs(events) do
    if NOTABLE[ev.type] ~= false and (family == nil or ev.type:sub(1, #family) == family) then
      lines[#lines + 1] = event_line(ev, t0)
    end
  end
  if #lines == 0 and family then
    return fmt("(no %s events; the whole timeline:)\n", (family:gsub("%.$", ""))) .. timeline(events, t0)
  end
  if #lines == 0 then return "(no events)" end
  return table.concat(lines, "\n")
end

local function family_of(kind)
  local t = EVENT_KINDS[kind]
  if t == "refused" then return nil end
  if t and t:match("^alert%.") then return "alert." end
  if t and t:match("^block%.") then return "block." end
  if t and t:match("^gate%.") then return "gate." end
  if t and t:match("^visit%.") then return "visit." end
  return t
end

local spec_count = 0

local function run_spec(s, report)
  local problems, nodes = {}, {}
  local body = s.body
  flatten(body, nodes, problems, s.where)
  for k in pairs(body) do
    if type(k) == "string" and not ({ params = true, patient = true, actor = true, run_until = true,
                                      no_other = true })[k] then
      problems[#problems + 1] = { where = s.where,
                                  message = fmt("unknown spec option '%s' (params, patient, actor, run_until, no_other)", k) }
    end
  end
  local no_other = body.no_other
  if type(no_other) == "string" then no_other = { no_other } end
  for _, c in ipairs(no_other or {}) do
    if not CATEGORIES[c] then
      problems[#problems + 1] = { where = s.where, message = fmt("no_other: unknown category '%s' (alerts, overdue, "
                                                              .. "blocks, notes, escalations, gates)", tostring(c)) }
    end
  end
  for _, n in ipairs(nodes) do
    if n.node == "expect" then
      local kind, err = classify(n)
      if not kind then problems[#problems + 1] = { where = n.where, message = err } end
      n.kind = kind
    else
      for k in pairs(n.body) do
        if not ACTION_KEYS[k] then
          problems[#problems + 1] = { where = n.where, message = fmt("unknown step '%s' (start, record, ack, amend, skip, "
                                                                  .. "advance, discharge, override, abort, rems_submitted, "
                                                                  .. "clinician)", tostring(k)) }
        end
      end
      -- reason: an acknowledgement's (a carried alert needs one), nothing else's.
      if n.body.reason ~= nil and (n.body.ack == nil or type(n.body.reason) ~= "string") then
        problems[#problems + 1] = { where = n.where, message = "reason goes with ack, as text: { ack = \"rule\", reason = \"why\" }" }
      end
    end
  end
  local run_until = body.run_until and duration(body.run_until)
  if body.run_until and not run_until then
    problems[#problems + 1] = { where = s.where, message = "run_until must be a duration such as \"3h\"" }
  end
  if #problems > 0 then
    for _, p in ipairs(problems) do
      report { ok = false, spec = s.title, name = "spec is well formed", where = p.where, message = p.message }
    end
    return
  end

  -- Specs of one file share an engine: each has a patient of its own, so that
  -- their visits are not sessions of one course.
  spec_count = spec_count + 1
  local patient = body.patient or (spec_count == 1 and "spec" or fmt("spec %d", spec_count))
  local visit, t0 = host.start(patient, body.actor or "nurse", body.params)
  if not visit then
    report { ok = false, spec = s.title, name = "visit starts", where = s.where,
             message = "the visit cannot start: " .. tostring(t0) }
    return
  end
  -- A course spec starts the patient's next session with `start`: the
  -- steps after it (and state expectations) are about the newest visit.
  local visits = { [visit] = true }

  -- Steps and state checks in time order; same time: file order.
  local order = {}
  for i, n in ipairs(nodes) do order[i] = { n = n, i = i } end
  table.sort(order, function(a, b)
    if a.n.lo ~= b.n.lo then return a.n.lo < b.n.lo end
    return a.i < b.i
  end)
  local refusals, state_results, last = {}, {}, 0
  for _, o in ipairs(order) do
    local n = o.n
    if n.node == "at" then
      host.advance_to(t0 + n.lo)
      local actor = n.body.actor or body.actor or "nurse"
      local ok, desc, err = true, nil, nil
      local step = n.body
      if step.start ~= nil then
        local params = type(step.start) == "table" and step.start.params or body.params
        local id, why = host.start(patient, actor, params)
        if id then
          visit, visits[id] = id, true
        else
          ok, desc, err = false, "start the next session", why
        end
        step = {}
        for k, x in pairs(n.body) do if k ~= "start" and k ~= "actor" then step[k] = x end end
      end
      -- A record's observed_at as a time from the visit's start ("8m", as at's): a late entry.
      local observed = type(step.record) == "table" and type(step.record.observed_at) == "string"
                       and duration(step.record.observed_at)
      if observed then
        local record = {}
        for k, x in pairs(step.record) do record[k] = x end
        record.observed_at = t0 + observed
        local copy = {}
        for k, x in pairs(step) do copy[k] = x end
        copy.record, step = record, copy
      end
      if ok and next(step) ~= nil then ok, desc, err = host.step(visit, actor, step) end
      if not ok then
        refusals[#refusals + 1] = { time = t0 + n.lo, type = "refused", node = n,
                                    data = { step = desc, error = err } }
      end
      last = math.max(last, n.lo)
    elseif n.kind == "course" then
      host.advance_to(t0 + n.lo)
      local p = host.patient(patient)
      state_results[n] = p and p.courses and p.courses[#p.courses] or false
      last = math.max(last, n.lo)
    elseif STATE_KINDS[n.kind] then
      host.advance_to(t0 + n.lo)
      state_results[n] = host.state(visit)
      last = math.max(last, n.lo)
    else
      last = math.max(last, n.hi)
    end
  end
  host.advance_to(t0 + math.max(last, run_until or 0))

  -- The spec's visits' events, and its patient's course events (site events
  -- naming a course: each spec runs on an engine of its own), each alert
  -- event knowing the alert it is about.
  local events, raised, courses = {}, {}, {}
  for _, ev in ipairs(host.events()) do
    local d = ev.data or {}
    if ev.type == "course.started" and d.patient == patient then courses[d.course] = true end
    local of_course = ev.visit == 0 and d.course ~= nil and courses[d.course] and
                      (ev.type:match("^course%.") or ev.type:match("^alert%."))
    if visits[ev.visit] or of_course then
      if ev.type == "alert.raised" then raised[ev.data.alert] = ev.data
      elseif ev.type:match("^alert%.") then ev.raised = raised[ev.data.alert] end
      events[#events + 1] = ev
    end
  end
  for _, r in ipairs(refusals) do events[#events + 1] = r end
  table.sort(events, function(a, b)
    if a.time ~= b.time then return a.time < b.time end
    return (a.seq or math.huge) < (b.seq or math.huge)
  end)

  local claimed = {}
  for _, n in ipairs(nodes) do
    if n.node == "expect" then
      local x = n.body
      x.kind, x.lo, x.hi = n.kind, n.lo, n.hi
      local name = describe(x)
      if STATE_KINDS[n.kind] then
        local st = state_results[n]
        local ok, actual
        if n.kind == "course" then
          ok = st ~= false
          local got = {}
          if st then
            local completed, counted = 0, 0
            for _, x in ipairs(st.sessions or {}) do
              if x.status == "discharged" then completed = completed + 1 end
              if x.counts ~= false then counted = counted + 1 end
            end
            local fields = { sessions = #(st.sessions or {}), completed = completed, counted = counted,
                             response = st.response, remission = st.remission, stage = st.stage, status = st.status,
                             overdue = st.overdue }
            for k, want in pairs(x.course) do
              if fields[k] ~= want then ok = false end
              got[#got + 1] = fmt("%s %s", k, tostring(fields[k]))
            end
            table.sort(got)
          end
          actual = st and ("the course with " .. table.concat(got, ", ")) or "no course for the patient"
        elseif n.kind == "phase" then
          ok, actual = st.phase == x.phase and st.status == "active", fmt("in phase %s (%s)", st.phase, st.status)
        elseif n.kind == "status" then
          ok, actual = st.status == x.status, fmt("%s, in phase %s", st.status, st.phase)
        else
          local g = st.gate or { ok = false, reasons = { "the visit is " .. tostring(st.status) } }
          local reasons = table.concat(g.reasons or {}, "; ")
          if x.gate == "open" then ok = g.ok == true
          elseif x.gate == "blocked" then ok = g.ok == false and has(reasons, x.reason)
          else ok = false end
          actual = g.ok and fmt("the %s gate open", st.phase)
                   or fmt("the %s gate blocked: %s", st.phase, reasons)
        end
        report { ok = ok, spec = s.title, name = name, where = n.where,
                 message = not ok and ("expected " .. name) or nil,
                 expected = fmt("%7s  %s", clock(n.lo), name), actual = fmt("%7s  %s", clock(n.lo), actual) }
      else
        local want = EVENT_KINDS[n.kind]
        local found
        for _, ev in ipairs(events) do
          local rel = ev.time - t0
          if ev.type == want and rel >= n.lo and rel <= n.hi and MATCH[n.kind](ev, x) then
            found = ev
            break
          end
        end
        local ok
        if n.kind == "no_alert" then ok = found == nil else ok = found ~= nil end
        if found and n.kind ~= "no_alert" then claimed[found] = true end
        local fam = family_of(n.kind)
        report { ok = ok, spec = s.title, name = name, where = n.where,
                 message = not ok and (n.kind == "no_alert" and ("expected " .. name .. ", got: "
                                       .. event_line(found, t0):gsub("^%s+", "")) or ("expected " .. name)) or nil,
                 expected = fmt("%7s  %s", n.lo == n.hi and clock(n.lo) or (clock(n.lo) .. ".." .. clock(n.hi)), name),
                 actual = not ok and timeline(events, t0, fam) or nil }
      end
    end
  end

  -- A refused step is a failure unless the spec expected it.
  for _, r in ipairs(refusals) do
    if not claimed[r] then
      local gate_expected = false
      for ev in pairs(claimed) do
        if ev.type == "gate.blocked" and ev.time == r.time then gate_expected = true end
      end
      if not gate_expected then
        report { ok = false, spec = s.title, name = "step at " .. clock(r.time - t0) .. " is accepted",
                 where = r.node.where, message = fmt("the step was refused: %s", r.data.error),
                 expected = fmt("%7s  %s accepted", clock(r.time - t0), r.data.step),
                 actual = event_line(r, t0) }
      end
    end
  end

  for _, c in ipairs(no_other or {}) do
    local extra = {}
    for _, ev in ipairs(events) do
      if ev.type == CATEGORIES[c] and not claimed[ev] then extra[#extra + 1] = event_line(ev, t0) end
    end
    report { ok = #extra == 0, spec = s.title, name = "no other " .. c, where = s.where,
             message = #extra > 0 and fmt("%d %s no expectation names", #extra, c) or nil,
             expected = #extra > 0 and fmt("only the %s the spec expects", c) or nil,
             actual = #extra > 0 and table.concat(extra, "\n") or nil }
  end
end

-- Runs every spec of the file at path. report(result) is called for every
-- check: { ok, spec, name, where, message, expected, actual }.
function M.run_file(path, report)
  local dir = path:match("^(.*)/[^/]*$") or "."
  local env = environment(dir)
  local chunk, err = load_file(path, env)
  if not chunk then
    report { ok = false, spec = path, name = "spec file loads", where = err:match("^(.-:%d+):") or path .. ":1",
             message = (err:gsub("^.-:%d+: ", "")) }
    return
  end
  local ok, r = pcall(chunk)
  if not ok then
    local msg = tostring(r)
    report { ok = false, spec = path, name = "spec file runs", where = msg:match("^([^:]+:%d+):") or path .. ":1",
             message = msg:gsub("^[^:]+:%d+: ", "") }
    return
  end
  local specs = {}
  if type(r) == "table" and r.node == "spec" then specs[1] = r
  elseif type(r) == "table" then
    for _, x in ipairs(r) do if type(x) == "table" and x.node == "spec" then specs[#specs + 1] = x end end
  end
  if #specs == 0 then
    report { ok = false, spec = path, name = "spec file returns specs", where = path .. ":1",
             message = "the file must return spec \"...\" { ... } (or a list of them)" }
    return
  end
  for _, s in ipairs(specs) do run_spec(s, report) end
end

return M
