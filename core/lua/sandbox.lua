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

local host, lang = ...  -- host.read_source(relative path) -> text, chunkname | nil, error

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

-- string.dump must go from the real table too: ("").dump reaches it through
-- the string metatable. Lock that metatable so getmetatable("") reveals nothing.
string.dump = nil
getmetatable("").__metatable = false

local base = {}
for _, k in ipairs(ALLOWED) do base[k] = _G[k] end
for name, deny in pairs(LIBS) do
  local copy = {}
  for k, f in pairs(_G[name]) do
    if not deny[k] then copy[k] = f end
  end
  base[name] = lang.readonly(copy, name)
end

-- Globals are frozen: reading an unknown one is an error (it is a typo), and
-- writing one is an error (protocols keep their state in locals). Known names
-- are found in `base` directly, so the common path is a plain table lookup.
setmetatable(base, { __index = function(_, k)
  error(string.format("unknown global '%s'", tostring(k)), 2)
end, __metatable = false })
local ENV = setmetatable({}, {
  __index = base,
  __newindex = function(_, k)
    error(string.format("cannot set global '%s': globals are frozen (use a local)", tostring(k)), 2)
  end,
  __metatable = false,
})
base._G = ENV

-- Text chunks only: crafted bytecode can crash the VM.
base.load = function(chunk, name, _, env)
  return load(chunk, name, "t", env or ENV)
end

local loaded, sources = {}, {}
local LOADING = {}

local function load_file(relpath)
  local text, chunkname = host.read_source(relpath)
  if not text then return nil, chunkname end
  sources[#sources + 1] = { path = chunkname, text = text }
  return load(text, "@" .. chunkname, "t", ENV)
end

base.require = function(name)
  if name == "vigil" then return lang.module end
  if type(name) ~= "string" or not name:match("^[%a_][%w_]*$") and not name:match("^[%a_][%w_.]*[%w_]$")
     or name:find("..", 1, true) then
    error(string.format("require: bad module name %q", tostring(name)), 2)
  end
  local m = loaded[name]
  if m == LOADING then error(string.format("require \"%s\": circular require", name), 2) end
  if m ~= nil then return m end
  local fn, err = load_file((name:gsub("%.", "/")) .. ".lua")
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
