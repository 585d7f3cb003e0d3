-- vigil.lua: the protocol language.
--
-- This file is compiled into the vigil binary and runs inside every protocol's
-- Lua state. It has two faces:
--   * `lang.module` is what a protocol gets from `require "vigil"`: constructors
--     (v.protocol, v.phase, v.vitals, ...) that only *declare*, returning plain
--     tables tagged with the file:line they were written at, and outcome
--     constructors (v.alert.high, v.block, v.note) that rules return at run time;
--   * `lang.compile` (trusted, never reachable from protocol code) checks the
--     declaration tree, collects every problem as `file:line: message`, and
--     returns a normalised tree that the C engine reads once.
--
-- Clinical numbers never live here: the defaults below are plausibility limits
-- (to catch typing errors such as 1200 for 120) and engine fallbacks.

local host = ...              -- capabilities handed over by C (debug.getinfo)
local getinfo = host.getinfo
-- The pattern functions as they are before the sandbox bounds them for
-- protocol code: the compiler scans whole source lines with them.
local smatch, sgmatch, sgsub = string.match, string.gmatch, string.gsub

-- tostring of a table, a function (or anything else that is neither a number,
-- a string, a boolean nor nil) says where it is in memory ("table: 0x55d4..."),
-- and an address defeats the server's address-space randomisation. Protocol
-- code (sandbox.lua), spec files (spec.lua: the check of an upload forks the
-- server, so its layout is the server's) and this file's own messages (a
-- table where an identifier, a version or a duration belongs: "got table",
-- docs/security.md Y3) see the kind only ("table", "function"), or what its
-- __tostring says; string.format's %s shows the same and its %p is refused
-- (docs/security.md S6 and W S4). Every tostring below is this one.
local raw_tostring, raw_format, pack, unpack = tostring, string.format, table.pack, table.unpack
local function safe_tostring(x)
  local kind = type(x)
  local s = raw_tostring(x)
  if kind ~= "table" and kind ~= "function" and kind ~= "userdata" and kind ~= "thread" then return s end
  s = sgsub(s, ": 0x%x+", "")
  s = sgsub(s, ": %(nil%)", "")
  return (sgsub(s, ": %x%x%x%x%x%x+$", ""))
end
local function safe_format(fmt, ...)
  if type(fmt) == "string" then
    for conv in sgmatch(fmt, "%%[-+ #0]*%d*%.?%d*(.)") do
      if conv == "p" then
        error("bad argument #1 to 'format' (%p is not available in a protocol: it shows where a value is in memory)", 2)
      end
    end
  end
  local args = pack(...)
  for i = 1, args.n do
    local kind = type(args[i])
    if kind == "table" or kind == "function" or kind == "userdata" or kind == "thread" then
      args[i] = safe_tostring(args[i])
    end
  end
  -- A bad argument is the author's line's, not this file's, and the
  -- function is string.format to them (Z7: "vigil.lua:55: bad argument #2
  -- to 'raw_format'").
  local ok, res = pcall(raw_format, fmt, unpack(args, 1, args.n))
  if ok then return res end
  res = sgsub(sgsub(raw_tostring(res), "^[^\n]-:%d+: ", ""), "^(bad argument #%d+ to )'[^']*'", "%1'format'")
  error(res, 2)
end
local tostring = safe_tostring

local lang = {}
local problems = {}           -- problems found while declaring, before compile

local function where(level)
  local info = getinfo(level + 1, "Sl")
  if not info then return "?:0" end
  local src = info.source
  if src:sub(1, 1) == "@" then src = src:sub(2) end
  -- Text compiled with load: its chunk is "file:line: name" (sandbox.lua),
  -- and the file's line of that load is where a reader looks.
  local outer = smatch(src, "^(.-:%d+): ")
  if outer then return outer end
  return src .. ":" .. (info.currentline or 0)
end

lang.where = where

local function problem(at, fmt, ...)
  problems[#problems + 1] = { where = at, message = safe_format(fmt, ...) }
end

-- The read-only views the language makes (readonly below, v.alert; sandbox.lua adds the
-- globals). sandbox.freeze leaves them be and knows them by identity, never by their shape:
-- a protocol's own table with a language function for __newindex is no view (docs/security.md
-- AT1: `setmetatable({}, { __newindex = next, last = "" })` carried a note across patients).
local views = setmetatable({}, { __mode = "k" })
lang.views = views

-- Read-only view of a table: writes raise, unknown keys go to `missing`.
local function readonly(t, name, missing)
  local view = setmetatable({}, {
    -- A plain table index when nothing is missing-aware: the fast path.
    __index = missing and function(_, k)
      local x = t[k]
      if x == nil then return missing(k) end
      return x
    end or t,
    __newindex = function(_, k)
      error(string.format("%s is read-only (tried to set '%s')", name, tostring(k)), 2)
    end,
    __pairs = function() return next, t, nil end,
    __len = function() return #t end,
    __metatable = false,
  })
  views[view] = true
  return view
end
lang.readonly = readonly

-- A table the sandbox froze once the protocol loaded (sandbox.freeze,
-- docs/security.md AM5) is empty itself: its contents are here. Code that
-- reads a rule's outcome raw (rawget, as the engine does) reads them.
local frozen_stores = {}
lang.frozen_stores = frozen_stores
local function contents(t)
  return frozen_stores[t] or t
end

---------------------------------------------------------------------------
-- Durations: "90s", "15m", "2h", "1h30m". Plain numbers are refused because
-- "15" could mean seconds or minutes, and that ambiguity is how doses go wrong.
---------------------------------------------------------------------------
local UNIT_MS = { s = 1000, m = 60000, h = 3600000, d = 86400000 }

local function parse_duration(s)
  if type(s) ~= "string" then
    return nil, string.format("bad duration %s: write it as a string such as \"15m\"", tostring(s))
  end
  local total, rest = 0, s
  if rest == "" then return nil, "bad duration \"\"" end
  while rest ~= "" do
    local n, u, tail = smatch(rest, "^(%d+)([smhd])(.*)$")
    if not n then
      return nil, string.format("bad duration \"%s\": use a number and s, m, h or d (e.g. \"15m\", \"1h30m\")", s)
    end
    total = total + tonumber(n) * UNIT_MS[u]
    rest = tail
  end
  return total
end
lang.parse_duration = parse_duration

---------------------------------------------------------------------------
-- Vitals fields. Ranges are *plausible* ranges for catching typing errors,
-- not alarm limits (those are protocol parameters). LOINC codes and UCUM
-- units from docs/clinical/fhir-vitals-codes.md. Heart rate, SpO2 and
-- respiratory rate start at 0: asystole, deep desaturation and apnoea are true
-- readings the rules must see, never refused as typos (docs/safety.md M6); a
-- protocol narrows a range per field (fields = { "hr", hr = { range = ... } }).
---------------------------------------------------------------------------
local VITALS = {
  sbp  = { title = "Systolic BP", unit = "mm[Hg]", range = { 40, 300 }, loinc = "8480-6" },
  dbp  = { title = "Diastolic BP", unit = "mm[Hg]", range = { 20, 200 }, loinc = "8462-4" },
  hr   = { title = "Heart rate", unit = "/min", range = { 0, 250 }, loinc = "8867-4" },
  spo2 = { title = "SpO2", unit = "%", range = { 0, 100 }, loinc = "59408-5" },
  rr   = { title = "Respiratory rate", unit = "/min", range = { 0, 60 }, loinc = "9279-1" },
  temp = { title = "Temperature", unit = "Cel", range = { 30, 45 }, loinc = "8310-5" },
  -- ACVPU as used by NEWS2 (RCP 2017): alert, new confusion, voice, pain, unresponsive.
  consciousness = { title = "Consciousness", kind = "choice",
                    options = { "alert", "confusion", "voice", "pain", "unresponsive" } },
  o2   = { title = "On supplemental oxygen", kind = "check" },
}
lang.VITALS = VITALS

local DEFAULT_GRACE = "5m"     -- engine fallback when neither item nor protocol sets one
local DEFAULT_ESCALATE = "5m"  -- unacknowledged alert re-notified after this long
local PRIORITIES = { high = true, medium = true, low = true }

---------------------------------------------------------------------------
-- Declaration constructors. `v.kind "id" { spec }`: the first call records
-- where the declaration was written, the second takes the spec.
---------------------------------------------------------------------------
local function declarer(tag, extra)
  return function(id)
    local at = where(2)
    if type(id) ~= "string" or not smatch(id, "^[%a_][%w_]*$") then
      problem(at, "%s needs an identifier (letters, digits, _), got %s", tag,
              type(id) == "string" and ('"' .. id .. '"') or tostring(id))
    end
    return function(spec)
      if type(spec) ~= "table" then
        problem(at, "%s '%s' needs a table of options: %s \"%s\" { ... }", tag, tostring(id), tag, tostring(id))
        spec = {}
      end
      local node = { tag = tag, id = id, where = at, spec = spec }
      if extra then for k, x in pairs(extra) do node[k] = x end end
      return node
    end
  end
end

local ITEM_KINDS = { "check", "number", "choice", "text", "vitals", "score", "signature" }
local api = {
  protocol = declarer("protocol"),
  phase = declarer("phase"),
  rule = declarer("rule"),
  param = declarer("param"),
}
-- v.course { ... }: the treatment course a protocol's visits make together
-- (compile_course below).
function api.course(spec)
  local at = where(2)
  if type(spec) ~= "table" then
    problem(at, "course needs a table of options: v.course { sessions = 6, ... }")
    spec = {}
  end
  return { tag = "course", id = "course", where = at, spec = spec }
end
for _, kind in ipairs(ITEM_KINDS) do api[kind] = declarer("item", { kind = kind }) end

-- Outcomes, returned by rules and gates at run time.
local function alert_of(priority)
  return function(message, opts)
    if type(message) ~= "string" then error("an alert needs a message", 2) end
    if opts ~= nil and type(opts) ~= "table" then error("alert options must be a table", 2) end
    opts = opts or {}
    if opts.scope ~= nil and opts.scope ~= "condition" and opts.scope ~= "reading" then
      error("alert scope must be \"condition\" or \"reading\"", 2)
    end
    -- latch (docs/safety.md AP3): not acknowledged, it stays active and escalates after its
    -- cause clears, until someone acknowledges it (default: the protocol's defaults.latch).
    if opts.latch ~= nil and type(opts.latch) ~= "boolean" then
      error("alert latch must be true or false", 2)
    end
    local escalate
    if opts.escalate ~= nil then
      local err
      escalate, err = parse_duration(opts.escalate)
      if not escalate then error("escalate: " .. err, 2) end
    end
    -- value: what the alert is about (a number, or a finding as text), for the
    -- engine to tell a worse reading or a new finding after an acknowledgement.
    if opts.value ~= nil and type(opts.value) ~= "number" and type(opts.value) ~= "string" then
      error("alert value must be a number or a string", 2)
    end
    -- field, reading, limit: the vital sign the alert is about (J4 of
    -- docs/hl7.md): which vitals field, the reading that broke the limit and
    -- the limit itself ({ low = n }: it alerts below, { high = n }: above),
    -- so that an alarm manager gets the observation, not only the words.
    -- The units are the field's own (VITALS): never a second copy here.
    local observed
    if opts.field ~= nil or opts.reading ~= nil or opts.limit ~= nil then
      local f = VITALS[opts.field]
      if type(opts.field) ~= "string" or not f or not f.unit then
        error("alert field must name a vitals field with a unit (sbp, dbp, hr, spo2, rr, temp), got "
              .. tostring(opts.field), 2)
      end
      if type(opts.reading) ~= "number" or opts.reading ~= opts.reading then
        error("alert field '" .. opts.field .. "' needs its reading: { reading = x." .. opts.field .. " }", 2)
      end
      local limit = opts.limit
      if type(limit) ~= "table" or (limit.low == nil and limit.high == nil)
          or (limit.low ~= nil and type(limit.low) ~= "number")
          or (limit.high ~= nil and type(limit.high) ~= "number") then
        error("alert limit must be { low = number } or { high = number } (or both)", 2)
      end
      observed = { field = opts.field, reading = opts.reading, units = f.unit,
                   low = limit.low, high = limit.high }
    end
    return { outcome = "alert", priority = priority, message = message, id = opts.id,
             latching = opts.latching, latch = opts.latch, scope = opts.scope, escalate = escalate, value = opts.value,
             observed = observed }
  end
end
-- v.alert is a table of three constructors. Calling it, or a priority it
-- does not have, says so in words (and lint finds both before they run).
local ALERT_HELP = "v.alert.high(\"...\"), v.alert.medium(\"...\") or v.alert.low(\"...\")"
local alerts = { high = alert_of("high"), medium = alert_of("medium"), low = alert_of("low") }
api.alert = setmetatable({}, {
  __index = function(_, k)
    local x = alerts[k]
    if x == nil then
      error(string.format("there is no alert priority '%s': write %s", tostring(k), ALERT_HELP), 2)
    end
    return x
  end,
  __newindex = function(_, k)
    error(string.format("vigil.alert is read-only (tried to set '%s')", tostring(k)), 2)
  end,
  __call = function()
    error("an alert needs its priority: write " .. ALERT_HELP .. ", not v.alert(\"...\")", 2)
  end,
  __pairs = function() return next, alerts, nil end,
  __metatable = false,
})
views[api.alert] = true
function api.block(reason, opts)
  if type(reason) ~= "string" then error("a block needs a reason", 2) end
  return { outcome = "block", reason = reason, id = opts and opts.id }
end
function api.note(text)
  if type(text) ~= "string" then error("a note needs text", 2) end
  return { outcome = "note", message = text }
end

-- What of item `ref` changed after a dose, given at `at` (its observed time) by the entry `seq`
-- (visit.recorded_seq), that no clinician stands by (docs/safety.md AW1, AW2: a later entry or a
-- second amendment of another field got round a check of the latest amendment). Walks
-- visit.changes: a change is the dose's "before" when recorded before its entry and made at or
-- before its time (a dose entered late with an earlier observed time comes before a change made in
-- between: the try's AX2); the value stood by is the one in effect before the dose, or the one a
-- clinician's later change made the value in effect (an amendment, or an entry that is the newest
-- reading: one observed before it confirms nothing, AX1). `same(a, b)` says whether two values are
-- alike for the question (a BP's two figures; either may be nil: none recorded). nil when the
-- value now is alike the one stood by; else { previous = the value stood by (nil: none before the
-- dose), now = the value in effect, by = who last changed it unlike, how = "amended", "entered
-- again" or "entered" (none before) }.
function api.changed_since(visit, ref, seq, at, same)
  local stood, change, before
  for _, c in ipairs(visit.changes(ref)) do
    if (c.seq < seq and c.recorded_at <= at) or (c.clinician and c.newest) then
      stood, change = c.value, nil
    elseif not same(c.value, before) then
      change = c
    end
    before = c.value
  end
  if change == nil or same(before, stood) then return nil end
  local how = change.amendment and "amended" or stood ~= nil and "entered again" or "entered"
  return { previous = stood, now = before, by = change.by, how = how }
end

-- Durations for rules: v.ms("5m") == 300000.
function api.ms(s)
  local ms, err = parse_duration(s)
  if not ms then error(err, 2) end
  return ms
end
-- Read-only all the way down: the compiler reads these very tables.
local function deep_readonly(t, name)
  local view = {}
  for k, x in pairs(t) do view[k] = type(x) == "table" and deep_readonly(x, name .. "." .. k) or x end
  return readonly(view, name)
end
api.vitals_fields = deep_readonly(VITALS, "vigil.vitals_fields")
lang.deep_readonly = deep_readonly

-- `now` is installed by the engine (the engine clock, never the OS clock).
lang.api = api
local declaring = true -- until compile: afterwards the module is only used by rules

lang.module = readonly(api, "vigil", function(k)
  if not declaring then error(string.format("unknown function 'vigil.%s'", tostring(k)), 2) end
  -- An unknown name is most likely a misspelt item kind: report it where it
  -- was written and hand back a constructor that swallows the declaration,
  -- so that lint can go on and report every other problem too.
  local at = where(2)
  problem(at, "unknown item kind or function 'vigil.%s' (item kinds: %s)", tostring(k), table.concat(ITEM_KINDS, ", "))
  return function() return function() return { tag = "invalid", where = at } end end
end)

---------------------------------------------------------------------------
-- Compile: check and normalise a declaration tree.
---------------------------------------------------------------------------
local compile_ctx

local function bad(node, fmt, ...) problem(node.where, fmt, ...) end

local function duration(node, field, value)
  if value == nil then return nil end
  local ms, err = parse_duration(value)
  if not ms then bad(node, "%s: %s", field, err) end
  return ms
end

local function range(node, field, r)
  if r == nil then return nil, nil end
  if type(r) ~= "table" or type(r[1]) ~= "number" or type(r[2]) ~= "number" or r[1] > r[2] then
    bad(node, "%s must be { low, high } with low <= high", field)
    return nil, nil
  end
  return r[1], r[2]
end

local function check_keys(node, spec, allowed)
  for k in pairs(spec) do
    if type(k) ~= "number" and not allowed[k] then
      bad(node, "unknown option '%s' for %s '%s'", tostring(k), node.kind or node.tag, tostring(node.id))
    end
  end
end

local function set(list) local s = {} for _, k in ipairs(list) do s[k] = true end return s end

local COMMON = { "title", "help", "required", "skippable", "clinician", "when", "at", "every", "grace", "count",
                 "until", "rule", "overdue", "alert", "after" }
local ITEM_OPTIONS = {
  check = set(COMMON),
  number = set({ "unit", "range", "decimals", table.unpack(COMMON) }),
  choice = set({ "options", table.unpack(COMMON) }),
  text = set({ "format", table.unpack(COMMON) }),
  vitals = set({ "fields", "optional", table.unpack(COMMON) }),
  score = set({ "fields", "compute", "from", table.unpack(COMMON) }),
  signature = set({ "of", "meaning", "params", "items", "second_person", "calculation", "options",
                    table.unpack(COMMON) }),
}

local function func(node, field, f)
  if f ~= nil and type(f) ~= "function" then bad(node, "%s must be a function", field) return nil end
  return f
end

local function options_list(node, opts)
  if type(opts) ~= "table" or #opts == 0 then
    bad(node, "choice '%s' needs options = { \"a\", \"b\", ... }", tostring(node.id))
    return {}
  end
  local out, seen = {}, {}
  for _, o in ipairs(opts) do
    if type(o) ~= "string" then bad(node, "choice options must be strings") return {} end
    if seen[o] then bad(node, "choice option '%s' appears twice", o) end
    seen[o] = true
    out[#out + 1] = o
  end
  return out
end

-- Through pairs, so that read-only views (the scoring library's field lists)
-- count by what they show.
local function empty(t)
  for _ in pairs(t) do return false end
  return true
end

local function vitals_fields(node, spec)
  local fields, listed = {}, spec.fields
  if type(listed) ~= "table" or empty(listed) then
    bad(node, "vitals '%s' needs fields = { \"sbp\", \"hr\", ... }", tostring(node.id))
    return fields
  end
  local optional = set(spec.optional or {})
  local function add(name, over)
    local base = VITALS[name]
    if not base then
      local known = {}
      for k in pairs(VITALS) do known[#known + 1] = k end
      table.sort(known)
      bad(node, "unknown vitals field '%s' (known: %s)", tostring(name), table.concat(known, ", "))
      return
    end
    over = over or {}
    local f = { name = name, title = over.title or base.title, kind = base.kind or "number",
                unit = base.unit, loinc = base.loinc, options = base.options,
                required = not optional[name] }
    f.lo, f.hi = base.range and base.range[1], base.range and base.range[2]
    if over.range then f.lo, f.hi = range(node, name .. ".range", over.range) end
    fields[#fields + 1] = f
  end
  -- A field both listed and named (fields = { "spo2", "rr", spo2 = { range = { 0, 100 } } })
  -- keeps its place in the list, with the named override.
  for i = 1, #listed do
    local x = listed[i]
    add(x, type(x) == "string" and type(listed[x]) == "table" and listed[x] or nil)
  end
  -- Named overrides of fields not listed come after the list, in a stable order.
  local named, positional = {}, set(listed)
  for k in pairs(listed) do
    if type(k) == "string" and not positional[k] then named[#named + 1] = k end
  end
  table.sort(named)
  for _, k in ipairs(named) do add(k, listed[k]) end
  return fields
end

-- One entered score field. pts is a list of points ({ 0, 1, 2 }) or a
-- described field: { title = "Activity", points = { 2, 1, 0 },
-- labels = { [2] = "moves 4 extremities", ... } }. The points keep their
-- order (the order the form shows them in); labels say what each means.
local function score_field(node, name, pts)
  local described = type(pts) == "table" and pts.points ~= nil
  local title, labels = nil, nil
  if described then
    for k in pairs(pts) do
      if k ~= "points" and k ~= "title" and k ~= "labels" and not (k == 1 and pts[1] == name) then
        bad(node, "score field '%s': unknown option '%s' (points, title, labels)", name, tostring(k))
      end
    end
    title, labels, pts = pts.title, pts.labels, pts.points
    if title ~= nil and type(title) ~= "string" then bad(node, "score field '%s': title must be text", name) end
    if labels ~= nil and type(labels) ~= "table" then bad(node, "score field '%s': labels must be a table", name) end
  end
  if type(pts) ~= "table" or #pts == 0 then
    bad(node, "score field '%s' needs a list of allowed points", name)
    return nil
  end
  local lo, hi, points, seen = math.huge, -math.huge, {}, {}
  for _, p in ipairs(pts) do
    if math.type(p) ~= "integer" then bad(node, "score field '%s': points must be whole numbers", name) return nil end
    if seen[p] then bad(node, "score field '%s': point %d is listed twice", name, p) return nil end
    seen[p] = true
    lo, hi = math.min(lo, p), math.max(hi, p)
    local label = labels and labels[p]
    if label ~= nil and type(label) ~= "string" then
      bad(node, "score field '%s': the label of %d must be text", name, p)
      label = nil
    end
    points[#points + 1] = { value = p, label = label }
  end
  for k in pairs(labels or {}) do
    if not seen[k] then bad(node, "score field '%s': a label for %s, which is not one of its points", name, tostring(k)) end
  end
  return { name = name, title = title, kind = "number", lo = lo, hi = hi, points = points, required = true }
end

-- fields is a list ({ { "activity", title = ..., points = ... }, ... }: the
-- form's order) or a table by name ({ activity = { 0, 1, 2 }, ... }: sorted
-- by name).
local function score_fields(node, spec)
  local fields = {}
  if type(spec.fields) ~= "table" or empty(spec.fields) then
    bad(node, "score '%s' needs fields = { name = { points, ... }, ... }", tostring(node.id))
    return fields
  end
  local listed = {}
  if spec.fields[1] ~= nil then
    for i, f in ipairs(spec.fields) do
      if type(f) ~= "table" or type(f[1]) ~= "string" or f.points == nil then
        bad(node, "score field %d needs its name first and its points: { \"name\", points = { ... } }", i)
      else
        listed[#listed + 1] = { f[1], f }
      end
    end
  else
    local names = {}
    for k in pairs(spec.fields) do names[#names + 1] = k end
    table.sort(names, function(a, b) return tostring(a) < tostring(b) end)
    for _, name in ipairs(names) do listed[#listed + 1] = { name, spec.fields[name] } end
  end
  local seen = {}
  for _, nf in ipairs(listed) do
    local name = nf[1]
    if type(name) ~= "string" then
      bad(node, "score field '%s' needs a list of allowed points", tostring(name))
    elseif seen[name] then
      bad(node, "score field '%s' is declared twice", name)
    else
      seen[name] = true
      fields[#fields + 1] = score_field(node, name, nf[2])
    end
  end
  fields[#fields + 1] = { name = "total", kind = "number", computed = true, required = false }
  return fields
end

-- A title or help may quote a param as {name}: the visit shows its value.
local function placeholders(node, text)
  if type(text) ~= "string" then return end
  for name in sgmatch(text, "{([%a_][%w_]*)}") do
    compile_ctx.param_refs[#compile_ctx.param_refs + 1] = { name = name, where = node.where }
  end
end

local function compile_item(node, phase, defaults)
  local spec, kind = node.spec, node.kind
  check_keys(node, spec, ITEM_OPTIONS[kind])
  local it = { id = node.id, kind = kind, where = node.where, title = spec.title or node.id, help = spec.help,
               phase = phase.id }
  it.required = spec.required
  if it.required == nil then it.required = kind ~= "text" end
  -- skippable = false: "not done" is no answer for it (docs/safety.md, H13); a
  -- signature is never skippable (a second person's check).
  if spec.skippable ~= nil and type(spec.skippable) ~= "boolean" then
    bad(node, "skippable must be true or false")
  elseif spec.skippable == false and spec.required == false then
    bad(node, "item '%s' is optional (required = false) and not skippable (skippable = false): an optional item "
              .. "needs no skip; drop one of them", tostring(node.id))
  end
  it.skippable = spec.skippable ~= false and kind ~= "signature"
  -- clinician = true: only a clinician records, amends or skips it (the prescriber's own
  -- judgement, docs/safety.md AL6: a nurse's entry is refused, 403 naming it). A signature is
  -- a clinician's already; a score computed from other items is entered by nobody.
  if spec.clinician ~= nil and type(spec.clinician) ~= "boolean" then
    bad(node, "clinician must be true or false")
  elseif spec.clinician == true and kind == "signature" then
    bad(node, "signature '%s' is a clinician's already (signing is): drop clinician = true", tostring(node.id))
  elseif spec.clinician == true and kind == "score" and spec.from ~= nil then
    bad(node, "score '%s' is computed from other items, nobody enters it: drop clinician = true", tostring(node.id))
  end
  it.clinician = spec.clinician == true
  placeholders(node, it.title)
  placeholders(node, it.help)
  it.when = func(node, "when", spec.when)
  it.rule = func(node, "rule", spec.rule)
  it.compute = func(node, "compute", spec.compute)
  it.after = spec.after -- checked with the phase's items (compile_phase)

  if kind == "vitals" then
    it.fields = vitals_fields(node, spec)
  elseif kind == "score" and spec.from ~= nil then
    -- Computed from other items (NEWS2 from vitals): the engine records it
    -- each time one of them is recorded, so nobody enters it.
    local from = type(spec.from) == "string" and { spec.from } or spec.from
    if type(from) ~= "table" or #from == 0 then
      bad(node, "score '%s': from must name the items it is computed from", tostring(node.id))
      from = {}
    end
    if spec.fields ~= nil then bad(node, "score '%s' has fields or from, not both", tostring(node.id)) end
    if type(spec.compute) ~= "function" then
      bad(node, "score '%s' needs compute = function(x, visit) return total end", tostring(node.id))
    end
    for _, r in ipairs(from) do
      compile_ctx.refs[#compile_ctx.refs + 1] = { ref = r, where = node.where, phase = phase.id }
    end
    it.from = from
    it.fields = { { name = "total", kind = "number", computed = true, required = false } }
    if spec.required == nil then it.required = false end
  elseif kind == "score" then
    it.fields = score_fields(node, spec)
  else
    local f = { name = node.id, required = true }
    if kind == "number" then
      f.kind, f.unit = "number", spec.unit
      f.lo, f.hi = range(node, "range", spec.range)
      if not spec.unit then bad(node, "number '%s' needs a unit (e.g. unit = \"kg\")", tostring(node.id)) end
    elseif kind == "choice" then
      f.kind, f.options = "choice", options_list(node, spec.options)
    elseif kind == "text" then
      f.kind = "text"
      -- format: what a value must look like to be recorded (a lot number:
      -- docs/safety.md P9), a POSIX extended regular expression the whole
      -- value matches, and what it accepts in words for the refusal. The
      -- engine compiles the pattern at load (a bad one is a load error).
      local fm = spec.format
      if fm ~= nil then
        local ok = type(fm) == "table" and type(fm.pattern) == "string" and #fm.pattern > 0
                   and type(fm.says) == "string" and #fm.says > 0
        for k in pairs(type(fm) == "table" and fm or {}) do ok = ok and (k == "pattern" or k == "says") end
        if not ok then
          bad(node, "text '%s': format must be { pattern = \"a POSIX extended regular expression\", "
                    .. "says = \"what it accepts, in words\" }", tostring(node.id))
        else
          f.pattern, f.pattern_says = fm.pattern, fm.says
        end
      end
    elseif kind == "signature" and spec.options ~= nil then
      -- A signature with an outcome: the signer chooses one (an assessment).
      f.kind, f.options = "choice", options_list(node, spec.options)
    else -- check, signature
      f.kind = "check"
    end
    it.scalar = true
    it.fields = { f }
  end

  if kind == "signature" then
    if type(spec.of) ~= "string" then
      bad(node, "signature '%s' needs of = \"item\" (the entry a second person confirms)", tostring(node.id))
    else
      it.of = spec.of
      compile_ctx.refs[#compile_ctx.refs + 1] = { ref = spec.of, where = node.where, phase = phase.id }
    end
    it.meaning = spec.meaning or "confirmed by a second person"
    -- What the signature attests besides the item it confirms: visit params
    -- (recorded with it), and a calculation the signer sees and signs.
    local params = spec.params
    if type(params) == "string" then params = { params } end
    if params ~= nil and type(params) ~= "table" then
      bad(node, "signature '%s': params must name the visit params it attests", tostring(node.id))
      params = {}
    end
    it.params = {}
    for _, name in ipairs(params or {}) do
      if type(name) ~= "string" then
        bad(node, "signature '%s': params must be names of params", tostring(node.id))
      else
        compile_ctx.param_refs[#compile_ctx.param_refs + 1] = { name = name, where = node.where }
        it.params[#it.params + 1] = name
      end
    end
    -- Other entries it attests (docs/safety.md AN2: the prescriber's answer
    -- beside the reading she reviewed): a change of any voids it.
    local items = spec.items
    if type(items) == "string" then items = { items } end
    if items ~= nil and type(items) ~= "table" then
      bad(node, "signature '%s': items must name the entries it attests besides of", tostring(node.id))
      items = {}
    end
    it.attest_items = {}
    for _, name in ipairs(items or {}) do
      if type(name) ~= "string" then
        bad(node, "signature '%s': items must be names of items", tostring(node.id))
      else
        compile_ctx.refs[#compile_ctx.refs + 1] = { ref = name, where = node.where, phase = phase.id }
        it.attest_items[#it.attest_items + 1] = name
      end
    end
    -- second_person = false: a clinician's own judgement of the entry (AN3: the
    -- prescriber who took the BP reviews it), not a double-check by another.
    if spec.second_person ~= nil and type(spec.second_person) ~= "boolean" then
      bad(node, "signature '%s': second_person must be true or false", tostring(node.id))
    end
    it.second_person = spec.second_person ~= false
    it.calculation = func(node, "calculation", spec.calculation)
  end

  -- Schedule: `at` is the first due time from phase entry, `every` repeats,
  -- `count` or `until` bound the repeats, `grace` is how long after a due time
  -- the item turns overdue.
  if spec.at ~= nil or spec.every ~= nil then
    local s = {}
    s.at = duration(node, "at", spec.at)
    s.every = duration(node, "every", spec.every)
    if s.at == nil then s.at = s.every end
    s.grace = duration(node, "grace", spec.grace or defaults.grace or DEFAULT_GRACE)
    s["until"] = duration(node, "until", spec["until"])
    if spec.count ~= nil then
      if math.type(spec.count) ~= "integer" or spec.count < 1 then
        bad(node, "count must be a whole number >= 1")
      else
        s.count = spec.count
      end
    elseif s.every == nil then
      s.count = 1
    end
    if s.every == 0 then bad(node, "every must be longer than 0s") end
    it.schedule = s
  elseif spec.grace ~= nil or spec.count ~= nil or spec["until"] ~= nil then
    bad(node, "grace, count and until need a schedule (at = ... or every = ...)")
  end

  local od = spec.overdue or {}
  if type(od) ~= "table" then bad(node, "overdue must be a table") od = {} end
  it.overdue = {
    priority = od.priority or defaults.overdue_priority or "medium",
    escalate = duration(node, "overdue.escalate", od.escalate or defaults.escalate or DEFAULT_ESCALATE),
    latching = od.latching,
  }
  if not PRIORITIES[it.overdue.priority] then bad(node, "overdue.priority must be high, medium or low") end
  return it
end

local function compile_rule(node, phase)
  local spec = node.spec
  check_keys(node, spec, set({ "on", "check", "title", "priority", "worse", "carry" }))
  -- carry: the rule's alerts outlive its phase (a self-harm risk): they close
  -- when the rule no longer says them, or when a clinician acknowledges them
  -- with a reason; never because the visit moved on.
  if spec.carry ~= nil and type(spec.carry) ~= "boolean" then bad(node, "carry must be true or false") end
  local on = spec.on
  if type(on) == "string" then on = { on } end
  if type(on) ~= "table" or #on == 0 then
    bad(node, "rule '%s' needs on = \"item\" or on = { \"item\", ... }", tostring(node.id))
    on = {}
  end
  for _, r in ipairs(on) do
    compile_ctx.refs[#compile_ctx.refs + 1] = { ref = r, where = node.where, phase = phase.id }
  end
  if type(spec.check) ~= "function" then
    bad(node, "rule '%s' needs check = function(x, visit) ... end", tostring(node.id))
  end
  -- priority: the highest the rule raises (its technical alert's priority when
  -- it fails); high when not said.
  local priority = spec.priority or "high"
  if not PRIORITIES[priority] then
    bad(node, "rule '%s': priority must be high, medium or low", tostring(node.id))
    priority = "high"
  end
  -- worse: which way the alerts' value worsens, and by how much a reading must
  -- be further past the last one announced to be announced again after an
  -- acknowledgement: "higher" / "lower" (any amount), { higher = N } / { lower = N }.
  local worse, margin = spec.worse, 0
  if type(worse) == "table" then
    local n = 0
    for k, x in pairs(worse) do
      n = n + 1
      if (k ~= "higher" and k ~= "lower") or type(x) ~= "number" or x < 0 or x ~= x then
        bad(node, "rule '%s': worse must be \"higher\", \"lower\", { higher = N } or { lower = N } (N >= 0)",
            tostring(node.id))
      else
        worse, margin = k, x
      end
    end
    if n ~= 1 then
      bad(node, "rule '%s': worse must say one direction, higher or lower", tostring(node.id))
      worse = nil
    end
    if type(worse) == "table" then worse = nil end
  elseif worse == false then
    -- worse = false: the rule's alerts have no worse state to announce (the top of
    -- a scale, a one-off finding); said on purpose, and named by the diff (M4).
    worse = nil
  elseif worse ~= nil and worse ~= "higher" and worse ~= "lower" then
    bad(node, "rule '%s': worse must be \"higher\", \"lower\", { higher = N } or { lower = N } (N >= 0)",
        tostring(node.id))
    worse = nil
  end
  return { id = node.id, on = on, check = spec.check, where = node.where, title = spec.title,
           priority = priority, worse = worse, margin = margin, carry = spec.carry == true,
           worse_off = spec.worse == false }
end

local PHASE_OPTIONS = set({ "title", "help", "duration", "items", "rules", "gate", "grace", "missed",
                             "unmonitored_after", "unacknowledged", "timed_from", "before_dose" })

local function compile_phase(node, defaults)
  local spec = node.spec
  check_keys(node, spec, PHASE_OPTIONS)
  local ph = { id = node.id, where = node.where, title = spec.title or node.id, help = spec.help,
               items = {}, rules = {} }
  local d = spec.duration or {}
  if type(d) ~= "table" then bad(node, "duration must be { min = \"..\", max = \"..\" }") d = {} end
  ph.min = duration(node, "duration.min", d.min)
  ph.max = duration(node, "duration.max", d.max)
  if ph.min and ph.max and ph.min > ph.max then bad(node, "duration.min is longer than duration.max") end
  ph.gate = func(node, "gate", spec.gate)
  -- AN13 in docs/safety.md: in the phase that gives the dose (it holds a course's
  -- dose_given item), a gate-shaped check asked at each entry of the dose while it
  -- is not given: what time alone changes (pre-dose vitals grown old). Not met, the
  -- entry is 409 naming why, as N7's holds.
  ph.before_dose = func(node, "before_dose", spec.before_dose)
  -- What a missed checkpoint does (G8 in docs/safety.md): "alert" (its overdue
  -- alert only) or "hold" (also the gate, until it is recorded late or a
  -- clinician overrides with a reason).
  if spec.missed ~= nil and spec.missed ~= "alert" and spec.missed ~= "hold" then
    bad(node, "missed must be \"hold\" (a missed checkpoint holds the gate) or \"alert\" (it only raises its overdue "
              .. "alert), not %s", tostring(spec.missed))
  end
  ph.hold_missed = spec.missed == "hold"
  -- K8 in docs/safety.md: after this many checkpoints missed in a row the
  -- schedule stops making overdue alerts for the phase and one high alert says
  -- that monitoring stopped being documented; an entry resumes it.
  local after = spec.unmonitored_after
  if after ~= nil and (math.type(after) ~= "integer" or after < 1) then
    bad(node, "unmonitored_after must be a whole number of checkpoints, at least 1 (default 6), not %s",
        tostring(after))
    after = nil
  end
  ph.unmonitored_after = after or 6
  -- L4 in docs/safety.md: the last phase is left (the discharge) only when
  -- every alert of the visit of any priority is acknowledged ("hold", the
  -- default); "allow" lets medium and low alerts go unacknowledged (a
  -- workload with no acknowledging nurse; vigil protocol diff calls it weakened).
  if spec.unacknowledged ~= nil and spec.unacknowledged ~= "hold" and spec.unacknowledged ~= "allow" then
    bad(node, "unacknowledged must be \"hold\" (leaving the last phase waits until every alert is acknowledged) or "
              .. "\"allow\", not %s", tostring(spec.unacknowledged))
  end
  ph.unacknowledged_allowed = spec.unacknowledged == "allow"
  placeholders(node, ph.title)
  placeholders(node, ph.help)
  local phase_defaults = setmetatable({ grace = spec.grace }, { __index = defaults })

  local seen = {}
  for _, item in ipairs(spec.items or {}) do
    if type(item) ~= "table" or item.tag ~= "item" then
      if not (type(item) == "table" and item.tag == "invalid") then
        bad(node, "items of phase '%s' must be declared with v.check, v.number, v.vitals, ...", tostring(node.id))
      end
    else
      if seen[item.id] then
        bad(item, "duplicate item id '%s' in phase '%s' (first at %s)", tostring(item.id), tostring(node.id), seen[item.id])
      else
        seen[item.id] = item.where
        local it = compile_item(item, ph, phase_defaults)
        ph.items[#ph.items + 1] = it
        if it.rule then
          ph.rules[#ph.rules + 1] = { id = it.id, on = { it.id }, check = it.rule, where = it.where, shorthand = true }
        end
      end
    end
  end
  for _, r in ipairs(spec.rules or {}) do
    if type(r) ~= "table" or r.tag ~= "rule" then
      if not (type(r) == "table" and r.tag == "invalid") then
        bad(node, "rules of phase '%s' must be declared with v.rule \"id\" { ... }", tostring(node.id))
      end
    else
      ph.rules[#ph.rules + 1] = compile_rule(r, ph)
    end
  end
  -- P7 in docs/safety.md: the phase's minimum and maximum time and its
  -- checkpoints count from when this check of the phase is recorded yes (the
  -- infusion started), not from entering the phase.
  if spec.timed_from ~= nil then
    local found
    for _, it in ipairs(ph.items) do
      if it.id == spec.timed_from then found = it end
    end
    if type(spec.timed_from) ~= "string" or not found or found.kind ~= "check" or found.schedule then
      bad(node, "timed_from must name a check of phase '%s' that is not scheduled (its time is when it is recorded "
                .. "yes), not %s", tostring(node.id), tostring(spec.timed_from))
    else
      ph.timed_from = spec.timed_from
    end
  end
  -- AO1 in docs/safety.md: an item recorded only once a check of its phase is recorded yes
  -- (the infusion's stop, volume and dose given after its start; the engine refuses them
  -- before it, and one observed before it).
  local by_id = {}
  for _, it in ipairs(ph.items) do by_id[it.id] = it end
  for _, it in ipairs(ph.items) do
    if it.after ~= nil then
      local found = type(it.after) == "string" and by_id[it.after] or nil
      if not found or found == it or found.kind ~= "check" or found.schedule then
        bad(it, "after must name another check of phase '%s' that is not scheduled (the item is recorded once it "
                .. "is recorded yes), not %s", tostring(node.id), tostring(it.after))
        it.after = nil
      elseif it.kind == "signature" or it.schedule then
        bad(it, "after is for an item recorded once (not a signature, not scheduled): '%s'", tostring(it.id))
        it.after = nil
      end
    end
  end
  local rule_ids = {}
  for _, r in ipairs(ph.rules) do
    if rule_ids[r.id] then bad(r, "duplicate rule id '%s' in phase '%s'", r.id, ph.id) end
    rule_ids[r.id] = true
  end
  return ph
end

local PARAM_KINDS = { number = true, choice = true, text = true, check = true }

local function compile_param(node)
  local spec = node.spec
  check_keys(node, spec, set({ "kind", "title", "unit", "range", "default", "required", "options", "source",
                               "prescribed", "less_than" }))
  local p = { name = node.id, where = node.where, title = spec.title or node.id, unit = spec.unit,
              default = spec.default, options = spec.options, source = spec.source }
  -- Part of the prescription (a dose, an alarm limit): only a clinician sets
  -- it to anything but its default when a visit starts.
  if spec.prescribed ~= nil and type(spec.prescribed) ~= "boolean" then
    bad(node, "prescribed must be true or false")
  end
  p.prescribed = spec.prescribed == true
  -- Relations: this param must be less than each of those (sbp_alert < sbp_severe).
  local lt = spec.less_than
  if type(lt) == "string" then lt = { lt } end
  if lt ~= nil and type(lt) ~= "table" then bad(node, "less_than must name params") lt = {} end
  p.less_than = {}
  for _, other in ipairs(lt or {}) do
    if type(other) ~= "string" then bad(node, "less_than must name params") else p.less_than[#p.less_than + 1] = other end
  end
  local kind = spec.kind
  if kind == nil then
    local t = type(spec.default)
    kind = (t == "number" and "number") or (t == "boolean" and "check") or (spec.options and "choice")
           or ((spec.unit or spec.range) and "number") or "text"
  end
  if not PARAM_KINDS[kind] then bad(node, "param kind must be number, choice, text or check") end
  p.kind = kind
  p.lo, p.hi = range(node, "range", spec.range)
  p.required = spec.required
  if p.required == nil then p.required = spec.default == nil end
  if spec.options ~= nil and kind ~= "choice" then bad(node, "options are only for choice params") end
  p.options = kind == "choice" and options_list(node, spec.options) or nil
  if p.default ~= nil then
    local ok = (kind == "number" and type(p.default) == "number") or (kind == "check" and type(p.default) == "boolean")
               or ((kind == "text" or kind == "choice") and type(p.default) == "string")
    if not ok then bad(node, "default of param '%s' is not a %s", tostring(node.id), kind) end
    if kind == "number" and ok and p.lo and (p.default < p.lo or p.default > p.hi) then
      bad(node, "default of param '%s' is outside its range", tostring(node.id))
    end
  end
  return p
end

local PROTOCOL_OPTIONS = set({ "version", "title", "description", "sources", "params", "phases", "on",
                               "defaults", "course", "drug" })

-- drug = { names = { "ketamine" }, codes = { "KET" } }: what the protocol
-- gives, so that an allergy on the patient's hospital record that names it
-- is a high alert at the visit's start (docs/protocols.md, "The drug").
local function compile_drug(root, drug)
  if type(drug) ~= "table" then
    bad(root, "drug must be a table: drug = { names = { \"ketamine\" }, codes = { \"KET\" } }")
    return nil
  end
  for k in pairs(drug) do
    if k ~= "names" and k ~= "codes" then bad(root, "unknown option '%s' for drug (names, codes)", tostring(k)) end
  end
  local out = { names = {}, codes = {} }
  for _, key in ipairs({ "names", "codes" }) do
    local list = drug[key]
    if list ~= nil and type(list) ~= "table" then
      bad(root, "drug.%s must be a list of text", key)
    else
      for i, x in ipairs(list or {}) do
        if type(x) ~= "string" or not smatch(x, "%w") or #x > 100 then
          bad(root, "drug.%s[%d] must be text of 1 to 100 bytes with a letter or digit", key, i)
        else
          out[key][#out[key] + 1] = x
        end
      end
    end
  end
  if #out.names == 0 and #out.codes == 0 then bad(root, "drug needs names or codes") end
  return out
end

-- The course (docs/protocols.md, "Courses"): the series of sessions a
-- patient's visits make, the intervals between them, what follows the
-- induction series, and the measures taken from each visit. Every number is
-- protocol data: the engine has none of its own.
local COURSE_OPTIONS = set({ "visits", "sessions", "within", "min_interval", "interval", "maintenance", "grace", "priorities",
                             "measures", "response", "remission", "dose_given", "dose_recorded", "rems_form" })
local function positive_duration(node, field, value, required)
  if value == nil then
    if required then bad(node, "course: %s is required (a duration such as \"2d\")", field) end
    return nil
  end
  local ms = duration(node, "course: " .. field, value)
  if ms and ms <= 0 then bad(node, "course: %s must be longer than 0", field) return nil end
  return ms
end
local function compile_course(node, p)
  local spec = node.spec
  for k in pairs(spec) do
    if type(k) ~= "number" and not COURSE_OPTIONS[k] then bad(node, "unknown option '%s' for the course", tostring(k)) end
  end
  local c = { where = node.where, visits = {}, measures = {} }
  local vs = spec.visits
  if vs == nil then vs = { p.id } end
  if type(vs) == "string" then vs = { vs } end
  if type(vs) ~= "table" or #vs == 0 then
    bad(node, "course: visits must name the protocols whose visits join it, { \"%s\", ... }", tostring(p.id))
    vs = {}
  end
  for _, id in ipairs(vs) do
    if type(id) ~= "string" or not smatch(id, "^[%a_][%w_]*$") then
      bad(node, "course: visits must be protocol ids, got %s", tostring(id))
    else
      c.visits[#c.visits + 1] = id
    end
  end
  if type(spec.sessions) ~= "number" or spec.sessions < 1 or spec.sessions % 1 ~= 0 then
    bad(node, "course: sessions must be a whole number of sessions, at least 1 (the induction series)")
  else
    c.sessions = spec.sessions
  end
  c.within = positive_duration(node, "within", spec.within, true)
  c.min_interval = positive_duration(node, "min_interval", spec.min_interval, true)
  c.interval = positive_duration(node, "interval", spec.interval, true)
  c.grace = positive_duration(node, "grace", spec.grace, true)
  if c.min_interval and c.interval and c.min_interval > c.interval then
    bad(node, "course: min_interval must not be longer than interval")
  end
  if c.interval and c.within and c.sessions and c.sessions > 1 and c.interval * (c.sessions - 1) > c.within then
    bad(node, "course: %d sessions every interval do not fit within", c.sessions)
  end
  local m = spec.maintenance
  if m ~= nil then
    if type(m) ~= "table" then
      bad(node, "course: maintenance must be { interval = \"4w\" }")
    else
      for k in pairs(m) do
        if k ~= "interval" and k ~= "max_interval" and k ~= "sessions" then bad(node, "unknown option '%s' for the course's maintenance", tostring(k)) end
      end
      c.maintenance_interval = positive_duration(node, "maintenance.interval", m.interval, true)
      c.maintenance_max = positive_duration(node, "maintenance.max_interval", m.max_interval, false)
      if c.maintenance_max and c.maintenance_interval and c.maintenance_max < c.maintenance_interval then
        bad(node, "course: maintenance.max_interval must not be shorter than maintenance.interval")
      end
      if m.sessions ~= nil then
        if type(m.sessions) ~= "number" or m.sessions < 1 or m.sessions % 1 ~= 0 then
          bad(node, "course: maintenance.sessions must be a whole number of sessions, at least 1")
        elseif not m.max_interval then
          bad(node, "course: maintenance.sessions says how many sessions come before max_interval, which is missing")
        else
          c.maintenance_sessions = m.sessions
        end
      end
    end
  end
  -- The items whose recording means the dose was given ("phase.item"): from
  -- then the session counts as a dose for the minimum interval, whether its
  -- visit completes, is aborted or is still open (docs/safety.md M1).
  -- dose_recorded: items recorded before the dose is given (esketamine's dose
  -- and lot) that say it was given once the visit has left their phase (its
  -- gate overridden with them recorded: docs/safety.md AG2).
  local function dose_items(key, says)
    local out, dg = {}, spec[key]
    if type(dg) == "string" then dg = { dg } end
    if dg ~= nil and (type(dg) ~= "table" or #dg == 0) then
      bad(node, "course: %s must name the item(s) %s, \"phase.item\"", key, says)
      dg = {}
    end
    for _, ref in ipairs(dg or {}) do
      if type(ref) ~= "string" or not smatch(ref, "^[%w_]+%.[%w_]+$") then
        bad(node, "course: %s names its items as \"phase.item\", got %s", key, tostring(ref))
      else
        out[#out + 1] = ref
        compile_ctx.refs[#compile_ctx.refs + 1] = { ref = ref, where = node.where }
      end
    end
    return out
  end
  c.dose_given = dose_items("dose_given", "whose recording means the dose was given")
  c.dose_recorded = dose_items("dose_recorded", "that say the dose was given once their phase is left")
  local names = {}
  if spec.measures ~= nil and type(spec.measures) ~= "table" then bad(node, "course: measures must be a table") end
  local keys = {}
  for k in pairs(type(spec.measures) == "table" and spec.measures or {}) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  for _, name in ipairs(keys) do
    local ms = spec.measures[name]
    if type(name) ~= "string" or not smatch(name, "^[%a_][%w_]*$") then
      bad(node, "course: a measure's name must be an identifier, got %s", tostring(name))
    elseif type(ms) ~= "table" or (ms.item == nil) == (ms.param == nil) then
      bad(node, "course: measure '%s' must be { item = \"phase.item\", field = \"total\" } or { param = \"name\" }", name)
    else
      for k in pairs(ms) do
        if k ~= "item" and k ~= "field" and k ~= "param" and k ~= "otherwise" then
          bad(node, "unknown option '%s' for the course's measure '%s'", tostring(k), name)
        end
      end
      local x = { name = name, item = ms.item, field = ms.field, param = ms.param, otherwise = ms.otherwise }
      if ms.item ~= nil then
        if type(ms.item) ~= "string" or not smatch(ms.item, "^[%w_]+%.[%w_]+$") then
          bad(node, "course: measure '%s' names its item as \"phase.item\"", name)
        else
          compile_ctx.refs[#compile_ctx.refs + 1] = { ref = ms.item, where = node.where, measure = x }
        end
        if ms.field ~= nil and type(ms.field) ~= "string" then bad(node, "course: measure '%s': field must be a name", name) end
        -- X3: the item read when `item` has no value (the dose drawn up while no dose given is recorded).
        if ms.otherwise ~= nil then
          if type(ms.otherwise) ~= "string" or not smatch(ms.otherwise, "^[%w_]+%.[%w_]+$") then
            bad(node, "course: measure '%s' names its otherwise item as \"phase.item\"", name)
          else
            compile_ctx.refs[#compile_ctx.refs + 1] = { ref = ms.otherwise, where = node.where,
                                                        measure = { name = name, field = ms.field } }
          end
        end
      elseif ms.otherwise ~= nil then
        bad(node, "course: measure '%s': otherwise goes with an item, not a param", name)
      else
        if type(ms.param) ~= "string" then
          bad(node, "course: measure '%s' names its param", name)
        else
          compile_ctx.param_refs[#compile_ctx.param_refs + 1] = { name = ms.param, where = node.where }
        end
      end
      c.measures[#c.measures + 1] = x
      names[name] = true
    end
  end
  c.measure_names = names
  local function threshold(key, num_key, text)
    local t = spec[key]
    if t == nil then return end
    if type(t) ~= "table" or type(t.measure) ~= "string" or type(t[num_key]) ~= "number" then
      bad(node, "course: %s must be { measure = \"name\", %s = N } (%s)", key, num_key, text)
      return
    end
    for k in pairs(t) do
      if k ~= "measure" and k ~= num_key then bad(node, "unknown option '%s' for the course's %s", tostring(k), key) end
    end
    if not names[t.measure] then bad(node, "course: %s names no measure '%s'", key, t.measure) return end
    c[key .. "_measure"] = t.measure
    c[key .. "_" .. num_key] = t[num_key]
  end
  threshold("response", "fall_pct", "the fall from the first session's value, in %, that is a response")
  threshold("remission", "below", "a value below this is a remission")
  if c.response_fall_pct and (c.response_fall_pct <= 0 or c.response_fall_pct > 100) then
    bad(node, "course: response.fall_pct must be above 0 and at most 100")
  end
  -- The REMS Patient Monitoring Form each completed session files: due `due`
  -- after the session started, a course alert from `alert` after it while it
  -- is not recorded as submitted (docs/protocols.md, "Courses").
  local rf = spec.rems_form
  if rf ~= nil then
    if type(rf) ~= "table" then
      bad(node, "course: rems_form must be { due = \"7d\", alert = \"5d\" }")
    else
      for k in pairs(rf) do
        if k ~= "due" and k ~= "alert" then bad(node, "unknown option '%s' for the course's rems_form", tostring(k)) end
      end
      c.rems_form_due = positive_duration(node, "rems_form.due", rf.due, true)
      c.rems_form_alert = positive_duration(node, "rems_form.alert", rf.alert, true)
      if c.rems_form_due and c.rems_form_alert and c.rems_form_alert >= c.rems_form_due then
        bad(node, "course: rems_form.alert must be shorter than rems_form.due (the alert comes before the form is late)")
      end
    end
  end
  -- The course alerts' priorities: the protocol's, medium unless it says.
  local COURSE_ALERTS = { missed_session = true, non_response = true, series_incomplete = true, rems_form = true }
  c.priority_missed_session, c.priority_non_response, c.priority_series_incomplete = "medium", "medium", "medium"
  c.priority_rems_form = "medium"
  if spec.priorities ~= nil then
    if type(spec.priorities) ~= "table" then
      bad(node, "course: priorities must be { missed_session = \"high\", non_response = ..., series_incomplete = ... }")
    else
      for k, x in pairs(spec.priorities) do
        if not COURSE_ALERTS[k] then
          bad(node, "course: priorities: unknown course alert '%s' (missed_session, non_response, series_incomplete, rems_form)",
              tostring(k))
        elseif x ~= "high" and x ~= "medium" and x ~= "low" then
          bad(node, "course: priorities.%s must be \"high\", \"medium\" or \"low\"", k)
        else
          c["priority_" .. k] = x
        end
      end
    end
  end
  return c
end
local HOOKS = set({ "alert", "phase_enter", "phase_exit", "overdue" })

-- Item references are "item" (the phase's own, else the only one of that
-- name) or "phase.item".
local function resolve_refs(p)
  local by_phase, by_name = {}, {}
  for _, ph in ipairs(p.phases) do
    by_phase[ph.id] = {}
    for _, it in ipairs(ph.items) do
      by_phase[ph.id][it.id] = true
      by_name[it.id] = (by_name[it.id] or 0) + 1
    end
  end
  -- visit.course().first("phq9") names a course measure, not an item.
  local measures = p.course and p.course.measure_names or {}
  for _, r in ipairs(compile_ctx.refs) do
    local ph, name = smatch(r.ref, "^([%w_]+)%.([%w_]+)$")
    if not r.measure and not r.phase and measures[r.ref] then
      -- a measure
    elseif ph then
      if not (by_phase[ph] and by_phase[ph][name]) then
        problem(r.where, "unknown item '%s'", r.ref)
      elseif r.measure then
        local it
        for _, x in ipairs(p.phases) do
          if x.id == ph then for _, y in ipairs(x.items) do if y.id == name then it = y end end end
        end
        local m, found = r.measure, false
        for _, f in ipairs(it.fields or {}) do
          if f.name == (m.field or (it.scalar and f.name)) then found = f end
        end
        if not found then
          problem(r.where, "course: measure '%s': item '%s' has no %s", m.name, r.ref,
                  m.field and ("field '" .. m.field .. "'") or "single value (name a field: field = \"total\")")
        elseif found.kind ~= "number" then
          problem(r.where, "course: measure '%s': %s is not a number", m.name, r.ref)
        end
      end
    elseif not ((r.phase and by_phase[r.phase] and by_phase[r.phase][r.ref]) or by_name[r.ref] == 1) then
      if (by_name[r.ref] or 0) > 1 then
        problem(r.where, "item '%s' is in several phases: write \"phase.%s\"", r.ref, r.ref)
      else
        problem(r.where, "unknown item '%s'", r.ref)
      end
    end
  end
end

-- A rule names items in string literals: visit.value("screening.baseline").
-- Find those statically so that a misspelt reference fails lint, not a nurse.
local REF_FUNCS = { value = true, first = true, last = true, count = true, done = true, held = true,
                    readings = true, skipped = true }
-- The names a file gives the module (local v = require "vigil"), and every
-- name it then reads from it: v.alret, v.alert.urgent(...) and v.alert("...")
-- fail lint at their line, not at run time in the branch that needs them.
local function module_aliases(text)
  local aliases = {}
  for name in sgmatch(text, "local%s+([%a_][%w_]*)%s*=%s*require%s*%(?%s*[\"']vigil[\"']") do aliases[name] = true end
  return aliases
end

local function known_names()
  local names = {}
  for k in pairs(api) do names[#names + 1] = k end
  if api.now == nil then names[#names + 1] = "now" end
  table.sort(names)
  return names
end

local function scan_module_use(path, n, code, aliases)
  for alias in pairs(aliases) do
    -- Each use: the alias not preceded by a name character or a dot.
    for pre, name, rest in sgmatch(code, "()" .. alias .. "%s*%.%s*([%a_][%w_]*)([^\n]*)") do
      local before = pre > 1 and code:sub(pre - 1, pre - 1) or ""
      if not smatch(before, "[%w_%.]") then
        local at = path .. ":" .. n
        local said = false
        for _, q in ipairs(problems) do
          said = said or (q.where == at and q.message:find("'vigil." .. name .. "'", 1, true) ~= nil)
        end
        if api[name] == nil and name ~= "now" and not said then
          problem(at, "'%s.%s' is not part of the protocol language (it has: %s)", alias, name,
                  table.concat(known_names(), ", "))
        elseif name == "alert" then
          local prio = smatch(rest, "^%s*%.%s*([%a_][%w_]*)")
          if prio and not PRIORITIES[prio] then
            problem(at, "there is no alert priority '%s': write %s", prio, ALERT_HELP)
          elseif not prio and smatch(rest, "^%s*[%(\"'{]") then
            problem(at, "an alert needs its priority: write %s, not %s.alert(\"...\")", ALERT_HELP, alias)
          end
        end
      end
    end
  end
end

local function scan_references(path, text)
  local n = 0
  local aliases = module_aliases(text)
  for line in sgmatch(text .. "\n", "([^\n]*)\n") do
    n = n + 1
    local code = sgsub(line, "%-%-.*$", "")
    scan_module_use(path, n, code, aliases)
    for fn, ref in sgmatch(code, "[%.:]%s*([%a_]+)%s*%(%s*[\"']([^\"']+)[\"']") do
      if REF_FUNCS[fn] then
        compile_ctx.refs[#compile_ctx.refs + 1] = { ref = ref, where = path .. ":" .. n }
      end
    end
  end
end

local last_compiled -- the tree lang.compile returned, for lang.exercise

function lang.compile(root, sources)
  declaring = false
  compile_ctx = { refs = {}, param_refs = {} }
  if type(root) ~= "table" or root.tag ~= "protocol" then
    if not (type(root) == "table" and root.tag == "invalid") then
      problem((sources and sources[1] and sources[1].path or "?") .. ":1",
              "the protocol file must return v.protocol \"id\" { ... }")
    end
    return nil, problems
  end
  local spec = root.spec
  check_keys(root, spec, PROTOCOL_OPTIONS)
  local p = { id = root.id, where = root.where, title = spec.title or root.id, description = spec.description,
              sources = spec.sources, phases = {}, params = {}, hooks = {} }
  local v = spec.version
  if v == nil then
    bad(root, "protocol '%s' has no version (add version = \"1.0.0\")", tostring(root.id))
  elseif type(v) ~= "string" or not smatch(v, "^%d+%.%d+%.%d+$") then
    bad(root, "version must be semantic, \"MAJOR.MINOR.PATCH\" (got %s)", tostring(v))
  end
  p.version = v

  local defaults = spec.defaults or {}
  if type(defaults) ~= "table" then bad(root, "defaults must be a table") defaults = {} end
  check_keys(root, defaults, set({ "grace", "escalate", "overdue_priority", "latching", "latch",
                                   "escalation_raises_priority", "realert_after", "realert_clinician" }))
  p.latching = defaults.latching ~= false
  -- AP3 (docs/safety.md): alerts of this priority and above latch as IEC 60601-1-8's latching
  -- alarms do: not acknowledged, they stay active and escalate after their cause clears, until
  -- someone acknowledges them. Not said (or false): none; a latching alert whose cause
  -- cleared then shows as resolved until acknowledged, and no longer escalates.
  local latch = defaults.latch
  if latch ~= nil and latch ~= false and latch ~= "high" and latch ~= "medium" and latch ~= "low" then
    bad(root, "defaults.latch must be \"high\", \"medium\", \"low\" (that priority and above) or false, not %s",
        tostring(latch))
    latch = nil
  end
  if latch and defaults.latching == false then
    bad(root, "defaults.latch needs latching alerts: defaults.latching is false")
  end
  p.latch = latch or nil
  -- Escalation tells more people; it raises an alert's priority only when the
  -- protocol says so.
  if defaults.escalation_raises_priority ~= nil and type(defaults.escalation_raises_priority) ~= "boolean" then
    bad(root, "defaults.escalation_raises_priority must be true or false")
  end
  p.escalation_raises_priority = defaults.escalation_raises_priority == true
  p.escalate = duration(root, "defaults.escalate", defaults.escalate or DEFAULT_ESCALATE)
  -- AN11 (docs/safety.md): an acknowledgement silences an alert whose cause
  -- still holds for this long only; then it is raised again. Not said: never
  -- (an acknowledgement silences it until its cause clears, as before).
  p.realert_after = duration(root, "defaults.realert_after", defaults.realert_after or "0s")
  if p.realert_after and p.realert_after > 0 and p.realert_after < 60000 then
    bad(root, "defaults.realert_after must be at least a minute, or \"0s\" for never (got %s)",
        tostring(defaults.realert_after))
  end
  -- After this many raisings again, the alert is a clinician's to acknowledge.
  local rc = defaults.realert_clinician
  if rc ~= nil and (math.type(rc) ~= "integer" or rc < 1) then
    bad(root, "defaults.realert_clinician must be a whole number of raisings again, at least 1, not %s", tostring(rc))
    rc = nil
  end
  if rc and not (p.realert_after and p.realert_after > 0) then
    bad(root, "defaults.realert_clinician needs defaults.realert_after: nothing is raised again without it")
  end
  p.realert_clinician = rc or 0

  local pseen = {}
  for _, pn in ipairs(spec.params or {}) do
    if type(pn) == "table" and pn.tag == "param" then
      if pseen[pn.id] then bad(pn, "duplicate param '%s'", pn.id) end
      pseen[pn.id] = true
      p.params[#p.params + 1] = compile_param(pn)
    elseif not (type(pn) == "table" and pn.tag == "invalid") then
      bad(root, "params must be declared with v.param \"name\" { ... }")
    end
  end
  -- Relations between params, checked here on the defaults (and by the
  -- engine on a visit's values when it starts).
  local by_name = {}
  for _, pa in ipairs(p.params) do by_name[pa.name] = pa end
  for _, pa in ipairs(p.params) do
    for _, other in ipairs(pa.less_than) do
      local o = by_name[other]
      if not o then
        problem(pa.where, "param '%s': less_than names no param '%s'", pa.name, other)
      elseif pa.kind ~= "number" or o.kind ~= "number" then
        problem(pa.where, "param '%s': less_than relates numbers only ('%s' is not one)", pa.name,
                pa.kind ~= "number" and pa.name or other)
      elseif type(pa.default) == "number" and type(o.default) == "number" and not (pa.default < o.default) then
        problem(pa.where, "param '%s' (default %s) must be less than '%s' (default %s)", pa.name,
                tostring(pa.default), other, tostring(o.default))
      end
    end
  end

  if type(spec.phases) ~= "table" or #spec.phases == 0 then
    bad(root, "protocol '%s' needs phases = { v.phase \"...\" { ... }, ... }", tostring(root.id))
  else
    local seen = {}
    for _, ph in ipairs(spec.phases) do
      if type(ph) == "table" and ph.tag == "phase" then
        if seen[ph.id] then bad(ph, "duplicate phase id '%s' (first at %s)", ph.id, seen[ph.id]) end
        seen[ph.id] = ph.where
        p.phases[#p.phases + 1] = compile_phase(ph, defaults)
      elseif not (type(ph) == "table" and ph.tag == "invalid") then
        bad(root, "phases must be declared with v.phase \"id\" { ... }")
      end
    end
  end

  if spec.course ~= nil then
    if type(spec.course) == "table" and spec.course.tag == "course" then
      p.course = compile_course(spec.course, p)
    else
      bad(root, "course must be declared with v.course { ... }")
    end
  end

  -- before_dose (AN13) is asked only in the phase that gives the dose: elsewhere it would
  -- never run, and the author would believe the dose waits for it.
  for _, ph in ipairs(p.phases) do
    if ph.before_dose then
      local gives = false
      for _, ref in ipairs(p.course and p.course.dose_given or {}) do
        gives = gives or smatch(ref, "^([%w_]+)%.") == ph.id
      end
      if not gives then
        problem(ph.where, "phase '%s': before_dose is asked only in the phase holding the course's dose_given item, "
                          .. "which this phase does not: it would never run", ph.id)
      end
    end
  end

  if spec.drug ~= nil then p.drug = compile_drug(root, spec.drug) end

  for k, fn in pairs(spec.on or {}) do
    if not HOOKS[k] then
      bad(root, "unknown hook on.%s (hooks: alert, phase_enter, phase_exit, overdue)", tostring(k))
    elseif type(fn) ~= "function" then
      bad(root, "on.%s must be a function", k)
    else
      p.hooks[k] = fn
    end
  end

  for _, src in ipairs(sources or {}) do scan_references(src.path, src.text) end
  resolve_refs(p)
  for _, r in ipairs(compile_ctx.param_refs) do
    if not pseen[r.name] then problem(r.where, "unknown param '%s'", r.name) end
  end
  if #problems > 0 then return nil, problems end
  last_compiled = p
  return p, problems
end


---------------------------------------------------------------------------
-- Exercise (lint only): every rule, gate, `when` and `compute` of the last
-- compiled protocol is run against synthetic visits (each value at the low
-- and the high end of its range, each option of every choice, and the first
-- reading of a phase with nothing else recorded and optional fields left
-- out), through a view that behaves as the engine's. A rule that fails, reads
-- a field its item does not have, or returns something that is not an
-- outcome is a problem at its file:line, said in words (docs/safety.md, H7).
---------------------------------------------------------------------------
local EXERCISE_START = 1767225600000 -- synthetic visits start at 2026-01-01T00:00Z

-- Lua's own messages, in words a nurse educator reads.
local function in_words(msg)
  local function name(n) return n and ("'" .. n .. "'") or "a value" end
  local rules = {
    { "attempt to index a nil value %((%w+) '([^']+)'%)", function(_, n)
      return string.format("%s has no value here (nothing recorded yet?) but is read as a reading", name(n)) end },
    { "attempt to index a nil value", function() return "reads from a value that is missing here (nothing recorded yet?)" end },
    { "attempt to perform arithmetic on a nil value %((%w+) '([^']+)'%)", function(_, n)
      return string.format("calculates with %s, which has no value here", name(n)) end },
    { "attempt to perform arithmetic on a (%w+) value %((%w+) '([^']+)'%)", function(t, _, n)
      return string.format("calculates with %s, which is %s, not a number", name(n), t) end },
    { "attempt to compare (%w+) with (%w+)", function(a, b)
      if a == "nil" or b == "nil" then return "compares a value that is missing here with a " .. (a == "nil" and b or a) end
      return string.format("compares a %s with a %s", a, b) end },
    { "attempt to call a nil value %((%w+) '([^']+)'%)", function(_, n)
      return string.format("calls %s, which does not exist", name(n)) end },
    { "attempt to call a (%w+) value", function(t) return string.format("calls a %s as if it were a function", t) end },
    { "attempt to concatenate a nil value %((%w+) '([^']+)'%)", function(_, n)
      return string.format("puts %s into text, but it has no value here", name(n)) end },
  }
  for _, r in ipairs(rules) do
    local a, b, c = smatch(msg, r[1])
    if a then return r[2](a, b, c) .. " (Lua: " .. msg .. ")" end
  end
  return msg
end

-- "file:line: message" -> where, message (nil when it has no position).
local function split_error(err)
  local at, msg = smatch(tostring(err), "^(.-:%d+): (.*)$")
  return at, msg
end

-- The innermost frame of the protocol's own files from level up (a library
-- compiled into vigil, "=vigil/scores.lua", is not where the author looks),
-- with the whole file name (an error message shortens it to "...").
local function protocol_where(level)
  for l = level + 1, 60 do
    local info = getinfo(l, "Sl")
    if not info then break end
    if info.source:sub(1, 1) == "@" and (info.currentline or 0) > 0 then
      local src = info.source:sub(2)
      return smatch(src, "^(.-:%d+): ") or (src .. ":" .. info.currentline)
    end
  end
  return nil
end

-- xpcall's handler: the message without its position, and where in the
-- protocol it was raised.
local function failure(err)
  local _, msg = split_error(err)
  return { message = msg or tostring(err), where = protocol_where(2) }
end

local function sample(f, variant, k)
  if f.computed then return nil end
  if f.kind == "number" then
    local lo, hi = f.lo or 1, f.hi or 100
    if f.points then
      lo, hi = math.huge, -math.huge
      for _, pt in ipairs(f.points) do lo, hi = math.min(lo, pt.value), math.max(hi, pt.value) end
    end
    return variant == "high" and hi or lo
  elseif f.kind == "check" then
    return variant == "high"
  elseif f.kind == "choice" then
    local opts = f.options or {}
    if #opts == 0 then return nil end
    return opts[(k - 1) % #opts + 1]
  end
  return "text"
end

local FIELD_KIND_WORDS = { vitals = "vitals", score = "score" }
-- What the exercise said already: each function's first failure only, each
-- misread field once; .field is set while a case read a field that is not there.
local exercise_said = {}

-- A reading of a record item, read through a view that reports fields the
-- item does not have, where the protocol reads them.
local function reading_proxy(rec, it)
  local names = {}
  for _, f in ipairs(it.fields or {}) do names[f.name] = true end
  return setmetatable({}, {
    __index = function(_, k)
      local x = rec[k]
      if x == nil and type(k) == "string" and not names[k] then
        local list = {}
        for _, f in ipairs(it.fields or {}) do list[#list + 1] = f.name end
        local at = protocol_where(2) or where(2)
        exercise_said.field = true
        if exercise_said[at .. "\0" .. k] then return nil end
        exercise_said[at .. "\0" .. k] = true
        problem(at, "reads '%s' of %s '%s', which has no field '%s' (its fields: %s)", k,
                FIELD_KIND_WORDS[it.kind] or it.kind, it.id, k, table.concat(list, ", "))
      end
      return x
    end,
    __newindex = rec,
    __pairs = function() return next, rec, nil end,
    __len = function() return #rec end,
  })
end

local function make_value(it, variant, k, missing)
  if it.scalar then return sample(it.fields[1], variant, k) end
  local rec, total = {}, 0
  for _, f in ipairs(it.fields or {}) do
    if not (missing and f.required == false) then
      local x = sample(f, variant, k)
      rec[f.name] = x
      if type(x) == "number" then total = total + x end
    end
  end
  if it.kind == "score" then rec.total = total end
  return rec
end

local function wrap(it, x)
  if type(x) == "table" and not it.scalar then return reading_proxy(x, it) end
  return x
end

-- The synthetic visit: state[qid] = { readings }, at phase index `at`. Its
-- functions are those of the engine's view (core/engine/view.c), no more: a
-- name the real view lacks must fail here as it would in a visit.
local exercise_course_n = 0
-- Not params (a param's name cannot begin with '@'): the time in the phase
-- and the course's session the behavioural diff sets, and the names under
-- which a rule's reading of them is kept (author/behaviour_diff.c).
local PHASE_TIME_SET, SESSION_SET = "@phase_elapsed", "@course_session"
-- Set with the course's session by the diff too, for the rules that read the
-- course: the days since the last session and the value every course measure
-- had before (previous, first); and the clock's time for the rules that read
-- visit.now() (docs/safety.md AG3).
local DAYS_SET, MEASURE_SET, CLOCK_SET = "@days_since_last", "@course_measure", "@now"
local function synthetic_view(p, at, state, now, over, read)
  -- The behaviour's visits (read given) hand readings over as they are: the
  -- views that report misread fields are lint's, and cost a table each.
  local wrap = read and function(_, x) return x end or wrap
  local qids, by_name = {}, {}
  for _, ph in ipairs(p.phases) do
    for _, it in ipairs(ph.items) do
      qids[ph.id .. "." .. it.id] = it
      by_name[it.id] = by_name[it.id] == nil and it or false
    end
  end
  local cur = p.phases[at]
  local function item(ref)
    if type(ref) ~= "string" then error("an item is named by a string, \"item\" or \"phase.item\"", 3) end
    local it = qids[ref] or qids[cur.id .. "." .. ref] or by_name[ref]
    if not it then error(string.format("unknown item '%s'", ref), 3) end
    return it, state[it.phase .. "." .. it.id] or {}
  end
  local view = {}
  function view.value(ref) local it, rs = item(ref) return rs[#rs] and wrap(it, rs[#rs].v) end
  function view.first(ref) local it, rs = item(ref) return rs[1] and wrap(it, rs[1].v) end
  function view.last(ref, n)
    local it, rs = item(ref)
    n = math.min(math.max(n or 1, 0), #rs)
    local out = {}
    for i = 1, n do out[i] = wrap(it, rs[#rs + 1 - i].v) end
    return out
  end
  function view.count(ref) local _, rs = item(ref) return #rs end
  function view.done(ref, opts)
    local _, rs = item(ref)
    return #rs >= ((type(opts) == "table" and opts.count) or 1)
  end
  function view.skipped(ref) item(ref) return nil end
  function view.held(ref, pred, d)
    local it, rs = item(ref)
    if type(pred) ~= "function" then error("held needs a predicate function", 2) end
    local ms, err = parse_duration(d)
    if not ms then error(err, 2) end
    for i = #rs, 1, -1 do
      if not pred(wrap(it, rs[i].v)) then return false end
    end
    return #rs > 0
  end
  function view.observed_at(ref) local _, rs = item(ref) return rs[#rs] and rs[#rs].at end
  -- Synthetic readings were each recorded in its own entry, in the order observed (view.c's
  -- is the log's seq: docs/safety.md AS3); a reading at the same time is of one entry.
  function view.recorded_seq(ref, k)
    local _, rs = item(ref)
    local r = rs[#rs + 1 - (k or 1)]
    if not r then return nil end
    return r.seq or r.at, r.seq or r.at
  end
  -- Synthetic readings are never amended (view.c's amended: docs/safety.md U6).
  function view.amended(ref) item(ref) return nil end
  -- Each synthetic reading its own entry, in the order observed, by no clinician (view.c's
  -- changes: docs/safety.md AW1): the value after each is its own.
  function view.changes(ref)
    local it, rs = item(ref)
    local out = {}
    for i, r in ipairs(rs) do
      out[i] = { seq = r.seq or r.at, by = "lint", clinician = false, amendment = false, observed_at = r.at,
                 recorded_at = r.at, newest = true, value = wrap(it, r.v) }
    end
    return out
  end
  function view.age(ref) local _, rs = item(ref) return rs[#rs] and (now - rs[#rs].at) end
  -- Each synthetic reading is a checkpoint's own: the gates that count
  -- checkpoints with none (docs/safety.md AG4) pass here; the engine's view
  -- counts them from the phase's clock.
  function view.checkpoints(ref)
    local it, rs = item(ref)
    if not it.schedule then error(string.format("item '%s' has no checkpoints (no at or every)", ref), 2) end
    return #rs, #rs
  end
  function view.param(name)
    if read then read[name] = true end
    if over and over[name] ~= nil then return over[name] end
    for _, pa in ipairs(p.params) do
      if pa.name == name then
        if pa.default ~= nil then return pa.default end
        if pa.kind == "number" then return pa.lo or 1 end
        if pa.kind == "check" then return true end
        if pa.kind == "choice" then return pa.options and pa.options[1] end
        return "text"
      end
    end
    error(string.format("unknown param '%s'", tostring(name)), 2)
  end
  -- The course as the engine gives it (view.c): alternately a first session
  -- (nothing before it) and a third one, so that a rule meets both; the
  -- behavioural diff sets the session (over[SESSION_SET]) to meet every one
  -- (docs/safety.md U1).
  function view.course()
    local c = p.course
    if not c then return nil end
    if read then read[SESSION_SET] = true end
    exercise_course_n = exercise_course_n + 1
    local session = over and over[SESSION_SET]
    local days, before = over and over[DAYS_SET], over and over[MEASURE_SET]
    local first
    if session then first = session == 1
    elseif days or before then first = false
    else first = exercise_course_n % 2 == 1 end
    session = session or (first and 1 or 3)
    days = days or 3.5
    local function measure(name)
      if type(name) ~= "string" or not c.measure_names[name] then
        error(string.format("unknown course measure '%s'", tostring(name)), 2)
      end
      if first then return nil end
      for _, m in ipairs(c.measures) do
        if m.name == name then return before or (m.param and view.param(m.param)) or 10 end
      end
    end
    return readonly({ id = 1, session = session, sessions = c.sessions,
                      stage = (c.sessions and session > c.sessions) and "maintenance" or "induction",
                      previous = measure, first = measure, min_interval = c.min_interval,
                      days_since_last = (not first) and days or nil,
                      last_at = (not first) and (now - days * 86400000) or nil }, "course")
  end
  function view.phase() return cur.id end
  -- Time in the phase: 15 minutes, or what the behavioural diff sets
  -- (over[PHASE_TIME_SET], docs/safety.md U1); the visit's time moves with it.
  local in_phase = over and over[PHASE_TIME_SET]
  local shift = in_phase and (in_phase - 15 * 60000) or 0
  function view.elapsed()
    if read then read[PHASE_TIME_SET] = true end
    return now - EXERCISE_START + shift
  end
  function view.phase_elapsed()
    if read then read[PHASE_TIME_SET] = true end
    return in_phase or 15 * 60000
  end
  function view.now()
    if read then read[CLOCK_SET] = true end
    return over and over[CLOCK_SET] or now
  end
  function view.id() return 1 end
  return readonly(view, "visit")
end

-- Is r what a rule may return? nil, false, an outcome or a list of them.
local OUTCOMES = { alert = true, block = true, note = true }
local function bad_outcome(r)
  if r == nil or r == false then return nil end
  local function one(o)
    o = contents(o)
    return type(o) == "table" and OUTCOMES[rawget(o, "outcome")] and
           type(rawget(o, o.outcome == "block" and "reason" or "message")) == "string"
  end
  if type(r) ~= "table" then
    return string.format("returns %s %s, not an outcome: return v.alert.high(\"...\"), v.block(\"...\"), v.note(\"...\") or nothing",
                         type(r) == "string" and "the text" or "the " .. type(r), type(r) == "string" and ('"' .. r .. '"') or tostring(r))
  end
  if rawget(contents(r), "outcome") ~= nil then
    return not one(r) and "returns a table that is not an outcome (use v.alert.*, v.block or v.note)" or nil
  end
  for i = 1, #r do
    if not one(r[i]) then return "returns a list with something that is not an outcome (use v.alert.*, v.block or v.note)" end
  end
  return nil
end

-- H1 and M4 (docs/safety.md): an alert a rule raises again after an
-- acknowledgement only when the reading is worse, which the engine tells by the
-- alert's value and the rule's `worse`. An alert without a value, or a number
-- without `worse`, turns that off unseen: a complaint, unless the rule says
-- worse = false or the alert is one per reading (scope = "reading").
local function worse_complaint(r, res)
  -- An item's shorthand `rule =` cannot declare worse: not checked (docs/safety.md M4, residual).
  if type(res) ~= "table" or r.worse_off or r.shorthand then return nil end
  local list = rawget(contents(res), "outcome") ~= nil and { res } or res
  for i = 1, #list do
    local o = contents(list[i])
    if type(o) == "table" and rawget(o, "outcome") == "alert" and rawget(o, "scope") ~= "reading" then
      local value, id = rawget(o, "value"), rawget(o, "id")
      local which = id and string.format(" (id \"%s\")", tostring(id)) or ""
      if value == nil then
        return string.format("raises an alert without a value%s: a worse reading after an acknowledgement cannot be "
                             .. "announced (give the alert value = the reading and the rule worse = ..., or declare "
                             .. "worse = false if nothing can be worse)", which)
      elseif type(value) == "number" and r.worse == nil then
        return string.format("gives its alert a value%s but declares no worse: a worse reading after an "
                             .. "acknowledgement cannot be announced (declare worse = { higher = N } or "
                             .. "{ lower = N }, or worse = false)", which)
      end
    end
  end
  return nil
end

-- The synthetic visits' values: { variant, k, words }: every value at the low
-- end of its range, at the high end, and option k of each choice (k up to 12).
local function exercise_variants(p)
  local max_opts = 1
  for _, ph in ipairs(p.phases) do
    for _, it in ipairs(ph.items) do
      for _, f in ipairs(it.fields or {}) do
        if f.kind == "choice" and f.options then max_opts = math.max(max_opts, #f.options) end
      end
    end
  end
  local variants = { { "low", 1, "every value at the low end of its range" },
                     { "high", 1, "every value at the high end of its range" } }
  for k = 2, math.min(max_opts, 12) do
    variants[#variants + 1] = { k % 2 == 0 and "high" or "low", k, string.format("option %d of each choice", k) }
  end
  return variants
end

-- The cases to run: { label, fn } where fn() raises on a failure; the C side
-- calls each under its own budget.
function lang.exercise_cases()
  local p = last_compiled
  if not p then return {} end
  local cases = {}
  local variants = exercise_variants(p)
  -- A visit at phase `at`: earlier phases all recorded; this phase's items
  -- all recorded (full) or only `only` (its first reading, optional fields
  -- left out); the clock 15 minutes into the phase.
  local function state_for(at, variant, k, only)
    local state, now = {}, EXERCISE_START + at * 3600000
    for i = 1, at do
      for _, it in ipairs(p.phases[i].items) do
        local qid = p.phases[i].id .. "." .. it.id
        if i < at or not only then
          state[qid] = { { v = make_value(it, variant, k, false), at = now - 10 * 60000 },
                         { v = make_value(it, variant, k, false), at = now - 5 * 60000 } }
        elseif only[it] then
          state[qid] = { { v = make_value(it, variant, k, true), at = now - 60000 } }
        end
      end
    end
    return state, now
  end
  local function scenarios(at, only)
    local out = {}
    for _, v in ipairs(variants) do
      local st, now = state_for(at, v[1], v[2], nil)
      out[#out + 1] = { "everything recorded, " .. v[3], st, now }
    end
    if only then
      local st, now = state_for(at, "low", 1, only)
      out[#out + 1] = { "it is the first reading of the phase (optional fields left out)", st, now }
    else
      local st, now = state_for(at, "low", 1, {})
      out[#out + 1] = { "nothing is recorded yet in the phase", st, now }
    end
    return out
  end
  local function run(fn, what, at, scenario, args, check)
    cases[#cases + 1] = function()
      local key = (what.where or "") .. "\0" .. what.name
      if exercise_said[key] then return end
      exercise_said.field = false
      local view = synthetic_view(p, at, scenario[2], scenario[3])
      local a = args(view, scenario[2])
      local res = table.pack(xpcall(fn, failure, table.unpack(a, 1, a.n)))
      if not res[1] then
        exercise_said[key] = true
        -- A field that is not there was said already, where it is read.
        if exercise_said.field then return end
        local f = type(res[2]) == "table" and res[2] or { message = tostring(res[2]) }
        problem(f.where or what.where or "?:0", "%s fails when %s: %s", what.name, scenario[1], in_words(f.message))
        return
      end
      local complaint = check(res)
      if complaint then
        exercise_said[key] = true
        problem(what.where or "?:0", "%s %s (when %s)", what.name, complaint, scenario[1])
      end
    end
  end
  for at, ph in ipairs(p.phases) do
    local items = {}
    for _, it in ipairs(ph.items) do items[it.id] = it items[ph.id .. "." .. it.id] = it end
    for _, r in ipairs(ph.rules) do
      local only = {}
      for _, ref in ipairs(r.on) do
        local it = items[ref]
        if it then only[it] = true end
      end
      for _, sc in ipairs(scenarios(at, only)) do
        for _, ref in ipairs(r.on) do
          local it = items[ref]
          if it then
            run(r.check, { name = string.format("rule '%s'", r.id), where = r.where }, at, sc, function(view, state)
              local rs = state[ph.id .. "." .. it.id]
              return table.pack(rs and rs[#rs] and wrap(it, rs[#rs].v), view)
            end, function(res) return bad_outcome(res[2]) or worse_complaint(r, res[2]) end)
          end
        end
      end
    end
    -- The gate, and the check before the dose (AN13), each against every scenario.
    for _, g in ipairs({ { ph.gate, "the gate of phase '%s'", "the phase could never be left" },
                         { ph.before_dose, "before_dose of phase '%s'", "the dose could never be given" } }) do
      for _, sc in ipairs(g[1] and scenarios(at, nil) or {}) do
        run(g[1], { name = string.format(g[2], ph.id), where = ph.where }, at, sc,
            function(view) return table.pack(view) end, function(res)
              if type(res[2]) ~= "boolean" then
                return string.format("returns %s, not true or false: %s", tostring(res[2]), g[3])
              end
            end)
      end
    end
    for _, it in ipairs(ph.items) do
      if it.when then
        for _, sc in ipairs(scenarios(at, nil)) do
          run(it.when, { name = string.format("the condition (when) of item '%s'", it.id), where = it.where }, at, sc,
              function(view) return table.pack(view) end, function() return nil end)
        end
      end
      if it.compute then
        for _, sc in ipairs(scenarios(at, nil)) do
          run(it.compute, { name = string.format("compute of score '%s'", it.id), where = it.where }, at, sc,
              function(view, state)
                local src = it
                if it.from then src = items[it.from[1]] or it end
                local rs = state[src.phase .. "." .. src.id]
                local x = rs and rs[#rs] and rs[#rs].v or make_value(src, "low", 1, false)
                if type(x) == "table" and not src.scalar then
                  local copy = {}
                  for key, val in pairs(x) do copy[key] = val end
                  if src == it then copy.total = nil end
                  x = reading_proxy(copy, src)
                end
                return table.pack(x, view)
              end, function(res)
                if type(res[2]) ~= "number" then
                  return string.format("returns %s, not a number", tostring(res[2]))
                end
              end)
        end
      end
    end
  end
  return cases
end

-- Behaviour (docs/safety.md T3, T4): what each rule raises on synthetic
-- visits, so that `vigil protocol diff` compares two versions by what their
-- rules do, not by their text (a priority lowered inside a shared helper for
-- one phase changes no rule's code). The visits are lang.exercise_cases's
-- (earlier phases and this one recorded, every value at the low or the high
-- end of its range, or option k of each choice), and from each, the newest
-- reading of the rule's item with one field swept over its range (41 points
-- from end to end, every whole number of a range of at most 40, and each
-- value of the params the rule reads, their range's ends and one either side
-- of each; each option, each point of a score, true and false), so that a
-- limit that moves is crossed.
-- over: params set on every visit ({ name = value }), the rest at their
-- defaults. Returns the cases to call (each under its own budget), the
-- results { ["phase.rule\0what the visit holds"] = outcome code } (the
-- counts of high, medium and low alerts and whether it blocks, as
-- ((h * 64 + m) * 64 + l) * 2 + block; -1 when the rule failed) and the
-- params each rule read { ["phase.rule"] = { name = true } }, and the
-- results' keys in the order they were made. only: the rules to run
-- ({ ["phase.rule"] = true }), nil for all.
local function probes(f, near)
  if f.computed then return {} end
  local out = {}
  if f.kind == "number" then
    if f.points then
      for _, pt in ipairs(f.points) do out[#out + 1] = pt.value end
    elseif f.lo and f.hi then
      local lo, hi, seen = f.lo, f.hi, {}
      local function add(x)
        if x >= lo and x <= hi and not seen[x] then seen[x] = true out[#out + 1] = x end
      end
      if hi - lo <= 40 and lo == math.floor(lo) and hi == math.floor(hi) then
        for x = lo, hi do add(x) end
      else
        for i = 0, 40 do add(lo + (hi - lo) * i / 40) end
      end
      for _, x in ipairs(near) do add(x) end
      table.sort(out)
    end
  elseif f.kind == "choice" then
    for _, o in ipairs(f.options or {}) do out[#out + 1] = o end
  elseif f.kind == "check" then
    out[1], out[2] = true, false
  end
  return out
end

local function outcome_code(ok, res)
  if not ok then return -1 end
  local h, m, l, b = 0, 0, 0, 0
  local list = (type(res) == "table" and rawget(contents(res), "outcome") ~= nil) and { res } or res
  if type(list) ~= "table" then return 0 end
  for i = 1, #list do
    local o = contents(list[i])
    if type(o) == "table" then
      local kind, prio = rawget(o, "outcome"), rawget(o, "priority")
      if kind == "block" then b = 1
      elseif kind == "alert" then
        if prio == "high" then h = h + 1 elseif prio == "medium" then m = m + 1 elseif prio == "low" then l = l + 1 end
      end
    end
  end
  return ((math.min(h, 63) * 64 + math.min(m, 63)) * 64 + math.min(l, 63)) * 2 + b
end

local function shown(x)
  if type(x) == "string" then return string.format("%q", x) end
  if type(x) == "number" and x == math.floor(x) then return string.format("%d", x) end
  return tostring(x)
end

function lang.behaviour_cases(over, only)
  local p = last_compiled
  local cases, results, reads, order = {}, {}, {}, {}
  if not p then return cases, results, reads, order end
  local bases = exercise_variants(p)
  for at, ph in ipairs(p.phases) do
    local items = {}
    for _, it in ipairs(ph.items) do items[it.id] = it items[ph.id .. "." .. it.id] = it end
    for _, r in ipairs(ph.rules) do
      local name = ph.id .. "." .. r.id
      reads[name] = reads[name] or {}
      for _, ref in ipairs((only == nil or only[name]) and r.on or {}) do
        local it = items[ref]
        for bi, base in ipairs(it and bases or {}) do
          cases[#cases + 1] = function()
            local now = EXERCISE_START + at * 3600000
            local state = {}
            for i = 1, at do
              for _, other in ipairs(p.phases[i].items) do
                state[p.phases[i].id .. "." .. other.id] = {
                  { v = make_value(other, base[1], base[2], false), at = now - 10 * 60000 },
                  { v = make_value(other, base[1], base[2], false), at = now - 5 * 60000 } }
              end
            end
            local qid = ph.id .. "." .. it.id
            local newest = state[qid][2]
            local view = synthetic_view(p, at, state, now, over, reads[name])
            local function run(what)
              -- visit.course() alternates a first and a third session; here
              -- fixed by the visit (the low end's a first, the high end's a
              -- third), so that both versions meet the same one.
              exercise_course_n = bi % 2 == 1 and 0 or 1
              local key = name .. "\0" .. what
              if results[key] == nil then order[#order + 1] = key end
              results[key] = outcome_code(pcall(r.check, newest.v, view))
            end
            run(base[3])
            local others = base[3]:gsub("^every value", "every other value")
            -- The values of the params the rule read, and one either side.
            local near = {}
            for _, pa in ipairs(p.params) do
              if reads[name][pa.name] then
                local value = over and over[pa.name]
                if value == nil then value = pa.default end
                for _, x in ipairs({ value, pa.lo, pa.hi }) do
                  if type(x) == "number" then near[#near + 1], near[#near + 2], near[#near + 3] = x - 1, x, x + 1 end
                end
              end
            end
            -- The sweeps from the low and the high end only: options k of
            -- each choice are tried as whole visits, each option swept.
            for _, f in ipairs(base[2] == 1 and it.fields or {}) do
              -- Not `it.scalar and newest.v or ...`: a check's sampled false would fall through to
              -- indexing the boolean (a rule on a check item, ketamine_iv's infusion_time).
              local was
              if it.scalar then was = newest.v else was = newest.v[f.name] end
              for _, x in ipairs(probes(f, near)) do
                if it.scalar then newest.v = x else
                  newest.v[f.name] = x
                  if it.kind == "score" and type(x) == "number" and type(was) == "number" then
                    newest.v.total = newest.v.total - was + x
                  end
                end
                run(string.format("%s%s = %s, %s", qid, it.scalar and "" or ("." .. f.name), shown(x), others))
                if it.scalar then newest.v = was else
                  if it.kind == "score" and type(x) == "number" and type(was) == "number" then
                    newest.v.total = newest.v.total - x + was
                  end
                  newest.v[f.name] = was
                end
              end
            end
          end
        end
      end
    end
  end
  return cases, results, reads, order
end

function lang.problems() return problems end

lang.safe_tostring, lang.safe_format = safe_tostring, safe_format

return lang
