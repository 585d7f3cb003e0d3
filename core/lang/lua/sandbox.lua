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
--     visit...): their __pairs hands it to the loop as its state.

local host, lang = ...  -- host.read_source(relative path) -> text, chunkname | nil, error
                        -- host.embedded(name) -> the text of a library compiled into vigil

local sandbox = {}

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

local function range_error(fname, n)
  error(string.format("%s: %.0f elements is more than a protocol may handle at once (%d)", fname, n, MAX_RANGE), 3)
end

-- A wrapper must not show up in error messages: a C function's error names
-- the line that called it, which would be here. So wrappers call C through
-- pcall (the error then has no position) and raise it again at their caller.
-- An error that already says where it is (from the protocol's own callback)
-- goes on as it is.
local function raise(err, level)
  if type(err) ~= "string" or err:find("^[^\n]-:%d+: ") then error(err, 0) end
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
  local r = check(2, pcall(rep, s, n, sep))
  return r
end

-- Pattern matching backtracks inside one C call, where neither the budget nor
-- the clock can stop it: "a*" repeated 40 times never ends, and even one
-- repetition (".-b") tried at every position of a long subject is quadratic.
-- The work grows like (subject length) ^ (repetitions + 1) when the match may
-- start anywhere (^ anchors it: one fewer), so that is bounded before the
-- call. Plain finds (find's 4th argument) have no such cost.
local MAX_PATTERN_STEPS = 1e8
local function repetitions(p)
  local n = 0
  for i = 1, #p do
    local c = p:sub(i, i)
    local escaped = p:sub(i - 1, i - 1) == "%"
    if (c == "*" or c == "+" or c == "-" or c == "?") and not escaped then n = n + 1 end
    if c == "b" and escaped then n = n + 1 end -- %bxy scans for its closing pair
  end
  return n
end
local function guard_pattern(fname, subject, pattern)
  if type(subject) ~= "string" or type(pattern) ~= "string" then return end
  local q = repetitions(pattern)
  if q == 0 then return end
  local power = pattern:sub(1, 1) == "^" and q or q + 1
  if (#subject + 1.0) ^ power > MAX_PATTERN_STEPS then
    error(string.format("%s: pattern with %d repetitions is too costly on %d characters", fname, q, #subject), 3)
  end
end
-- tostring and string.format show a table's or a function's kind, never its
-- address, and %p is refused: lang.safe_tostring and lang.safe_format
-- (vigil.lua), which spec files get too. (Before the pattern functions are
-- wrapped: these patterns are linear, and an error here must not go through
-- string.format again.)
local safe_tostring, safe_format = lang.safe_tostring, lang.safe_format
string.format = function(fmt, ...)
  local r = check(2, pcall(safe_format, fmt, ...))
  return r
end

for _, fname in ipairs({ "find", "match", "gmatch", "gsub" }) do
  local f = string[fname]
  string[fname] = function(s, p, ...)
    if not (fname == "find" and select(2, ...)) then guard_pattern("string." .. fname, s, p) end
    return check(2, pcall(f, s, p, ...))
  end
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
    end
    local r = check(2, pcall(tbl.concat, t, sep, i, j))
    return r
  end,
  move = function(a1, f, e, t, a2)
    if span(f, e) > MAX_RANGE then range_error("table.move", span(f, e)) end
    local r = check(2, pcall(tbl.move, a1, f, e, t, a2))
    return r
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
    local r = t[pos]
    if pos < size then check(2, pcall(tbl.move, t, pos + 1, size, pos)) end
    t[pos < size and size or pos] = nil
    return r
  end,
  sort = function(t, comp)
    if type(t) ~= "table" then
      local r = check(2, pcall(tbl.sort, t, comp))
      return r
    end
    local n = #t
    if span(1, n) > MAX_RANGE then range_error("table.sort", span(1, n)) end
    if getmetatable(t) == nil then -- no __len: C sees the same n
      local r = check(2, pcall(tbl.sort, t, comp))
      return r
    end
    local a = check(2, pcall(tbl.move, t, 1, n, 1, {}))
    check(2, pcall(tbl.sort, a, comp))
    check(2, pcall(tbl.move, a, 1, n, 1, t))
  end,
}

local base = {}
for _, k in ipairs(ALLOWED) do base[k] = _G[k] end
base.tostring = safe_tostring
local OVERRIDE = { table = TABLE }
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
base.setmetatable = function(t, mt)
  if type(mt) == "table" and rawget(mt, "__gc") ~= nil then
    error("setmetatable: __gc is not allowed in a protocol (a finalizer would run outside the instruction budget)", 2)
  end
  local r = check(2, pcall(raw_setmetatable, t, mt))
  return r
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

function sandbox.sources() return sources end
sandbox.env = ENV

return sandbox
