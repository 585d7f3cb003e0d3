-- sandbox.lua: the environment that protocol code runs in.
--
-- Runs once per protocol state, trusted, before any protocol code. It builds
-- an allow-listed, read-only global environment and a `require` that loads
-- only the protocol's own files, as text. Everything not listed here (io, os,
-- debug, package, coroutine, dofile, loadfile, collectgarbage, print,
-- string.dump, math.random) simply does not exist for protocol code.
--
-- The C side adds what Lua cannot enforce on itself: the memory cap (a custom
-- allocator) and the instruction budget (a count hook) on every call.
--
-- The budget counts Lua instructions only, so anything that could run for a
-- long time inside one C function, or outside a call, is closed here:
--   * __gc finalizers are refused: they run whenever the collector decides,
--     also outside any call and its budget (and at engine shutdown);
--   * string.rep of an empty string, and the table functions that loop over a
--     range taken from their arguments or from a __len metamethod (concat,
--     insert, remove, move, sort), are bounded to MAX_RANGE elements;
--   * pairs() hides the raw table behind the read-only views (string, vigil,
--     visit...): their __pairs hands it to the loop as its state;
--   * the work of one C library call is charged to the budget (host.charge):
--     one instruction a byte it makes or walks, one an element it moves, so
--     that a loop of such calls is stopped by the budget as a loop of
--     instructions is, and by the entry's budget across rules (AC3, AC7).
--
-- Once the protocol has loaded, sandbox.freeze makes every table its
-- functions keep (their upvalues, the modules it required, and what those
-- reach) read-only, so that nothing one visit writes reaches another
-- (docs/security.md AM5).

local host, lang = ...  -- host.read_source(relative path) -> text, chunkname | nil, error
                        -- host.frozen_key: a light userdata, the key of a frozen table's contents in its metatable
                        -- host.kept_write(message): a write to a frozen table was refused
                        -- host.embedded(name) -> the text of a library compiled into vigil
                        -- host.check_time(): raises the time limit's error once the call is past it
                        -- host.stopped(): whether the current call has been stopped (time or budget)
                        -- host.charge(n): n instructions of work charged to the call's budget

local sandbox = {}

-- Trusted only: sandbox.freeze walks upvalues and metatables, and a frozen
-- table's write error names the protocol's line. debug itself is removed
-- from the state once this file has run (sandbox.c).
local getupvalue, dbg_getinfo, dbg_getmetatable = debug.getupvalue, debug.getinfo, debug.getmetatable
local raw_sub = string.sub
-- sandbox.freeze reads the bytecode of the functions a protocol keeps (AQ5),
-- before string.dump is hidden from protocol code below.
local dump, str_unpack = string.dump, string.unpack

local ALLOWED = { "assert", "error", "ipairs", "next", "pairs", "pcall", "select", "tonumber",
                  "tostring", "type", "xpcall", "rawequal", "rawlen", "rawget", "setmetatable",
                  "getmetatable", "_VERSION" }
local LIBS = {
  string = { dump = true },                 -- functions -> bytecode
  table = {},
  math = { random = true, randomseed = true }, -- protocols must be deterministic
  utf8 = {},
}

-- Most elements one C library call may walk through: far more than a protocol
-- ever needs, few enough that the call ends in milliseconds.
local MAX_RANGE = 1 << 20
-- Most values table.unpack may hand back at once:
-- a vararg of them is copied by one instruction wherever it is passed on.
local MAX_UNPACK = 10000

local function range_error(fname, n)
  error(string.format("%s: %.0f elements is more than a protocol may handle at once (%d)", fname, n, MAX_RANGE), 3)
end

