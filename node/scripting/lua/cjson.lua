
local type, tostring, tonumber, error, next, rawget, select, pcall = type, tostring, tonumber,
  error, next, rawget, select, pcall
local floor, huge = math.floor, math.huge
local sformat, sbyte, schar, ssub, sfind, sgsub = string.format, string.byte, string.char,
  string.sub, string.find, string.gsub
local tconcat, getmetatable = table.concat, getmetatable

local null = newproxy(true)
do
  local meta = getmetatable(null)
  meta.__tostring = function() return "userdata: (nil)" end
  meta.__metatable = false
end

local FAIL = {}   -- key marking errors raised by the library itself
local function fail(msg) error({[FAIL] = msg}) end

-- The public function runs the work protected and re-raises the library's own errors as plain
-- messages (the sandbox's resumer adds the caller's position, as luaL_error would).
local function api(name, fn)
  return function(...)
    local r = {pcall(fn, ...)}
    if r[1] then return r[2], r[3], r[4] end
    local e = r[2]
    if type(e) == "table" and e[FAIL] then error(e[FAIL], 0) end
    error(e, 0)
  end
end

local ESC = {["\""] = "\\\"", ["\\"] = "\\\\", ["/"] = "\\/", ["\b"] = "\\b", ["\t"] = "\\t",
  ["\n"] = "\\n", ["\f"] = "\\f", ["\r"] = "\\r", ["\127"] = "\\u007f"}
for c = 0, 31 do
  local ch = schar(c)
  if not ESC[ch] then ESC[ch] = sformat("\\u%04x", c) end
end

local function argerror(n, fname, msg) fail(sformat("bad argument #%d to '%s' (%s)", n, fname, msg)) end

