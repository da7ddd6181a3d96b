
local py, mode = ...
local type, tostring, tonumber, error, select, unpack = type, tostring, tonumber, error, select, unpack
local next, rawget, rawset, rawequal = next, rawget, rawset, rawequal
local setmetatable, getmetatable, pcall, xpcall = setmetatable, getmetatable, pcall, xpcall
local loadstring, load, setfenv, newproxy = loadstring, load, setfenv, newproxy
local sformat, sbyte, schar, ssub, sfind, sgsub, srep, slower =
  string.format, string.byte, string.char, string.sub, string.find, string.gsub, string.rep,
  string.lower
local tconcat = table.concat
local floor, huge = math.floor, math.huge
local sethook, getinfo, raw_getmetatable = debug.sethook, debug.getinfo, debug.getmetatable
local INTERNAL = "=[rcsim]"
local wrap, yield = coroutine.wrap, coroutine.yield
local function pack(...) return {n = select("#", ...), ...} end

-- Library functions as C functions. In Redis every API function is C, so a script's
-- "return redis.call(...)" keeps the script's frame on the stack (Lua only eliminates tail
-- calls into Lua functions), and an error there reports the script's line. A Lua function
-- would be tail-called and erase that frame, so each API function is the resumer of a coroutine
-- (coroutine.wrap, a C function) running the Lua implementation. The implementation raises
-- without position; like luaL_error, the resumer prefixes a string error with the caller's
-- position ("user_script:1: ") and passes tables through. An error kills the coroutine, so a
-- fresh one replaces it in its table (a local alias of the old one then stays dead).
local function install(owner, key, impl)
  local function body(...)
    local args = pack(...)
    while true do
      local r = pack(pcall(impl, unpack(args, 1, args.n)))
      if not r[1] then
        install(owner, key, impl)
        local e = r[2]
        -- A C function the shim called positioned its error in the shim: the resumer will
        -- position it in the script instead.
        if type(e) == "string" then e = sgsub(e, "^%[rcsim%]:%d+: ", "") end
        error(e, 0)
      end
      args = pack(yield(unpack(r, 2, r.n)))
    end
  end
  owner[key] = wrap(body)
end

