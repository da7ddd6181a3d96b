
local env = ...
local type, error, next, select, unpack, pcall, tostring, tonumber = type, error, next, select,
  unpack, pcall, tostring, tonumber
local floor = math.floor
local sbyte, schar, ssub, tconcat = string.byte, string.char, string.sub, table.concat
local pyn = env.py
local encode_number, decode_number = pyn.encode_number, pyn.decode_number
local MAX_NESTING = 16

local function be(n, width)  -- n >= 0, big-endian, width bytes
  local out = {}
  for i = width, 1, -1 do
    out[i] = schar(n % 256)
    n = floor(n / 256)
  end
  return tconcat(out)
end

local function is_array(t)
  local count, max = 0, 0
  for k in next, t do
    if type(k) ~= "number" or k <= 0 or floor(k) ~= k or k > 2147483647 then return false end
    if k > max then max = k end
    count = count + 1
  end
  return max == count
end

local encode
encode = function(v, level, out)
  local t = type(v)
  if t == "table" and level == MAX_NESTING then t = "nil" end
  if t == "string" then
    local n = #v
    if n < 32 then out[#out + 1] = schar(0xa0 + n)
    elseif n <= 0xff then out[#out + 1] = "\217" .. schar(n)
    elseif n <= 0xffff then out[#out + 1] = "\218" .. be(n, 2)
    else out[#out + 1] = "\219" .. be(n, 4) end
    out[#out + 1] = v
  elseif t == "boolean" then
    out[#out + 1] = v and "\195" or "\194"
  elseif t == "number" then
    out[#out + 1] = encode_number(v)
  elseif t == "table" then
    if is_array(v) then
      local n = #v
      if n < 16 then out[#out + 1] = schar(0x90 + n)
      elseif n <= 0xffff then out[#out + 1] = "\220" .. be(n, 2)
      else out[#out + 1] = "\221" .. be(n, 4) end
      for j = 1, n do encode(v[j], level + 1, out) end
    else
      local n = 0
      for _ in next, v do n = n + 1 end
      if n < 16 then out[#out + 1] = schar(0x80 + n)
      elseif n <= 0xffff then out[#out + 1] = "\222" .. be(n, 2)
      else out[#out + 1] = "\223" .. be(n, 4) end
      for k, val in next, v do
        encode(k, level + 1, out)
        encode(val, level + 1, out)
      end
    end
  else
    out[#out + 1] = "\192"
  end
end

local EOF, BADFMT = {}, {}

local function need(s, pos, n)
  if pos + n - 1 > #s then error(EOF) end
end

local function uint(s, pos, width)
  local n = 0
  for i = 0, width - 1 do n = n * 256 + sbyte(s, pos + i) end
  return n
end

local decode
local function decode_array(s, pos, len)
  local t = {}
  for i = 1, len do
    local v
    v, pos = decode(s, pos)
    t[i] = v
  end
  return t, pos
end

local function decode_map(s, pos, len)
  local t = {}
  for _ = 1, len do
    local k, v
    k, pos = decode(s, pos)
    v, pos = decode(s, pos)
    t[k] = v
  end
  return t, pos
end

decode = function(s, pos)
  need(s, pos, 1)
  local c = sbyte(s, pos)
  if c < 0x80 then return c, pos + 1 end
  if c >= 0xe0 then return c - 256, pos + 1 end
  if c >= 0xa0 and c <= 0xbf then
    local n = c - 0xa0
    need(s, pos, 1 + n)
    return ssub(s, pos + 1, pos + n), pos + 1 + n
  end
  if c >= 0x90 and c <= 0x9f then return decode_array(s, pos + 1, c - 0x90) end
  if c >= 0x80 and c <= 0x8f then return decode_map(s, pos + 1, c - 0x80) end
  if c == 0xc0 then return nil, pos + 1 end
  if c == 0xc3 then return true, pos + 1 end
  if c == 0xc2 then return false, pos + 1 end
  if c == 0xcc then need(s, pos, 2); return sbyte(s, pos + 1), pos + 2 end
  if c == 0xd0 then need(s, pos, 2); local b = sbyte(s, pos + 1); return b >= 128 and b - 256 or b, pos + 2 end
  if c == 0xcd or c == 0xd1 or c == 0xce or c == 0xd2 or c == 0xcf or c == 0xd3
      or c == 0xca or c == 0xcb then
    local width = (c == 0xcd or c == 0xd1) and 2 or ((c == 0xce or c == 0xd2 or c == 0xca) and 4 or 8)
    need(s, pos, 1 + width)
    return decode_number(c, ssub(s, pos + 1, pos + width)), pos + 1 + width
  end
  if c == 0xd9 or c == 0xda or c == 0xdb then
    local width = c == 0xd9 and 1 or (c == 0xda and 2 or 4)
    need(s, pos, 1 + width)
    local n = uint(s, pos + 1, width)
    need(s, pos, 1 + width + n)
    return ssub(s, pos + 1 + width, pos + width + n), pos + 1 + width + n
  end
  if c == 0xdc or c == 0xdd then
    local width = c == 0xdc and 2 or 4
    need(s, pos, 1 + width)
    return decode_array(s, pos + 1 + width, uint(s, pos + 1, width))
  end
  if c == 0xde or c == 0xdf then
    local width = c == 0xde and 2 or 4
    need(s, pos, 1 + width)
    return decode_map(s, pos + 1 + width, uint(s, pos + 1, width))
  end
  error(BADFMT)
end

local function typename_at(n, ...)
  if select("#", ...) < n then return "no value" end
  return type((select(n, ...)))
end

local function check_string(fname, ...)
  local s = ...
  local t = type(s)
  if t == "number" then return tostring(s) end
  if t ~= "string" or select("#", ...) < 1 then
    error("bad argument #1 to '" .. fname .. "' (string expected, got " .. typename_at(1, ...) .. ")", 0)
  end
  return s
end

local function check_int(fname, n, optional, ...)
  local v = select(n, ...)
  if v == nil and optional then return 0 end
  local num = tonumber(v)
  if num == nil then
    error("bad argument #" .. n .. " to '" .. fname .. "' (number expected, got " .. typename_at(n, ...) .. ")", 0)
  end
  return num >= 0 and floor(num) or -floor(-num)
end

local function unpack_full(s, limit, offset)
  local len = #s
  local decode_all = limit == 0 and offset == 0
  if offset < 0 or limit < 0 then
    error("Invalid request to unpack with offset of " .. offset .. " and limit of " .. len .. ".", 0)
  elseif offset > len then
    error("Start offset " .. offset .. " greater than input length " .. len .. ".", 0)
  end
  if decode_all then limit = 2147483647 end
  local out, n = {}, 0
  local pos = offset + 1
  local ok, e = pcall(function()
    while pos <= len and n < limit do
      local v
      v, pos = decode(s, pos)
      n = n + 1
      out[n] = v
    end
  end)
  if not ok then
    if e == EOF then error("Missing bytes in input.", 0) end
    if e == BADFMT then error("Bad data format in input.", 0) end
    error(e, 0)
  end
  if not decode_all then
    return (pos > len) and -1 or (pos - 1), unpack(out, 1, n)
  end
  return unpack(out, 1, n)
end

local lib = {
  _NAME = "cmsgpack", _VERSION = "lua-cmsgpack 0.4.0",
  _COPYRIGHT = "Copyright (C) 2012, Salvatore Sanfilippo",
  _DESCRIPTION = "MessagePack C implementation for Lua",
}

function lib.pack(...)
  local n = select("#", ...)
  if n == 0 then error("bad argument #0 to 'pack' (MessagePack pack needs input.)", 0) end
  local out = {}
  for i = 1, n do encode((select(i, ...)), 0, out) end
  return tconcat(out)
end

function lib.unpack(...)
  local s = check_string("unpack", ...)
  return unpack_full(s, 0, 0)
end

function lib.unpack_one(...)
  local s = check_string("unpack_one", ...)
  return unpack_full(s, 1, check_int("unpack_one", 2, true, ...))
end

function lib.unpack_limit(...)
  local s = check_string("unpack_limit", ...)
  local limit = check_int("unpack_limit", 2, false, ...)
  return unpack_full(s, limit, check_int("unpack_limit", 3, true, ...))
end

return lib