local function build()
  local cfg = {
    sparse_convert = 0, sparse_ratio = 2, sparse_safe = 10,
    encode_max_depth = 1000, decode_max_depth = 1000,
    encode_invalid_numbers = 0, decode_invalid_numbers = 1,
    keep_buffer = 0, precision = 14,
  }
  local lib = {null = null, _NAME = "cjson", _VERSION = "2.1.0"}

  -- ----- encoding -----
  local function number_text(n)
    if n ~= n or n == huge or n == -huge then
      local mode = cfg.encode_invalid_numbers
      if mode == 0 then fail("Cannot serialise number: must not be NaN or Inf") end
      if mode == 2 then return "null" end
      if n ~= n then return "nan" end   -- printf would say "-nan" on some platforms
    end
    return sformat("%." .. cfg.precision .. "g", n)
  end

  -- The C code keeps the largest index in an int: larger doubles become INT_MIN (x86).
  local function c_int(k)
    if k >= 2147483648 or k < -2147483648 then return -2147483648 end
    return k >= 0 and floor(k) or -floor(-k)
  end

  local function string_text(s) return "\"" .. sgsub(s, "[%z\1-\31\"\\/\127]", ESC) .. "\"" end

  local function array_length(t)
    local max, items = 0, 0
    for k in next, t do
      if type(k) == "number" and k ~= 0 and floor(k) == k and k >= 1 then
        if k > max then max = c_int(k) end
        items = items + 1
      else
        return -1
      end
    end
    local ratio = cfg.sparse_ratio
    if ratio > 0 and max > items * ratio and max > cfg.sparse_safe then
      if cfg.sparse_convert == 0 then fail("Cannot serialise table: excessively sparse array") end
      return -1
    end
    return max
  end

  local encode_value
  encode_value = function(v, depth, out)
    local t = type(v)
    if t == "string" then
      out[#out + 1] = string_text(v)
    elseif t == "number" then
      out[#out + 1] = number_text(v)
    elseif t == "boolean" then
      out[#out + 1] = v and "true" or "false"
    elseif t == "nil" or v == null then
      out[#out + 1] = "null"
    elseif t == "table" then
      depth = depth + 1
      if depth > cfg.encode_max_depth then
        fail(sformat("Cannot serialise, excessive nesting (%d)", depth))
      end
      local len = array_length(v)
      if len > 0 then
        out[#out + 1] = "["
        for i = 1, len do
          if i > 1 then out[#out + 1] = "," end
          encode_value(rawget(v, i), depth, out)
        end
        out[#out + 1] = "]"
      else
        out[#out + 1] = "{"
        local comma = false
        for k, val in next, v do
          if comma then out[#out + 1] = "," else comma = true end
          local tk = type(k)
          if tk == "number" then
            out[#out + 1] = "\"" .. number_text(k) .. "\":"
          elseif tk == "string" then
            out[#out + 1] = string_text(k) .. ":"
          else
            fail("Cannot serialise " .. tk .. ": table key must be a number or string")
          end
          encode_value(val, depth, out)
        end
        out[#out + 1] = "}"
      end
    else
      fail("Cannot serialise " .. t .. ": type not supported")
    end
  end

  lib.encode = api("encode", function(...)
    if select("#", ...) ~= 1 then argerror(1, "encode", "expected 1 argument") end
    local out = {}
    encode_value((...), 0, out)
    return tconcat(out)
  end)

  -- ----- decoding -----
  local TOKEN_NAMES = {"T_OBJ_BEGIN", "T_OBJ_END", "T_ARR_BEGIN", "T_ARR_END", "T_STRING",
    "T_NUMBER", "T_BOOLEAN", "T_NULL", "T_COLON", "T_COMMA", "T_END"}
  local OBJ_BEGIN, OBJ_END, ARR_BEGIN, ARR_END, STRING, NUMBER, BOOLEAN, NULL, COLON, COMMA,
    END, ERR = 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12
  local SIMPLE = {[123] = OBJ_BEGIN, [125] = OBJ_END, [91] = ARR_BEGIN, [93] = ARR_END,
    [44] = COMMA, [58] = COLON}
  local ESCAPED = {[34] = "\"", [92] = "\\", [47] = "/", [98] = "\b", [116] = "\t", [110] = "\n",
    [102] = "\f", [114] = "\r"}

  local function hex4(s, pos)
    local h = ssub(s, pos, pos + 3)
    if #h < 4 or sfind(h, "[^%x]") then return nil end
    return tonumber(h, 16)
  end

  local function utf8(cp)
    if cp <= 0x7F then return schar(cp) end
    if cp <= 0x7FF then return schar(floor(cp / 64) + 0xC0, cp % 64 + 0x80) end
    if cp <= 0xFFFF then
      return schar(floor(cp / 4096) + 0xE0, floor(cp / 64) % 64 + 0x80, cp % 64 + 0x80)
    end
    return schar(floor(cp / 262144) + 0xF0, floor(cp / 4096) % 64 + 0x80,
      floor(cp / 64) % 64 + 0x80, cp % 64 + 0x80)
  end

  -- strtod's longest accepted prefix at pos (sign, hex, inf/infinity, nan(...), decimal).
  local function number_prefix(s, pos)
    local p = pos
    local c = sbyte(s, p)
    if c == 43 or c == 45 then p = p + 1 end
    local rest = ssub(s, p, p + 7):lower()
    if ssub(rest, 1, 8) == "infinity" then return p + 8 end
    if ssub(rest, 1, 3) == "inf" then return p + 3 end
    if ssub(rest, 1, 3) == "nan" then
      local q = p + 3
      if sbyte(s, q) == 40 then
        local close = sfind(s, "^[%w_]*%)", q + 1)
        if close then
          local _, e = sfind(s, "^[%w_]*%)", q + 1)
          return e + 1
        end
      end
      return q
    end
    if (ssub(rest, 1, 2) == "0x") then
      local _, e = sfind(s, "^%x*", p + 2)
      local digits = e - (p + 2) + 1
      local q = e + 1
      local frac = 0
      if sbyte(s, q) == 46 then
        local _, e2 = sfind(s, "^%x*", q + 1)
        frac = e2 - q
        if digits + frac > 0 then q = e2 + 1 end
      end
      if digits + frac == 0 then return p + 1 end   -- just the "0"
      local _, ee = sfind(s, "^[pP][+-]?%d+", q)
      if ee then q = ee + 1 end
      return q
    end
    local _, e = sfind(s, "^%d*", p)
    local digits = e - p + 1
    local q = e + 1
    if sbyte(s, q) == 46 then
      local _, e2 = sfind(s, "^%d*", q + 1)
      local frac = e2 - q
      if digits + frac > 0 then q = e2 + 1; digits = digits + frac end
    end
    if digits == 0 then return pos end
    local _, ee = sfind(s, "^[eE][+-]?%d+", q)
    if ee then q = ee + 1 end
    return q
  end

  local function invalid_number(s, pos)
    local p = pos
    local c = sbyte(s, p)
    if c == 43 then return true end
    if c == 45 then p = p + 1; c = sbyte(s, p) end
    if c == 48 then
      local c2 = sbyte(s, p + 1) or 0
      return c2 == 120 or c2 == 88 or (c2 >= 48 and c2 <= 57)
    elseif c and c <= 57 then
      return false
    end
    local w = ssub(s, p, p + 2):lower()
    return w == "inf" or w == "nan"
  end

  -- Returns kind, value, index (0-based start, as cjson reports it) and the next position.
  local function next_token(s, pos)
    local c = sbyte(s, pos) or 0
    while c == 32 or c == 9 or c == 10 or c == 13 do
      pos = pos + 1
      c = sbyte(s, pos) or 0
    end
    local index = pos - 1
    if c == 0 then return END, nil, index, pos end
    local simple = SIMPLE[c]
    if simple then return simple, nil, index, pos + 1 end
    if c == 34 then
      local parts = {}
      local p = pos + 1
      while true do
        local ch = sbyte(s, p) or 0
        if ch == 34 then break end
        if ch == 0 then return ERR, "unexpected end of string", p - 1, p end
        if ch == 92 then
          local e = sbyte(s, p + 1) or 0
          if e == 117 then
            local cp = hex4(s, p + 2)
            local len = 6
            if cp and cp >= 0xD800 and cp <= 0xDFFF then
              if cp >= 0xDC00 or ssub(s, p + 6, p + 7) ~= "\\u" then cp = nil else
                local low = hex4(s, p + 8)
                if not low or low < 0xDC00 or low > 0xDFFF then cp = nil else
                  cp = (cp - 0xD800) * 1024 + (low - 0xDC00) + 0x10000
                  len = 12
                end
              end
            end
            if not cp then return ERR, "invalid unicode escape code", p - 1, p end
            parts[#parts + 1] = utf8(cp)
            p = p + len
          else
            local mapped = ESCAPED[e]
            if not mapped then return ERR, "invalid escape code", p - 1, p end
            parts[#parts + 1] = mapped
            p = p + 2
          end
        else
          local q = sfind(s, "[%z\"\\]", p)
          q = q or (#s + 1)
          parts[#parts + 1] = ssub(s, p, q - 1)
          p = q
        end
      end
      return STRING, tconcat(parts), index, p + 1
    end
    local isnum = c == 45 or (c >= 48 and c <= 57)
    if isnum then
      if cfg.decode_invalid_numbers == 0 and invalid_number(s, pos) then
        return ERR, "invalid number", index, pos
      end
    elseif ssub(s, pos, pos + 3) == "true" then return BOOLEAN, true, index, pos + 4
    elseif ssub(s, pos, pos + 4) == "false" then return BOOLEAN, false, index, pos + 5
    elseif ssub(s, pos, pos + 3) == "null" then return NULL, nil, index, pos + 4
    elseif not (c == 43 or c == 105 or c == 73 or c == 110 or c == 78 or c == 116 or c == 102)
        or not (cfg.decode_invalid_numbers ~= 0 and invalid_number(s, pos)) then
      return ERR, "invalid token", index, pos
    end
    local stop = number_prefix(s, pos)
    if stop == pos then return ERR, "invalid number", index, pos end
    return NUMBER, tonumber(ssub(s, pos, stop - 1)), index, stop
  end

  local function parse_error(expected, kind, value, index)
    local found = kind == ERR and value or TOKEN_NAMES[kind]
    fail(sformat("Expected %s but found %s at character %d", expected, found, index + 1))
  end

  local value_of
  local function descend(state, pos)
    state.depth = state.depth + 1
    if state.depth > cfg.decode_max_depth then
      fail(sformat("Found too many nested data structures (%d) at character %d", state.depth,
        pos - 1))
    end
  end

  local function parse_object(s, pos, state)
    descend(state, pos)
    local t = {}
    local kind, value, index
    kind, value, index, pos = next_token(s, pos)
    if kind == OBJ_END then state.depth = state.depth - 1; return t, pos end
    while true do
      if kind ~= STRING then parse_error("object key string", kind, value, index) end
      local key = value
      kind, value, index, pos = next_token(s, pos)
      if kind ~= COLON then parse_error("colon", kind, value, index) end
      kind, value, index, pos = next_token(s, pos)
      local v
      v, pos = value_of(s, kind, value, index, pos, state)
      t[key] = v
      kind, value, index, pos = next_token(s, pos)
      if kind == OBJ_END then state.depth = state.depth - 1; return t, pos end
      if kind ~= COMMA then parse_error("comma or object end", kind, value, index) end
      kind, value, index, pos = next_token(s, pos)
    end
  end

  local function parse_array(s, pos, state)
    descend(state, pos)
    local t = {}
    local kind, value, index
    kind, value, index, pos = next_token(s, pos)
    if kind == ARR_END then state.depth = state.depth - 1; return t, pos end
    local i = 1
    while true do
      local v
      v, pos = value_of(s, kind, value, index, pos, state)
      t[i] = v
      i = i + 1
      kind, value, index, pos = next_token(s, pos)
      if kind == ARR_END then state.depth = state.depth - 1; return t, pos end
      if kind ~= COMMA then parse_error("comma or array end", kind, value, index) end
      kind, value, index, pos = next_token(s, pos)
    end
  end

  value_of = function(s, kind, value, index, pos, state)
    if kind == STRING or kind == NUMBER or kind == BOOLEAN then return value, pos end
    if kind == NULL then return null, pos end
    if kind == OBJ_BEGIN then return parse_object(s, pos, state) end
    if kind == ARR_BEGIN then return parse_array(s, pos, state) end
    parse_error("value", kind, value, index)
  end

  lib.decode = api("decode", function(...)
    if select("#", ...) ~= 1 then argerror(1, "decode", "expected 1 argument") end
    local s = ...
    local ts = type(s)
    if ts == "number" then s = tostring(s)
    elseif ts ~= "string" then argerror(1, "decode", "string expected, got " .. ts) end
    if #s >= 2 and (sbyte(s, 1) == 0 or sbyte(s, 2) == 0) then
      fail("JSON parser does not support UTF-16 or UTF-32")
    end
    local z = sfind(s, "\0", 1, true)   -- the C parser stops at the first NUL
    if z then s = ssub(s, 1, z - 1) end
    local state = {depth = 0}
    local kind, value, index, pos = next_token(s, 1)
    local result
    result, pos = value_of(s, kind, value, index, pos, state)
    kind, value, index = next_token(s, pos)
    if kind ~= END then parse_error("the end", kind, value, index) end
    return result
  end)

  -- ----- configuration -----
  local function arg_init(fname, nargs, ...)
    if select("#", ...) > nargs then argerror(nargs + 1, fname, "found too many arguments") end
  end

  local function integer_option(fname, n, key, min, max, ...)
    local v = select(n, ...)
    if v ~= nil then
      local num = tonumber(v)
      if num == nil then
        local t = select("#", ...) < n and "no value" or type(v)
        argerror(n, fname, "number expected, got " .. t)
      end
      num = num >= 0 and floor(num) or -floor(-num)
      if num < min or num > max then
        argerror(1, fname, sformat("expected integer between %d and %d", min, max))
      end
      cfg[key] = num
    end
    return cfg[key]
  end

  local function enum_option(fname, n, key, options, ...)
    local v = select(n, ...)
    if v ~= nil then
      if type(v) == "boolean" then
        cfg[key] = v and 1 or 0
      else
        local found
        if type(v) == "string" then
          for i = 1, #options do if options[i] == v then found = i - 1 end end
        end
        if not found then
          if type(v) ~= "string" and type(v) ~= "number" then
            argerror(n, fname, "string expected, got " .. type(v))
          end
          argerror(n, fname, "invalid option '" .. tostring(v) .. "'")
        end
        cfg[key] = found
      end
    end
    local s = cfg[key]
    if s == 0 or s == 1 then return s == 1 end
    return options[s + 1]
  end

  local ONOFF = {"off", "on"}
  lib.encode_sparse_array = api("encode_sparse_array", function(...)
    arg_init("encode_sparse_array", 3, ...)
    return enum_option("encode_sparse_array", 1, "sparse_convert", ONOFF, ...),
      integer_option("encode_sparse_array", 2, "sparse_ratio", 0, 2147483647, ...),
      integer_option("encode_sparse_array", 3, "sparse_safe", 0, 2147483647, ...)
  end)
  lib.encode_max_depth = api("encode_max_depth", function(...)
    arg_init("encode_max_depth", 1, ...)
    return integer_option("encode_max_depth", 1, "encode_max_depth", 1, 2147483647, ...)
  end)
  lib.decode_max_depth = api("decode_max_depth", function(...)
    arg_init("decode_max_depth", 1, ...)
    return integer_option("decode_max_depth", 1, "decode_max_depth", 1, 2147483647, ...)
  end)
  lib.encode_number_precision = api("encode_number_precision", function(...)
    arg_init("encode_number_precision", 1, ...)
    return integer_option("encode_number_precision", 1, "precision", 1, 14, ...)
  end)
  lib.encode_keep_buffer = api("encode_keep_buffer", function(...)
    arg_init("encode_keep_buffer", 1, ...)
    return enum_option("encode_keep_buffer", 1, "keep_buffer", ONOFF, ...)
  end)
  lib.encode_invalid_numbers = api("encode_invalid_numbers", function(...)
    arg_init("encode_invalid_numbers", 1, ...)
    return enum_option("encode_invalid_numbers", 1, "encode_invalid_numbers",
      {"off", "on", "null"}, ...)
  end)
  lib.decode_invalid_numbers = api("decode_invalid_numbers", function(...)
    arg_init("decode_invalid_numbers", 1, ...)
    return enum_option("decode_invalid_numbers", 1, "decode_invalid_numbers", ONOFF, ...)
  end)
  lib.new = function() return build() end
  return lib
end

return build()