local function install_all(t, skip)
  local names = {}
  for k, v in next, t do
    if type(v) == "function" and not (skip and skip[k]) then names[#names + 1] = k end
  end
  for i = 1, #names do install(t, names[i], t[names[i]]) end
  return t
end

-- ---------------------------------------------------------------------------------------------
-- Read-only proxies
-- ---------------------------------------------------------------------------------------------
local RO = "Attempt to modify a readonly table"
local real_of = {}      -- proxy -> the table it stands for
local proxies = {}      -- every proxy, wiped after each run
local function ro_newindex() error(RO, 2) end

local function lock_meta(meta)
  -- getmetatable(proxy) returns a read-only view of the metatable, as Redis locks metatables.
  local view = {}
  real_of[view] = meta
  proxies[#proxies + 1] = view
  setmetatable(view, {__index = meta, __newindex = ro_newindex, __metatable = false})
  meta.__metatable = view
end

local function readonly(t, index)
  local p = {}
  local meta = {__index = index or t, __newindex = ro_newindex}
  real_of[p] = t
  proxies[#proxies + 1] = p
  lock_meta(meta)
  setmetatable(p, meta)
  return p
end

local GLOBAL_MISSING = "Script attempted to access nonexistent global variable '"
local function missing_global(k)
  local tk = type(k)
  if tk ~= "string" and tk ~= "number" then
    error("Second argument to luaProtectedTableError must be a string or number", 3)
  end
  error(GLOBAL_MISSING .. tostring(k) .. "'", 3)
end

-- A read-only table that also refuses to read a missing key (Redis's luaSetErrorMetatable).
local function strict(backing)
  local function index(_, k)
    local v = backing[k]
    if v == nil then missing_global(k) end
    return v
  end
  return readonly(backing, index)
end

local function typename_at(n, ...)
  if select("#", ...) < n then return "no value" end
  return type((select(n, ...)))
end

-- luaL_argerror, raised without a position: every shim runs behind a C resumer (see install).
local function argerror(n, fname, msg)
  error(sformat("bad argument #%d to '%s' (%s)", n, fname, msg), 0)
end

local function check_table(fname, n, ...)
  if type((select(n, ...))) ~= "table" or select("#", ...) < n then
    argerror(n, fname, "table expected, got " .. typename_at(n, ...))
  end
end

local function w_rawget(...)
  check_table("rawget", 1, ...)
  if select("#", ...) < 2 then argerror(2, "rawget", "value expected") end
  local t, k = ...
  return rawget(real_of[t] or t, k)
end

local function w_rawset(...)
  check_table("rawset", 1, ...)
  if select("#", ...) < 2 then argerror(2, "rawset", "value expected") end
  if select("#", ...) < 3 then argerror(3, "rawset", "value expected") end
  local t, k, v = ...
  if real_of[t] then error({err = "ERR " .. RO}) end
  return rawset(t, k, v)
end

local function w_next(...)
  check_table("next", 1, ...)
  local t, k = ...
  local r = pack(pcall(next, real_of[t] or t, k))
  if not r[1] then error({err = "ERR " .. r[2]}) end   -- luaG_runerror: no position
  return unpack(r, 2, r.n)
end

-- The iterator pairs() hands out for a proxy: plain, it runs once per loop step.
local function proxy_next(t, k)
  return next(real_of[t] or t, k)
end

local function w_pairs(...)
  check_table("pairs", 1, ...)
  local t = ...
  if real_of[t] then return proxy_next, t, nil end
  return next, t, nil
end

local function w_setmetatable(...)
  check_table("setmetatable", 1, ...)
  local t, mt = ...
  local tm = type(mt)
  if tm ~= "nil" and tm ~= "table" then argerror(2, "setmetatable", "nil or table expected") end
  if real_of[t] then error({err = "ERR " .. RO}) end
  local current_meta = raw_getmetatable(t)
  if current_meta and rawget(current_meta, "__metatable") ~= nil then
    error("cannot change a protected metatable", 0)
  end
  return setmetatable(t, mt)
end

local function wipe_proxies()
  for i = 1, #proxies do
    local p = proxies[i]
    if next(p) ~= nil then
      for k in next, p do rawset(p, k, nil) end
    end
  end
end

-- ---------------------------------------------------------------------------------------------
-- Error handler (Redis's __redis__err__handler, seen through our shims)
-- ---------------------------------------------------------------------------------------------
local function frame(level)
  local i = getinfo(level, "nSl")
  while i and i.source == INTERNAL do
    level = level + 1
    i = getinfo(level, "nSl")
  end
  return i, level
end

local function err_handler(err)
  local i, level = frame(3)
  if i and i.what == "C" then i = frame(level + 1) end
  if type(err) ~= "table" then err = {err = "ERR " .. tostring(err)} end
  if i then
    rawset(err, "source", i.source)
    rawset(err, "line", i.currentline)
  end
  return err
end

-- Redis's luaPushErrorBuff: "-CODE msg" keeps its code, anything else gets "ERR".
local function error_table(text)
  local code, msg
  if ssub(text, 1, 1) == "-" then
    local sp = sfind(text, " ", 1, true)
    if sp then
      code, msg = ssub(text, 2, sp - 1), ssub(text, sp + 1)
    else
      code, msg = "ERR", ssub(text, 2)
    end
  else
    code, msg = "ERR", text
  end
  msg = sgsub(sgsub(msg, "^[\r\n]+", ""), "[\r\n]+$", "")
  return {err = code .. " " .. msg}
end

-- ---------------------------------------------------------------------------------------------
-- Lua value -> RESP (luaReplyToRedisReply)
-- ---------------------------------------------------------------------------------------------
local MIN_INT = "-9223372036854775808"
local TWO63 = 2 ^ 63

local function int_text(n)
  if n ~= n or n >= TWO63 or n < -TWO63 then return MIN_INT end
  return sformat("%d", n)
end

local function cstr(s)  -- C string semantics: stops at the first NUL
  local z = sfind(s, "\0", 1, true)
  if z then return ssub(s, 1, z - 1) end
  return s
end

local function spaces(s) return (sgsub(s, "[\r\n]", " ")) end

-- addReplyErrorFormat("-%s", msg): trimmed, inner newlines as spaces.
local function error_line(msg)
  local s = "-" .. cstr(msg)
  s = sgsub(s, "[\r\n]+$", "")
  return spaces(s)
end

local function double_text(d)
  if d == huge then return "inf" end
  if d == -huge then return "-inf" end
  return sformat("%.17g", d)
end

local encode

local function encode_table(v, out, c3, s3)
  local e = rawget(v, "err")
  if type(e) == "string" then
    out[#out + 1] = error_line(e) .. "\r\n"
    return
  end
  local ok = rawget(v, "ok")
  if type(ok) == "string" then
    out[#out + 1] = "+" .. spaces(cstr(ok)) .. "\r\n"
    return
  end
  local d = rawget(v, "double")
  if type(d) == "number" then
    local s = double_text(d)
    out[#out + 1] = c3 and ("," .. s .. "\r\n") or ("$" .. #s .. "\r\n" .. s .. "\r\n")
    return
  end
  local big = rawget(v, "big_number")
  if type(big) == "string" then
    big = spaces(big)
    out[#out + 1] = c3 and ("(" .. big .. "\r\n") or ("$" .. #big .. "\r\n" .. big .. "\r\n")
    return
  end
  local vs = rawget(v, "verbatim_string")
  if type(vs) == "table" then
    local fmt, str = rawget(vs, "format"), rawget(vs, "string")
    if type(fmt) == "string" and type(str) == "string" then
      if c3 then
        fmt = ssub(cstr(fmt) .. "   ", 1, 3)
        out[#out + 1] = "=" .. (#str + 4) .. "\r\n" .. fmt .. ":" .. str .. "\r\n"
      else
        out[#out + 1] = "$" .. #str .. "\r\n" .. str .. "\r\n"
      end
      return
    end
  end
  local map = rawget(v, "map")
  if type(map) == "table" then
    local at = #out + 1
    out[at] = false
    local n = 0
    for k, val in next, map do
      encode(k, out, c3, s3)
      encode(val, out, c3, s3)
      n = n + 1
    end
    out[at] = c3 and ("%" .. n .. "\r\n") or ("*" .. (2 * n) .. "\r\n")
    return
  end
  local set = rawget(v, "set")
  if type(set) == "table" then
    local at = #out + 1
    out[at] = false
    local n = 0
    for k in next, set do
      encode(k, out, c3, s3)
      n = n + 1
    end
    out[at] = c3 and ("~" .. n .. "\r\n") or ("*" .. n .. "\r\n")
    return
  end
  local at = #out + 1
  out[at] = false
  local j = 1
  while true do
    local item = rawget(v, j)
    if item == nil then break end
    encode(item, out, c3, s3)
    j = j + 1
  end
  out[at] = "*" .. (j - 1) .. "\r\n"
end

encode = function(v, out, c3, s3)
  local t = type(v)
  if t == "string" then
    out[#out + 1] = "$" .. #v .. "\r\n" .. v .. "\r\n"
  elseif t == "number" then
    out[#out + 1] = ":" .. int_text(v) .. "\r\n"
  elseif t == "boolean" then
    if s3 then
      if c3 then
        out[#out + 1] = v and "#t\r\n" or "#f\r\n"
      else
        out[#out + 1] = v and ":1\r\n" or ":0\r\n"
      end
    elseif v then
      out[#out + 1] = ":1\r\n"
    else
      out[#out + 1] = c3 and "_\r\n" or "$-1\r\n"
    end
  elseif t == "table" then
    encode_table(v, out, c3, s3)
  else
    out[#out + 1] = c3 and "_\r\n" or "$-1\r\n"
  end
end

-- The reply of a whole script: ("e", text) for a top-level error table, else ("r", resp).
local function reply_of(v, c3, s3)
  if type(v) == "table" then
    local e = rawget(v, "err")
    if type(e) == "string" then
      local msg = v.err
      return "e", error_line(type(msg) == "string" and msg or tostring(msg))
    end
  end
  local out = {}
  encode(v, out, c3, s3)
  return "r", tconcat(out)
end

-- ---------------------------------------------------------------------------------------------
-- RESP -> Lua value (redisProtocolToLuaType)
-- ---------------------------------------------------------------------------------------------
local parse

local function parse_at(s, pos)
  local kind = sbyte(s, pos)
  local eol = sfind(s, "\r\n", pos, true)
  local line = ssub(s, pos + 1, eol - 1)
  local after = eol + 2
  if kind == 36 then -- $
    local n = tonumber(line)
    if n < 0 then return false, after end
    return ssub(s, after, after + n - 1), after + n + 2
  elseif kind == 58 then -- :
    return tonumber(line), after
  elseif kind == 43 then -- +
    return {ok = line}, after
  elseif kind == 45 then -- -
    local t = error_table("-" .. line)
    t.ignore_error_stats_update = true
    return t, after
  elseif kind == 42 then -- *
    local n = tonumber(line)
    if n < 0 then return false, after end
    local t = {}
    for i = 1, n do
      local v
      v, after = parse_at(s, after)
      t[i] = v
    end
    return t, after
  elseif kind == 37 then -- %
    local m = {}
    for _ = 1, tonumber(line) do
      local k, v
      k, after = parse_at(s, after)
      v, after = parse_at(s, after)
      m[k] = v
    end
    return {map = m}, after
  elseif kind == 126 then -- ~
    local m = {}
    for _ = 1, tonumber(line) do
      local k
      k, after = parse_at(s, after)
      m[k] = true
    end
    return {set = m}, after
  elseif kind == 95 then -- _
    return nil, after
  elseif kind == 35 then -- #
    return line == "t", after
  elseif kind == 44 then -- ,
    return {double = tonumber(line)}, after
  elseif kind == 40 then -- (
    return {big_number = line}, after
  elseif kind == 61 then -- =
    local n = tonumber(line)
    local body = ssub(s, after, after + n - 1)
    return {verbatim_string = {format = ssub(body, 1, 3), string = ssub(body, 5)}}, after + n + 2
  elseif kind == 124 then -- | (attributes are dropped)
    for _ = 1, tonumber(line) do
      local _k, _v
      _k, after = parse_at(s, after)
      _v, after = parse_at(s, after)
    end
    return parse_at(s, after)
  end
  error("rcsim: unexpected reply byte " .. tostring(kind))
end

parse = function(s) return (parse_at(s, 1)) end

-- ---------------------------------------------------------------------------------------------
-- The redis.* API
-- ---------------------------------------------------------------------------------------------
local script_resp3 = false
local loading = nil      -- the library being loaded (function mode), or nil

local function call_args(...)
  local n = select("#", ...)
  if n == 0 then return nil, "Please specify at least one argument for this redis lib call" end
  local args = {...}
  for i = 1, n do
    local a = args[i]
    local t = type(a)
    if t == "number" then
      args[i] = sformat("%.17g", a)
    elseif t ~= "string" then
      return nil, "Lua redis lib command arguments must be strings or integers"
    end
  end
  return args, n
end

local py_call = py.call
local function redis_command(raise, ...)
  local args, n = call_args(...)
  if not args then
    local e = error_table(n)
    if raise then error(e) end
    return e
  end
  local kind, value = py_call(script_resp3, unpack(args, 1, n))
  if kind == 0 then return value end
  if kind == 2 then
    local e = error_table(value)
    e.ignore_error_stats_update = true
    if raise then error(e) end
    return e
  end
  local r = parse(value)
  if raise and sbyte(value, 1) == 45 then error(r) end
  return r
end

local function r_call(...) return redis_command(true, ...) end
local function r_pcall(...) return redis_command(false, ...) end

local function r_error_reply(...)
  local e = ...
  if select("#", ...) ~= 1 or type(e) ~= "string" then
    return error_table("wrong number or type of arguments")
  end
  if ssub(e, 1, 1) ~= "-" then e = "-" .. e end
  return error_table(cstr(e))
end

local function r_status_reply(...)
  local s = ...
  if select("#", ...) ~= 1 or type(s) ~= "string" then
    return error_table("wrong number or type of arguments")
  end
  return {ok = s}
end

local function r_sha1hex(...)
  if select("#", ...) ~= 1 then error(error_table("wrong number of arguments")) end
  local s = ...
  local t = type(s)
  if t == "number" then s = tostring(s) elseif t ~= "string" then s = "" end
  return py.sha1hex(s)
end

local function r_log(...)
  local argc = select("#", ...)
  if argc < 2 then error(error_table("redis.log() requires two arguments or more.")) end
  local level = tonumber((...))
  if level == nil then error(error_table("First argument must be a number (log level).")) end
  level = level >= 0 and floor(level) or -floor(-level)
  if level < 0 or level > 3 then error(error_table("Invalid debug level.")) end
  local parts = {}
  for j = 2, argc do
    local s = select(j, ...)
    local t = type(s)
    if t == "string" or t == "number" then
      if j ~= 2 then parts[#parts + 1] = " " end
      parts[#parts + 1] = tostring(s)
    end
  end
  py.log(level, tconcat(parts))
end

local function r_setresp(...)
  if select("#", ...) ~= 1 then error(error_table("redis.setresp() requires one argument.")) end
  local n = tonumber((...)) or 0
  n = n >= 0 and floor(n) or -floor(-n)
  if n ~= 2 and n ~= 3 then error(error_table("RESP version must be 2 or 3.")) end
  script_resp3 = (n == 3)
end

local function r_set_repl(...)
  if select("#", ...) ~= 1 then error(error_table("redis.set_repl() requires two arguments.")) end
  local flags = tonumber((...)) or 0
  flags = flags >= 0 and floor(flags) or -floor(-flags)
  if flags < 0 or flags > 3 then
    error(error_table("Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE."))
  end
end

local function r_acl_check_cmd(...)
  local args, n = call_args(...)
  if not args then error(error_table(n)) end
  local known = py.command_exists(unpack(args, 1, n))
  if not known then error(error_table("Invalid command passed to redis.acl_check_cmd()")) end
  return true
end

local function r_register_function(...)
  if not loading then
    error(error_table("redis.register_function can only be called on FUNCTION LOAD command"))
  end
  local argc = select("#", ...)
  if argc < 1 or argc > 2 then
    error(error_table("wrong number of arguments to redis.register_function"))
  end
  local name, callback, desc, flags
  if argc == 2 then
    name, callback = ...
    local tn = type(name)
    if tn == "number" then name = tostring(name) elseif tn ~= "string" then
      error(error_table("first argument to redis.register_function must be a string"))
    end
    if type(callback) ~= "function" then
      error(error_table("second argument to redis.register_function must be a function"))
    end
    flags = {}
  else
    local named = ...
    if type(named) ~= "table" then
      error(error_table("calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments)."))
    end
    flags = {}
    for k, v in next, named do
      local tk = type(k)
      if tk ~= "string" and tk ~= "number" then
        error(error_table("named argument key given to redis.register_function is not a string"))
      end
      local key = slower(tostring(k))
      local tv = type(v)
      if key == "function_name" then
        if tv ~= "string" and tv ~= "number" then
          error(error_table("function_name argument given to redis.register_function must be a string"))
        end
        name = tostring(v)
      elseif key == "description" then
        if tv ~= "string" and tv ~= "number" then
          error(error_table("description argument given to redis.register_function must be a string"))
        end
        desc = tostring(v)
      elseif key == "callback" then
        if tv ~= "function" then
          error(error_table("callback argument given to redis.register_function must be a function"))
        end
        callback = v
      elseif key == "flags" then
        if tv ~= "table" then
          error(error_table("flags argument to redis.register_function must be a table representing function flags"))
        end
        local j = 1
        while true do
          local f = v[j]
          if f == nil then break end
          local tf = type(f)
          if tf ~= "string" and tf ~= "number" then error(error_table("unknown flag given")) end
          flags[#flags + 1] = tostring(f)
          j = j + 1
        end
      else
        error(error_table("unknown argument given to redis.register_function"))
      end
    end
    if not name then error(error_table("redis.register_function must get a function name argument")) end
    if not callback then error(error_table("redis.register_function must get a callback argument")) end
  end
  local err = py.register_function(name, desc, unpack(flags))
  if err then error(error_table(err)) end
  loading[#loading + 1] = {name, callback}
end

local function r_true() return true end
local function r_false() return false end
local function r_nothing() end

local redis_api = {
  call = r_call, pcall = r_pcall,
  log = r_log, LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
  REDIS_VERSION_NUM = py.version_num, REDIS_VERSION = py.version,
  setresp = r_setresp, sha1hex = r_sha1hex,
  error_reply = r_error_reply, status_reply = r_status_reply,
  set_repl = r_set_repl, REPL_NONE = 0, REPL_AOF = 1, REPL_SLAVE = 2, REPL_REPLICA = 2,
  REPL_ALL = 3,
  acl_check_cmd = r_acl_check_cmd,
}

-- pcall as Redis 7 replaces it: an error table with an "err" field is returned as that field.
-- (Not behind a resumer: the function it calls must run in the script's own coroutine.)
local function w_pcall(...)
  -- Redis's luaRedisPcall then calls its own placeholder (true) with the arguments.
  if select("#", ...) == 0 then return false, "attempt to call a boolean value" end
  local r = pack(pcall(...))
  if not r[1] then
    local e = r[2]
    if type(e) == "table" then
      local m = e.err
      local tm = type(m)
      if tm == "string" or tm == "number" then e = m end
    end
    return false, e
  end
  return unpack(r, 1, r.n)
end

-- math.random / math.randomseed on Redis's own rand48, the same sequence on every platform.
local MAX = 2147483647
local function checkint(n, fname, ...)
  local v = select(n, ...)
  local num = tonumber(v)
  if select("#", ...) < n or num == nil then
    argerror(n, fname, "number expected, got " .. typename_at(n, ...))
  end
  return num >= 0 and floor(num) or -floor(-num)
end

local function m_random(...)
  local r = (py.lrand48() % MAX) / MAX
  local argc = select("#", ...)
  if argc == 0 then return r end
  if argc == 1 then
    local u = checkint(1, "random", ...)
    if u < 1 then argerror(1, "random", "interval is empty") end
    return floor(r * u) + 1
  end
  if argc == 2 then
    local l = checkint(1, "random", ...)
    local u = checkint(2, "random", ...)
    if l > u then argerror(2, "random", "interval is empty") end
    return floor(r * (u - l + 1)) + l
  end
  error("wrong number of arguments", 0)
end

local function m_randomseed(...)
  py.srand48(checkint(1, "randomseed", ...))
end

-- Python-implemented libraries report errors as a first result; raise them as luaL_error does.
local function libwrap(f)
  return function(...)
    local r = pack(f(...))
    if r[1] ~= nil then error(r[1], 0) end
    return unpack(r, 2, r.n)
  end
end

local function wrap_lib(fns)
  local t = {}
  for name, f in next, fns do t[name] = libwrap(f) end
  return t
end

-- ---------------------------------------------------------------------------------------------
-- The globals
-- ---------------------------------------------------------------------------------------------
local math_lib = {}
for k, v in next, math do math_lib[k] = v end
math_lib.random, math_lib.randomseed = m_random, m_randomseed

local cjson_lib, cmsgpack_lib = py.build_cjson, py.build_cmsgpack
local bit_lib = wrap_lib(py.bit)
local struct_lib = wrap_lib(py.struct)

local base = {
  _VERSION = _VERSION, assert = assert, collectgarbage = collectgarbage, error = error,
  gcinfo = gcinfo, getmetatable = getmetatable, ipairs = ipairs, load = load,
  loadstring = loadstring, next = w_next, pairs = w_pairs, pcall = w_pcall, rawequal = rawequal,
  rawget = w_rawget, rawset = w_rawset, select = select, setmetatable = w_setmetatable,
  tonumber = tonumber, tostring = tostring, type = type, unpack = unpack, xpcall = xpcall,
}

local G = {}   -- backing table of the script-visible globals
for k, v in next, base do G[k] = v end
local run_api = {}
for k, v in next, redis_api do run_api[k] = v end
if mode == "eval" then
  run_api.breakpoint, run_api.debug, run_api.replicate_commands = r_false, r_nothing, r_true
end
install_all(run_api, {error_reply = true, status_reply = true, breakpoint = true,
  debug = true, replicate_commands = true})
install(math_lib, "random", m_random)
install(math_lib, "randomseed", m_randomseed)
local table_lib = {}
for k, v in next, table do table_lib[k] = v end
do
  local insert = table.insert
  table_lib.insert = function(...)
    if real_of[(...)] then error({err = "ERR " .. RO}) end
    local r = pack(insert(...))
    return unpack(r, 1, r.n)
  end
  install(table_lib, "insert", table_lib.insert)
end
G.string = readonly(string)
G.table = readonly(table_lib)
G.math = readonly(math_lib)
G.coroutine = readonly(coroutine)
G.bit = readonly(install_all(bit_lib))
G.struct = readonly(install_all(struct_lib))
G.redis = readonly(run_api)
if mode == "eval" then G.__redis__err__handler = err_handler end

-- cjson and cmsgpack are Lua chunks of their own (node.scripting.lua_libs).
-- cjson.new() builds an independent module: its functions are C-like too.
local function cjson_module(lib)
  local raw_new = lib.new
  install_all(lib, {new = true})
  lib.new = function() return cjson_module(raw_new()) end
  return lib
end
G.cjson = readonly(cjson_module(cjson_lib()))
G.cmsgpack = readonly(install_all(cmsgpack_lib({py = py.msgpack})))

-- The FUNCTION LOAD environment: only redis.register_function, redis.log and constants.
local load_redis = {
  register_function = r_register_function, log = r_log,
  LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
  REDIS_VERSION_NUM = py.version_num, REDIS_VERSION = py.version,
}
local LOAD_G = {redis = strict(install_all(load_redis))}

-- The global table scripts see: reads go to G (or LOAD_G while a library loads).
local current = G
local function global_index(_, k)
  local v = current[k]
  if v == nil then missing_global(k) end
  return v
end
local P = readonly(G, global_index)
G._G = P

-- String methods ("x"):upper() go through the locked string table too.
do
  local smeta = getmetatable("")
  smeta.__index = G.string
  lock_meta(smeta)
end

-- Every function a script compiles runs with P as its environment (functions it defines
-- inherit it). The real global table stays lupa's, out of the scripts' reach.
local function w_loadstring(...)
  local code, chunkname = ...
  local tc = type(code)
  if tc ~= "string" and tc ~= "number" then
    argerror(1, "loadstring", "string expected, got " .. typename_at(1, ...))
  end
  local tn = type(chunkname)
  if tn ~= "nil" and tn ~= "string" and tn ~= "number" then
    argerror(2, "loadstring", "string expected, got " .. tn)
  end
  local f, e = loadstring(code, chunkname)
  if f then setfenv(f, P) end
  return f, e
end

local function w_load(...)
  local reader, chunkname = ...
  if type(reader) ~= "function" then
    argerror(1, "load", "function expected, got " .. typename_at(1, ...))
  end
  local tn = type(chunkname)
  if tn ~= "nil" and tn ~= "string" and tn ~= "number" then
    argerror(2, "load", "string expected, got " .. tn)
  end
  local f, e = load(reader, chunkname)
  if f then setfenv(f, P) end
  return f, e
end
G.loadstring, G.load = w_loadstring, w_load
for _, name in next, {"rawget", "rawset", "next", "pairs", "setmetatable", "loadstring", "load"} do
  install(G, name, G[name])
end

-- ---------------------------------------------------------------------------------------------
-- Running scripts
-- ---------------------------------------------------------------------------------------------
local KILL_MSG = "ERR Script killed by user with SCRIPT KILL..."
local py_interrupt = py.interrupt
-- After a kill, every new line of the script raises (so pcall cannot resume it); our own shims
-- are C functions in Redis, which have no lines.
local function line_hook()
  local i = getinfo(2, "S")
  if i and i.source == INTERNAL then return end
  error({err = KILL_MSG})
end
local function count_hook()
  if py_interrupt() then
    sethook(line_hook, "l")
    error({err = KILL_MSG})
  end
end

-- luaExtractErrorInformation: message, source and line of a failed run.
local function error_info(e)
  if type(e) ~= "table" then
    return "ERR " .. tostring(e)
  end
  local msg, source, line = e.err, e.source, e.line
  local tm = type(msg)
  if tm == "number" then msg = tostring(msg) elseif tm ~= "string" then msg = nil end
  local ts, tl = type(source), type(line)
  if ts ~= "string" and ts ~= "number" then source = nil end
  if tl ~= "string" and tl ~= "number" then line = nil end
  return msg, source and tostring(source), line and tostring(line)
end

local function finish(ok, res, c3)
  wipe_proxies()
  if not ok then return "x", error_info(res) end
  local ok2, kind, text = pcall(reply_of, res, c3, script_resp3)
  if not ok2 then return "e", "-ERR reached lua stack limit" end
  return kind, text
end

local api = {}

function api.run_eval(f, nkeys, c3, hook, ...)
  local n = select("#", ...)
  local all = {...}
  local keys, args = {}, {}
  for i = 1, nkeys do keys[i] = all[i] end
  for i = nkeys + 1, n do args[i - nkeys] = all[i] end
  G.KEYS, G.ARGV = keys, args
  script_resp3 = false
  if hook then sethook(count_hook, "", 100000) end
  -- Cleared on the same line: a killed script leaves a line hook that raises on every new line.
  local ok, res = xpcall(f, err_handler) if hook then sethook() end
  return finish(ok, res, c3)
end

function api.run_function(f, nkeys, c3, hook, ...)
  local n = select("#", ...)
  local all = {...}
  local keys, args = {}, {}
  for i = 1, nkeys do keys[i] = all[i] end
  for i = nkeys + 1, n do args[i - nkeys] = all[i] end
  script_resp3 = false
  if hook then sethook(count_hook, "", 100000) end
  local ok, res = xpcall(function() return f(keys, args) end, err_handler) if hook then sethook() end
  return finish(ok, res, c3)
end

api.sethook = sethook

function api.compile(code, chunkname)
  local f, e = loadstring(code, chunkname)
  if f then setfenv(f, P) end
  return f, e
end

local LOAD_TIMEOUT = {err = "ERR FUNCTION LOAD timeout"}
local function load_hook()
  if py.load_timed_out() then error(LOAD_TIMEOUT) end
end

-- Run a library's code with the load environment; returns the registered {name, callback}
-- pairs, or nil and the error message (Redis's luaEngineCreate).
function api.load_library(f)
  loading = {}
  current = LOAD_G
  sethook(load_hook, "", 100000)
  local ok, e = pcall(f) sethook()
  current = G
  local registered = loading
  loading = nil
  wipe_proxies()
  if not ok then
    local msg = error_info(e)
    return nil, msg or "ERR unknown error"
  end
  return registered
end


return api