-- A wrapper must not show up in error messages: a C function's error names
-- the line that called it, which would be here. So wrappers call C through
-- pcall (the error then has no position) and raise it again at their caller.
-- An error that already says where it is (from the protocol's own callback)
-- goes on as it is.
local raw_find = string.find -- this file's own searches, never bounded as a protocol's are
local check_time = host.check_time
local function raise(err, level)
  -- A call that failed may have run long too: string.rep of 20 MB under the
  -- 32 MiB cap fills its buffer (fresh pages) before the copy is refused, some
  -- 90 ms, and 25 such calls caught by the rule's pcall fit between two looks
  -- of the count hook (docs/security.md AB2). Past the limit, the limit's
  -- error is raised instead.
  check_time()
  if type(err) ~= "string" or raw_find(err, "^[^\n]-:%d+: ") then error(err, 0) end
  if err == "not enough memory" then err = "memory cap reached (not enough memory)" end
  error(err, level + 1)
end
-- check(level, pcall(f, ...)): f's results, or its error raised at `level`
-- above the function that calls check (never as a tail call: that would
-- take a level away).
local function check(level, ok, ...)
  if not ok then raise((...), level + 1) end
  return ...
end
-- timed(f(...)): f's results, once the clock says the call that gave them
-- has not run past the call's time limit. The count hook checks the clock
-- only between instructions, so one long C call (a search, a sort) followed
-- by a return would otherwise end a rule long after its limit without a word
-- (docs/security.md AA3): this raises the limit's error at the protocol's line.
local function timed(...)
  check_time()
  return ...
end

-- The work one C call does counts as instructions (docs/security.md AC7):
-- the count hook sees only instructions, and table.unpack of 400,000
-- elements, string.rep of 20 MB or a 2-million-step search is one call
-- between two of its looks. One instruction a byte made or walked (rep's
-- fresh pages take ~3 ns a byte, an instruction ~6 ns), one an element
-- moved, one a step of a search; charged from the arguments before the call
-- (so a refused call is charged too) or from the result after it. Counted,
-- never timed: the same call costs the same on every run (as U7's budget).
local charge = host.charge
local function charged(...) -- a string result's bytes, then the results
  local r = ...
  if type(r) == "string" then charge(#r) end
  return ...
end
local function count(x) return type(x) == "string" and #x or type(x) == "number" and #tostring(x) or 0 end

-- string.rep("", n) copies nothing n times: with n = math.maxinteger it never
-- ends, and neither memory nor the budget would stop it.
local rep = string.rep
string.rep = function(s, n, sep)
  if type(s) ~= "string" and type(s) ~= "number" then
    error(string.format("bad argument #1 to 'rep' (string expected, got %s)", type(s)), 2)
  elseif not math.tointeger(tonumber(n)) then
    error(string.format("bad argument #2 to 'rep' (%s)", tonumber(n) and "number has no integer representation"
          or "number expected, got " .. type(n)), 2)
  end
  if s == "" and (sep == nil or sep == "") and tonumber(n) > 1 then n = 1 end
  if tonumber(n) > 0 then charge((count(s) + count(sep) + 0.0) * tonumber(n)) end
  local r = timed(check(2, pcall(rep, s, n, sep)))
  return r
end

-- Pattern matching runs inside one C call, where neither the budget nor the
-- clock can stop it, so its cost is bounded before the call (docs/security.md
-- AA3). The matcher tries the pattern at every start of the subject (one
-- start when ^ anchors it); at each start it walks the pattern's bytes (a set
-- [...] is scanned byte by byte), and every item that may take any number of
-- characters (*, +, -, %b, a back reference %1..%9) multiplies the tries by
-- the subject's length, every ? by two. No repetition at all is still
-- subject x pattern: ("%a"):rep(300) .. "b" on a million "a" ran 9.5 s.
-- A find with no special character (or find's 4th argument) is a memory
-- search instead: at each start where the needle's first byte is, a compare
-- of its bytes, each far cheaper, and some 30 ns a start whatever the needle.
-- Measured on the shared 2-core machine (2026-12-06): 12 ns a pattern byte a
-- start with %a (("%a"):rep(300) .. "b" on 100,000 characters: 726 ms), 0.07
-- ns a compared byte, 29 ns a start ("ab" on 3e7 "a": 883 ms); so both limits
-- keep one call within some 25 ms, half the serving time limit.
local MAX_PATTERN_STEPS = 2e6
local MAX_PLAIN_BYTES = 4e7
local PLAIN_START = 32 -- a start of a plain search, in compared bytes
local raw_byte = string.byte

-- The index just past the single-character class that starts at p[i], as
-- lstrlib's classEnd reads it: %x, a set [...] (whose first byte, after an
-- optional ^, may be ]), or one byte.
local function class_end(p, i)
  local c = raw_byte(p, i)
  if c == 37 then return i + 2 end -- %
  if c ~= 91 then return i + 1 end -- not [
  i = i + 1
  if raw_byte(p, i) == 94 then i = i + 1 end -- ^
  repeat
    if i > #p then return i end -- malformed: the matcher refuses it
    local b = raw_byte(p, i)
    i = i + 1
    if b == 37 and i <= #p then i = i + 1 end -- %] and other escapes
  until raw_byte(p, i) == 93 -- ]
  return i + 1
end

-- How a pattern makes the matcher backtrack: whether ^ anchors it, how many
-- of its items may each span the whole subject, how many are optional (?).
local function pattern_shape(p, anchors)
  local n, i = #p, 1
  local anchored = anchors and raw_byte(p, 1) == 94
  if anchored then i = 2 end
  local spans, optional = 0, 0
  while i <= n do
    local c, d = raw_byte(p, i), raw_byte(p, i + 1)
    if c == 40 or c == 41 or (c == 36 and i == n) then -- ( ) and a final $
      i = i + 1
    elseif c == 37 and d == 98 then -- %bxy scans for its closing pair
      spans, i = spans + 1, i + 4
    elseif c == 37 and d == 102 then -- %f[set]
      i = class_end(p, i + 2)
    elseif c == 37 and d and d >= 48 and d <= 57 then -- %1: compares a capture
      spans, i = spans + 1, i + 2
    else
      local e = class_end(p, i)
      local q = raw_byte(p, e)
      if q == 42 or q == 43 or q == 45 then -- * + -
        spans, e = spans + 1, e + 1
      elseif q == 63 then -- ?
        optional, e = optional + 1, e + 1
      end
      i = e
    end
  end
  return anchored, spans, optional
end

-- The shapes of the short patterns seen, as gmatch (which has no anchor) and
-- the others read them: a rule calls the same few patterns again and again.
local shape_caches = { [true] = { shapes = {}, n = 0 }, [false] = { shapes = {}, n = 0 } }
local function cached_shape(pattern, anchors)
  local cache = shape_caches[anchors]
  local shape = cache.shapes[pattern]
  if shape then return shape end
  shape = { pattern_shape(pattern, anchors) }
  if #pattern <= 200 then
    if cache.n == 200 then cache.shapes, cache.n = {}, 0 end
    cache.shapes[pattern], cache.n = shape, cache.n + 1
  end
  return shape
end

local function too_costly(fname, subject, pattern, what)
  error(string.format("%s: pattern of %d bytes is too costly on %d characters (%s)", fname, #pattern,
                      #subject, what), 4)
end

-- plain: find's 4th argument, or a find pattern without special characters
-- (lstrlib's nospecials: it then searches memory, without the matcher).
local function guard_pattern(fname, subject, pattern, plain)
  if type(subject) == "number" then subject = tostring(subject) end
  if type(pattern) == "number" then pattern = tostring(pattern) end
  if type(subject) ~= "string" or type(pattern) ~= "string" then return end
  local n = #subject + 1.0
  if plain or (fname == "string.find" and not raw_find(pattern, "[%^%$%*%+%?%.%(%[%%%-]")) then
    if n * (#pattern + PLAIN_START) > MAX_PLAIN_BYTES then too_costly(fname, subject, pattern, "a plain search") end
    charge(n) -- a start a byte (~30 ns): at least a byte walked
    return
  end
  local starts = fname ~= "string.gmatch" and raw_byte(pattern, 1) == 94 and 1 or n
  if starts * #pattern > MAX_PATTERN_STEPS then too_costly(fname, subject, pattern, "tried at every character") end
  local shape = cached_shape(pattern, fname ~= "string.gmatch")
  local anchored, spans, optional = shape[1], shape[2], shape[3]
  local steps = (anchored and 1 or n) * n ^ spans * 2.0 ^ optional * math.max(#pattern, 1)
  if steps > MAX_PATTERN_STEPS then
    too_costly(fname, subject, pattern, string.format("%d repetitions%s", spans + optional,
                                                     anchored and "" or ", tried at every character"))
  end
  -- The bound of what it may cost, as instructions: a step is ~12 ns. (A
  -- search that ends early pays for the whole: the same on every run.)
  charge(steps)
end
-- tostring and string.format show a table's or a function's kind, never its
-- address, and %p is refused: lang.safe_tostring and lang.safe_format
-- (vigil.lua), which spec files get too. (Before the pattern functions are
-- wrapped: these patterns are linear, and an error here must not go through
-- string.format again.)
local safe_tostring, safe_format = lang.safe_tostring, lang.safe_format
string.format = function(fmt, ...)
  charge(select("#", ...)) -- its arguments, then the text it made
  local r = charged(timed(check(2, pcall(safe_format, fmt, ...))))
  return r
end

for _, fname in ipairs({ "find", "match", "gsub" }) do
  local f = string[fname]
  string[fname] = function(s, p, ...)
    guard_pattern("string." .. fname, s, p, fname == "find" and select(2, ...))
    return charged(timed(check(2, pcall(f, s, p, ...))))
  end
end
-- Each step of gmatch's loop is one more search from where the last ended.
-- The iterator keeps the subject and where the last search ended (in the C
-- closure `step`): sandbox.freeze refuses one kept from load (AQ4), knowing
-- it by where it is made (gmatch_iterator_at).
local gmatch = string.gmatch
local function gmatch_iterator(step, p)
  return function()
    charge(#p) -- each step is one more search (the guard charged the whole subject once)
    return timed(check(2, pcall(step)))
  end
end
local gmatch_iterator_at = dbg_getinfo(gmatch_iterator(nil, ""), "S")
string.gmatch = function(s, p, ...)
  guard_pattern("string.gmatch", s, p)
  local step = check(2, pcall(gmatch, s, p, ...))
  return gmatch_iterator(step, p)
end

-- The other string functions that walk or make a string in one C call:
-- the string walked, or (sub, byte) what they made.
for _, fname in ipairs({ "upper", "lower", "reverse" }) do
  local f = string[fname]
  string[fname] = function(s, ...)
    charge(count(s))
    local r = check(2, pcall(f, s, ...))
    return r
  end
end
local function results(...) -- one instruction a result, then the results
  charge(select("#", ...))
  return ...
end
local sub, byte, char = string.sub, string.byte, string.char
string.sub = function(...)
  local r = charged(check(2, pcall(sub, ...)))
  return r
end
string.byte = function(...) return results(check(2, pcall(byte, ...))) end
string.char = function(...)
  charge(select("#", ...))
  local r = check(2, pcall(char, ...))
  return r
end

-- string.dump must go from the real table too: ("").dump reaches it through
-- the string metatable. Lock that metatable so getmetatable("") reveals nothing.
-- (The real table is changed, not a copy, so that method calls see the same.)
string.dump = nil
getmetatable("").__metatable = false

-- The table functions that loop in C over a range. The range is checked
-- first; concat and move then get it as arguments. insert, remove and sort
-- would ask __len again in C (a protocol's __len can answer 1 to the check and
-- math.maxinteger to C), so they shift with table.move over the range checked
-- here, and sort sorts a plain copy when the table has a metatable.
local tbl = table
local function span(i, j)
  i, j = tonumber(i), tonumber(j)
  return i and j and (j + 0.0) - (i + 0.0) + 1 or 0
end
local function integer_arg(x, n, fname)
  local k = math.tointeger(tonumber(x))
  if not k then
    error(string.format("bad argument #%d to '%s' (number has no integer representation)", n, fname), 3)
  end
  return k
end
local TABLE = {
  concat = function(t, sep, i, j)
    if type(t) == "table" then
      if i == nil then i = 1 end
      if j == nil then j = #t end
      if span(i, j) > MAX_RANGE then range_error("table.concat", span(i, j)) end
      charge(span(i, j) * (1 + count(sep)))
    end
    local r = charged(timed(check(2, pcall(tbl.concat, t, sep, i, j))))
    return r
  end,
  move = function(a1, f, e, t, a2)
    if span(f, e) > MAX_RANGE then range_error("table.move", span(f, e)) end
    charge(span(f, e))
    local r = timed(check(2, pcall(tbl.move, a1, f, e, t, a2)))
    return r
  end,
  -- Its results are pushed in one C call, and passed on (f(table.unpack(t)))
  -- by one instruction each time: at most MAX_UNPACK of them (AC7).
  unpack = function(t, i, j)
    if i == nil then i = 1 end
    if j == nil and type(t) == "table" then j = #t end
    if span(i, j) > MAX_UNPACK then
      error(string.format("table.unpack: %.0f elements is more than a protocol may unpack at once (%d)",
                          span(i, j), MAX_UNPACK), 2)
    end
    charge(4 * span(i, j)) -- pushed, then copied again where they are passed (~25 ns an element)
    return timed(check(2, pcall(tbl.unpack, t, i, j)))
  end,
  insert = function(t, ...)
    if type(t) ~= "table" or select("#", ...) ~= 2 then
      local r = check(2, pcall(tbl.insert, t, ...))
      return r
    end
    local pos, x = ...
    local size = #t
    pos = integer_arg(pos, 2, "insert")
    if pos < 1 or pos - 1 > size then error("bad argument #2 to 'insert' (position out of bounds)", 2) end
    if span(pos, size) > MAX_RANGE then range_error("table.insert", span(pos, size)) end
    charge(span(pos, size))
    if pos <= size then check(2, pcall(tbl.move, t, pos, size, pos + 1)) end
    t[pos] = x
  end,
  remove = function(t, ...)
    if type(t) ~= "table" or (...) == nil then
      local r = check(2, pcall(tbl.remove, t, ...))
      return r
    end
    local size = #t
    local pos = integer_arg((...), 2, "remove")
    if pos ~= size and (pos < 1 or pos - 1 > size) then
      error("bad argument #2 to 'remove' (position out of bounds)", 2)
    end
    if span(pos, size) > MAX_RANGE then range_error("table.remove", span(pos, size)) end
    charge(span(pos, size))
    local r = t[pos]
    if pos < size then check(2, pcall(tbl.move, t, pos + 1, size, pos)) end
    t[pos < size and size or pos] = nil
    return r
  end,
  sort = function(t, comp)
    if type(t) ~= "table" then
      local r = timed(check(2, pcall(tbl.sort, t, comp)))
      return r
    end
    local n = #t
    if span(1, n) > MAX_RANGE then range_error("table.sort", span(1, n)) end
    charge(n * math.log(n + 1, 2)) -- its comparisons; a comparator's own instructions count themselves
    if getmetatable(t) == nil then -- no __len: C sees the same n
      local r = timed(check(2, pcall(tbl.sort, t, comp)))
      return r
    end
    local a = check(2, pcall(tbl.move, t, 1, n, 1, {}))
    timed(check(2, pcall(tbl.sort, a, comp)))
    check(2, pcall(tbl.move, a, 1, n, 1, t))
  end,
}

local base = {}
for _, k in ipairs(ALLOWED) do base[k] = _G[k] end

-- Lua calls xpcall's message handler where the error is raised: for the time
-- limit's error that is inside the count hook, where hooks are off, so a
-- handler that never returns would hold the server for good (docs/security.md
-- AB1). Once the call has been stopped the handler is not called and the
-- error goes on as it is; the hook raises it again at the next instruction.
-- This wrapper is the only code that runs there: a few instructions.
local raw_xpcall, stopped = xpcall, host.stopped
base.xpcall = function(f, msgh, ...)
  if type(msgh) ~= "function" then return raw_xpcall(f, msgh, ...) end -- xpcall's own error
  return raw_xpcall(f, function(e)
    if stopped() then return e end
    return msgh(e)
  end, ...)
end
base.tostring = safe_tostring
-- utf8's functions that walk a string or make one from their arguments.
local u8 = utf8
local UTF8 = {
  char = function(...)
    charge(select("#", ...))
    local r = check(2, pcall(u8.char, ...))
    return r
  end,
  len = function(s, ...)
    charge(count(s))
    return timed(check(2, pcall(u8.len, s, ...)))
  end,
  codepoint = function(...) return results(check(2, pcall(u8.codepoint, ...))) end,
}
local OVERRIDE = { table = TABLE, utf8 = UTF8 }
for name, deny in pairs(LIBS) do
  local copy = {}
  for k, f in pairs(_G[name]) do
    if not deny[k] then copy[k] = (OVERRIDE[name] or {})[k] or f end
  end
  base[name] = lang.readonly(copy, name)
end

-- The read-only views give their __pairs the raw table as the loop's state:
-- `local _, raw = pairs(string)` would hand out a writable string library (or
-- vigil module, or visit view). Here the state stays inside a closure.
local raw_pairs = pairs
base.pairs = function(t)
  if type(t) ~= "table" then
    local r = check(2, pcall(raw_pairs, t))
    return r
  end
  local f, s, c = raw_pairs(t)
  return function(_, k) return f(s, k) end, nil, c
end

-- A finalizer runs when the collector decides: in another rule's call, in the
-- engine's own collection after a failed call, or at shutdown, with no budget.
local raw_setmetatable = setmetatable
local stores = lang.frozen_stores -- frozen table -> its contents (below: sandbox.freeze)
local live_metatable
base.setmetatable = function(t, mt)
  if stores[mt] then mt = live_metatable(mt) end
  if type(mt) == "table" and rawget(mt, "__gc") ~= nil then
    error("setmetatable: __gc is not allowed in a protocol (a finalizer would run outside the instruction budget)", 2)
  end
  local r = check(2, pcall(raw_setmetatable, t, mt))
  return r
end

-- Tables kept between visits (docs/security.md AM5). One Lua state serves
-- every visit of a protocol version, so a table a rule's code closes over
-- (`local seen = {}` of its file, a module's table) would carry one patient's
-- entries into the next patient's alert. Once the protocol has loaded,
-- sandbox.freeze makes each such table read-only in place: its contents move
-- to a table of their own (lang.frozen_stores), which its metatable reads
-- (__index, __len, __pairs), and every write raises (__newindex): to a key
-- it had as to a new one, which a metatable on the filled table would not
-- catch (Lua asks __newindex for absent keys only). In place, not a proxy:
-- every alias of it (the module another file required) is the frozen table.
-- next, rawget and rawlen read the contents; so do the engine's raw reads of
-- an outcome (vigil__sandbox_push_contents) and the language's.
local FROZEN = host.frozen_key
local raw_next, raw_rawget, raw_rawlen = next, rawget, rawlen

-- "file:line: " of the innermost frame of the protocol's own files (a
-- library wrapper such as table.insert may be the one writing).
local function protocol_place()
  for level = 2, 200 do
    local info = dbg_getinfo(level, "Sl")
    if not info then break end
    if raw_byte(info.source, 1) == 64 and info.currentline > 0 then
      return raw_sub(info.source, 2) .. ":" .. info.currentline .. ": "
    end
  end
  return ""
end

local function key_text(k)
  if type(k) == "string" and #k <= 40 and raw_find(k, "^[%a_][%w_]*$") then return "'" .. k .. "'" end
  if math.type(k) == "integer" then return "[" .. k .. "]" end
  return "a " .. type(k) .. " key" -- never the key itself: it may be a patient's words
end

local kept_write = host.kept_write
local function frozen_write(t, k)
  local message = protocol_place() .. "cannot set " .. key_text(k) .. " in " .. raw_rawget(dbg_getmetatable(t), "name")
        .. ": the tables a protocol's code keeps are read-only once it has loaded, so that nothing one visit "
        .. "writes reaches the next patient's visit (docs/security.md AM5); use a local of the function, or the "
        .. "visit's entries (visit.value, visit.last)"
  kept_write(message)
  error(message, 0)
end
local function frozen_len(t) return #stores[t] end
local function frozen_pairs(t) return raw_next, stores[t], nil end

local function freeze_table(t, name)
  local store = {}
  for k, x in raw_next, t do store[k] = x end
  for k in raw_next, store do t[k] = nil end
  stores[t] = store
  raw_setmetatable(t, { __index = store, __newindex = frozen_write, __len = frozen_len, __pairs = frozen_pairs,
                        __metatable = false, name = name, [FROZEN] = store })
end

-- A view the language made (lang.readonly, v.alert, the globals): its writes
-- raise in the language's own code. Neither frozen nor walked. Known by
-- identity (lang.views), not by its shape (docs/security.md AT1).
local views = lang.views
local function language_view(t) return views[t] == true end
-- A Lua function of the protocol's own files, not of the language (whose
-- chunk names begin with "=": vigil.lua, this file, vigil/scores.lua).
local function protocol_code(f)
  if type(f) ~= "function" then return nil end
  local info = dbg_getinfo(f, "S")
  if info.what == "C" or raw_byte(info.source, 1) == 61 then return nil end
  return info
end
local short_sources = {} -- a function's chunk name -> its file, made once a file
local function short_source(source)
  local path = short_sources[source]
  if not path then
    path = raw_byte(source, 1) == 64 and raw_sub(source, 2) or source
    short_sources[source] = path
  end
  return path
end

-- The next, rawget and rawlen of protocol code: a frozen table's contents.
-- Tail calls, so that a bad argument is said at the protocol's line.
base.next = function(t, k)
  local s = stores[t]
  if s then return raw_next(s, k) end
  return raw_next(t, k)
end
base.rawget = function(t, k)
  local s = stores[t]
  if s then return raw_rawget(s, k) end
  return raw_rawget(t, k)
end
base.rawlen = function(t)
  local s = stores[t]
  if s then return raw_rawlen(s) end
  return raw_rawlen(t)
end

-- Lua reads a metatable's metamethods raw, and a frozen table is empty: one
-- given to setmetatable is replaced by a copy of its contents, made once,
-- whose getmetatable is the frozen table (so that the copy cannot be reached
-- and written to).
local live_metatables = {}
function live_metatable(mt)
  local m = live_metatables[mt]
  if m then return m end
  m = {}
  for k, x in raw_next, stores[mt] do m[k] = x end
  if m.__metatable == nil then m.__metatable = mt end
  live_metatables[mt] = m
  return m
end

-- Globals are frozen: reading an unknown one is an error (it is a typo), and
-- writing one is an error (protocols keep their state in locals). Known names
-- are found in `base` directly, so the common path is a plain table lookup.
setmetatable(base, { __index = function(_, k)
  error(string.format("unknown global '%s'", safe_tostring(k)), 2)
end, __metatable = false })
local ENV = setmetatable({}, {
  __index = base,
  __newindex = function(_, k)
    error(string.format("cannot set global '%s': globals are frozen (use a local)", safe_tostring(k)), 2)
  end,
  __metatable = false,
})
base._G = ENV
views[ENV] = true

-- Text chunks only: crafted bytecode can crash the VM.
-- An error in the loaded text names the protocol file and the line of the
-- load that compiled it, then the line within the text:
-- "protocol.lua:12: calc:1: attempt to ..." (docs/safety.md, H7).
base.load = function(chunk, name, _, env)
  local at = lang.where(2) -- "file:line" of load's caller, the whole path
  if at ~= "?:0" and (name == nil or type(name) == "string") then
    local label = name and name:gsub("^[=@]", "") or "loaded text"
    name = "@" .. at .. ": " .. label
  end
  return load(chunk, name, "t", env or ENV)
end

local loaded, sources = {}, {}
local module_paths = {} -- module name -> its file, as sources names it
local LOADING = {}

-- Returns the chunk, or nil, the error and whether the error already says
-- where it is (a syntax error names the file that has it).
local function load_file(relpath)
  local text, chunkname = host.read_source(relpath)
  if not text then return nil, chunkname, false end
  sources[#sources + 1] = { path = chunkname, text = text }
  local fn, err = load(text, "@" .. chunkname, "t", ENV)
  return fn, err, true
end

-- Libraries compiled into vigil, loaded on first use into this state (a
-- protocol that needs no scores pays nothing for them).
local EMBEDDED = { ["vigil.scores"] = "scores" }

base.require = function(name)
  if name == "vigil" then return lang.module end
  if EMBEDDED[name] then
    if loaded[name] == nil then
      local fn = assert(load(host.embedded(EMBEDDED[name]), "=" .. name:gsub("%.", "/") .. ".lua", "t", ENV))
      loaded[name] = fn(lang.deep_readonly)
    end
    return loaded[name]
  end
  if type(name) ~= "string" or not name:match("^[%a_][%w_]*$") and not name:match("^[%a_][%w_.]*[%w_]$")
     or name:find("..", 1, true) then
    error(string.format("require: bad module name %q", safe_tostring(name)), 2)
  end
  local m = loaded[name]
  if m == LOADING then error(string.format("require \"%s\": circular require", name), 2) end
  if m ~= nil then return m end
  local fn, err, placed = load_file((name:gsub("%.", "/")) .. ".lua")
  if not fn and placed then
    -- The problem is in the required file, at its own line; say where it
    -- was required from after it. (error("", 3) from inside pcall gives the
    -- position of require's caller.)
    local _, at = pcall(error, "", 3)
    error(string.format("%s (in require \"%s\" at %s)", err, name, (at:gsub(": $", ""))), 0)
  end
  if not fn then error(string.format("require \"%s\": %s", name, err), 2) end
  loaded[name] = LOADING
  module_paths[name] = sources[#sources].path
  local r = fn(name)
  if r == nil then r = true end
  loaded[name] = r
  return r
end

-- Runs the protocol's main file; returns its declaration tree.
function sandbox.run_main(relpath)
  local fn, err = load_file(relpath)
  if not fn then error(err, 0) end
  return fn()
end

-- Variables kept between visits (docs/security.md AQ5). A rule's
-- `last = text` assigns a local of its file, an upvalue: no table is written,
-- so freezing cannot see it, and the next patient's visit reads it. It is
-- found once, at load, in the bytecode of each function the protocol keeps:
-- nothing is added to a rule's call, and its speed is unchanged. Lua 5.4's
-- dump (string.dump(f, true), ldump.c) is a header, then the function: its
-- code, constants, upvalue descriptors, nested functions and (stripped)
-- debug lists. An OP_SETUPVAL instruction assigns the upvalue its B field
-- names. A nested function's upvalue is a local of the enclosing function's
-- call (instack 1: made afresh each call, fine) or one of its upvalues
-- (instack 0, idx): an assignment through such a chain reaches the kept
-- function's own upvalue. A dump this reader does not follow exactly (another
-- Lua) refuses the load: an unread dump must not pass as a clean one.
local OP_SETUPVAL = 10 -- lopcodes.h of 5.4; the opcode is the low 7 bits, B bits 16..23
local DUMP_HEADER = "\27Lua\x54\0\x19\x93\r\n\26\n\4\8\8" .. string.pack("=j", 0x5678) .. string.pack("=n", 370.5)
local UNREADABLE = {} -- raised by read_dump at anything it does not expect

-- The function of a dump: { line = its first line, sets = { B of each
-- SETUPVAL }, up = { { instack, idx } of each upvalue }, protos = {...} }.
local function read_dump(s)
  local pos = #DUMP_HEADER + 1
  local function byte()
    local b = raw_byte(s, pos)
    if not b then error(UNREADABLE) end
    pos = pos + 1
    return b
  end
  local function size() -- 7 bits a byte, the last one's high bit set
    local x = 0
    for _ = 1, 8 do
      local b = byte()
      x = x * 128 + (b & 127)
      if b >= 128 then return x end
    end
    error(UNREADABLE)
  end
  local function skip(n)
    pos = pos + n
    if pos > #s + 1 then error(UNREADABLE) end
  end
  local function text() -- a string: its size + 1, 0 for none
    local n = size()
    if n > 0 then skip(n - 1) end
  end
  local function proto()
    text() -- source
    local p = { line = size(), sets = {}, up = {}, protos = {} }
    size() -- lastlinedefined
    skip(3) -- numparams, is_vararg, maxstacksize
    local n = size()
    skip(4 * n)
    for i = pos - 4 * n, pos - 4, 4 do
      local ins = str_unpack("=I4", s, i)
      if ins & 127 == OP_SETUPVAL then p.sets[#p.sets + 1] = (ins >> 16) & 255 end
    end
    for _ = 1, size() do -- constants: a tag, then the value
      local tag = byte()
      if tag == 3 or tag == 19 then skip(8) -- an integer, a float
      elseif tag == 4 or tag == 20 then text() -- a short, a long string
      elseif tag ~= 0 and tag ~= 1 and tag ~= 17 then error(UNREADABLE) end -- nil, false, true
    end
    for i = 1, size() do
      p.up[i] = { instack = byte(), idx = byte() }
      byte() -- kind
    end
    for i = 1, size() do p.protos[i] = proto() end
    skip(size()) -- lineinfo
    for _ = 1, size() do size(); size() end -- abslineinfo
    for _ = 1, size() do text(); size(); size() end -- locvars
    for _ = 1, size() do text() end -- upvalue names
    return p
  end
  if raw_sub(s, 1, #DUMP_HEADER) ~= DUMP_HEADER then error(UNREADABLE) end
  local nup = byte()
  local p = proto()
  if pos ~= #s + 1 or nup ~= #p.up then error(UNREADABLE) end
  return p
end

-- The first upvalue of the kept function that p's code (or a function nested
-- in it) assigns, and the line of the function that does; map: p's upvalue
-- (0-based, as B counts) -> the kept function's (1-based), nil for a local of
-- a call.
local function assigned_upvalue(p, map)
  for _, b in ipairs(p.sets) do
    if b >= #p.up then error(UNREADABLE) end
    if map[b] then return map[b], p.line end
  end
  for _, q in ipairs(p.protos) do
    local m = {}
    for j, u in ipairs(q.up) do
      if u.instack == 0 then m[j - 1] = map[u.idx] end
    end
    local k, line = assigned_upvalue(q, m)
    if k then return k, line end
  end
end

-- Whether this Lua's dumps read as above: a probe that assigns its second
-- upvalue must show one SETUPVAL with B = 1, and nothing else.
local dump_understood
do
  local a, b = 0, 0
  local function probe(x)
    local y = a -- a is its upvalue 0, b its upvalue 1
    b = x
    return y
  end
  local ok, p = pcall(read_dump, dump(probe, true))
  if not ok and p ~= UNREADABLE then error(p, 0) end -- out of memory: the sandbox is not made
  dump_understood = ok and #p.sets == 1 and p.sets[1] == 1 and #p.up == 2 and p.up[2].instack == 1
end

-- The first of f's upvalues its code assigns, and the line of the function
-- that does; raises UNREADABLE when its dump is not read.
local function first_assignment(f)
  local p = read_dump(dump(f, true))
  local map = {}
  for i = 1, #p.up do map[i - 1] = i end
  return assigned_upvalue(p, map)
end

-- Refuses the load when f, a function of the protocol's files, assigns one of
-- its upvalues (file: f's, at: its first line).
local function check_assignments(f, file, at)
  local ok, k, line = pcall(first_assignment, f)
  if not dump_understood or not ok and k == UNREADABLE then
    error(file .. ":" .. at .. ": cannot read the bytecode of this function (not the Lua 5.4 this vigil was "
          .. "built for), so cannot check that it keeps nothing between visits (docs/security.md AQ5)", 0)
  end
  if not ok then error(k, 0) end -- out of memory
  if k then
    error(file .. ":" .. (line > 0 and line or at) .. ": a function kept for the visits assigns '" .. getupvalue(f, k)
          .. "', a variable of " .. file .. " kept between visits: one patient's value would reach the next "
          .. "patient's visit (docs/security.md AQ5); use a local of the function, or the visit's entries", 0)
  end
end

-- Once the protocol has loaded: makes every table its code keeps read-only
-- (see frozen_write above). roots are its functions the engine calls (rules,
-- gates, `when`, computes, calculations, hooks); the modules it required are
-- roots too (require hands them out at run time). Walked: the upvalues of
-- every function of the protocol's files reached, and the keys and values of
-- every table reached. A table with a metatable of its own cannot be frozen
-- so (its metamethods would no longer be its own): refused, at the function
-- that keeps it. Returns how many tables were frozen.
function sandbox.freeze(roots)
  -- Cheap, once per load: a table's name and place are made only when it is
  -- first reached, and each function's debug.getinfo is asked once.
  local seen, tables, names, wheres, queue, infos = {}, {}, {}, {}, {}, {}
  -- label: the upvalue's name when file is given (x is the upvalue of a
  -- function of file defined at line), else the whole name and at its place.
  -- holder: the name of the table x is in (for AQ4's refusal only).
  local function reach(x, label, file, at, holder)
    if seen[x] or stores[x] then return end
    local kind = type(x)
    local stateful -- AQ4: state outside Lua's tables, which freezing cannot reach
    if kind == "function" then
      local info = protocol_code(x)
      if info then
        seen[x] = true
        queue[#queue + 1], infos[#infos + 1] = x, info
        return
      end
      info = dbg_getinfo(x, "S")
      if info.source == gmatch_iterator_at.source and info.linedefined == gmatch_iterator_at.linedefined then
        stateful = "a library iterator (string.gmatch's)"
      elseif info.what == "C" and getupvalue(x, 1) ~= nil then
        stateful = "a library function with state of its own (a C closure)"
      elseif info.what ~= "C" then
        -- A closure of the language made at load may keep a function of the
        -- protocol's (pairs over a table whose __pairs returns it: the
        -- iterator the wrapper hands out is the language's): the Lua
        -- functions it keeps are walked, so that one of the protocol's is
        -- checked as if the protocol kept it (docs/security.md AT2). Not its
        -- tables nor its C functions: the language's own.
        seen[x] = true
        for i = 1, 255 do
          local uname, y = getupvalue(x, i)
          if uname == nil then break end
          if type(y) == "function" and dbg_getinfo(y, "S").what ~= "C" then reach(y, label, file, at, holder) end
        end
        return
      else
        return
      end
    elseif kind == "userdata" or kind == "thread" then
      stateful = "a " .. kind
    elseif kind ~= "table" then
      return
    end
    if stateful then
      error((file and file .. ":" .. at or at or "?") .. ": " .. (holder or file and "'" .. label .. "' of " .. file
            or "a function the engine calls") .. " keeps " .. stateful .. " made at load: its state would carry one "
            .. "visit's text into another's (docs/security.md AQ4); make it inside the function that uses it", 0)
    end
    local mt = dbg_getmetatable(x)
    if mt ~= nil and language_view(x) then return end
    local name = file and "'" .. label .. "' of " .. file or label
    local where = file and file .. ":" .. at or at
    if mt ~= nil then
      error(where .. ": " .. name .. " has a metatable: a table the protocol's code keeps is made read-only once "
            .. "it has loaded (docs/security.md AM5), and one with a metatable cannot be; make it inside the "
            .. "function that uses it", 0)
    end
    seen[x] = true
    tables[#tables + 1], names[#names + 1], wheres[#wheres + 1] = x, name, where
  end
  local q, s = 1, 1
  local function drain()
    while q <= #queue or s <= #tables do
      while s <= #tables do
        local t, name, where = tables[s], names[s], wheres[s]
        s = s + 1
        local inner = nil
        for k, x in raw_next, t do
          if type(k) == "table" or type(x) == "table" then
            inner = inner or (raw_find(name, "^a table in ") and name or "a table in " .. name)
          end
          reach(k, inner, nil, where, name)
          reach(x, inner, nil, where, name)
        end
      end
      while q <= #queue do
        local f, info = queue[q], infos[q]
        q = q + 1
        local file = short_source(info.source)
        check_assignments(f, file, info.linedefined)
        for i = 1, 255 do
          local uname, x = getupvalue(f, i)
          if uname == nil then break end
          reach(x, uname, file, info.linedefined)
        end
      end
    end
  end
  for i = 1, #roots do reach(roots[i]) end
  drain()
  local modules = {}
  for name in raw_next, loaded do
    if module_paths[name] then modules[#modules + 1] = name end
  end
  table.sort(modules)
  for _, name in ipairs(modules) do
    local path = module_paths[name]
    reach(loaded[name], "the module '" .. name .. "' (" .. path .. ")", nil, path .. ":1")
  end
  drain()
  for i = 1, #tables do freeze_table(tables[i], names[i]) end
  return #tables
end

function sandbox.sources() return sources end
sandbox.env = ENV

return sandbox
