"""Scripting (EVAL, SCRIPT, FCALL, FUNCTION) against Redis 7.0.15, byte for byte, RESP2 and RESP3.

Scripts are literal strings sent to both servers. Error replies carry the script's SHA and
line ("script: <sha>, on @user_script:1."), so they are compared whole. Tests that change
server-wide state (function libraries, the PRNG seed) reset it; cjson settings are only changed
on private ``cjson.new()`` instances, because they outlive a script on both servers.
"""

from __future__ import annotations

import time

import pytest

from tests.support.procs import server_pair, start_rcsim, start_redis
from tests.support.rawclient import RawClient

LOCK_RELEASE = (
    'if redis.call("get",KEYS[1]) == ARGV[1] then return redis.call("del",KEYS[1]) '
    "else return 0 end"
)


def check_scripts(diff, scripts, *args) -> None:
    for script in scripts:
        diff.check("EVAL", script, *args)


# -- Lua -> RESP -------------------------------------------------------------------------------

LUA_TO_RESP = [
    "return 1",
    "return -7",
    "return 3.99",
    "return -3.99",
    "return 2^53",
    "return 2^62",
    "return 2^63",
    "return -2^63",
    "return 1e20",
    "return 0/0",
    "return 1/0",
    "return 'hello'",
    "return ''",
    "return true",
    "return false",
    "return nil",
    "return {}",
    "return {1, 2, 3}",
    "return {1, 'two', {3, {4}}, true, false}",
    "return {1, nil, 3}",
    "return {x = 1}",
    "return {1, 2, x = 3}",
    "return function() end",
    "return {function() end, 2}",
    "return {ok = 'fine'}",
    "return {ok = 'a\\r\\nb'}",
    "return {ok = 5}",
    "return {err = 'MY error'}",
    "return {err = 'boom'}",
    "return {err = '-boom'}",
    "return {err = 'E a\\r\\nb\\n'}",
    "return {err = 5}",
    "return {ok = 'a', err = 'E b'}",
    "return {1, {err = 'E nested'}, {ok = 'nested'}}",
    "return {double = 3.5}",
    "return {double = 0.1}",
    "return {double = 1e300}",
    "return {double = 1/0}",
    "return {double = -1/0}",
    "return {double = 0/0}",
    "return {double = -(0/0)}",
    "return {double = '3.5'}",
    "return {big_number = '123456789012345678901234567890'}",
    "return {big_number = '12\\r\\n3'}",
    "return {verbatim_string = {format = 'txt', string = 'hello'}}",
    "return {verbatim_string = {format = 'mkd', string = 'hi'}}",
    "return {verbatim_string = {format = 't', string = 'hi'}}",
    "return {map = {a = 1, b = {1, 2}, c = true}}",
    "return {map = {}}",
    "return {map = {[1] = 'x', y = {ok = 'z'}}}",
    "return {set = {a = true, b = true, c = true}}",
    "return {set = {}}",
    "return {set = {[1] = true, x = true}}",
    "redis.setresp(3) return {true, false}",
    "redis.setresp(3) return true",
    "redis.setresp(3) return false",
    "redis.setresp(3) return nil",
    "redis.setresp(2) return {true, false}",
]


@pytest.mark.parametrize("script", LUA_TO_RESP)
def test_lua_values_become_resp(diff, script):
    diff.check("EVAL", script, 0)


def test_keys_and_argv(diff):
    diff.check(
        "EVAL",
        "return {KEYS[1], KEYS[2], ARGV[1], ARGV[2], #KEYS, #ARGV}",
        2,
        "k1",
        "k2",
        "a1",
        "a2",
    )
    diff.check("EVAL", "return KEYS", 2, "a", "b")
    diff.check("EVAL", "return ARGV", 0, "x", "y", "z")
    diff.check("EVAL", "return #KEYS + #ARGV", 0)
    diff.check("EVAL", "KEYS[1] = 'changed' return KEYS[1]", 1, "k")


# -- redis.call and RESP -> Lua --------------------------------------------------------------


def test_redis_call_replies(diff):
    diff.check("SET", "k", "v")
    check_scripts(
        diff,
        [
            "return redis.call('get', 'k')",
            "return redis.call('get', 'missing')",
            "return {redis.call('get', 'missing')}",
            "return {redis.call('get', 'missing') == false}",
            "return redis.call('set', 'k2', 'v2')",
            "return redis.call('set', 'k2', 'v2')['ok']",
            "return redis.call('ping')",
            "return redis.call('ping')['ok']",
            "return redis.call('echo', 'hi')",
            "return redis.call('incr', 'n')",
            "return redis.call('incrbyfloat', 'f', '1.5')",
            "return redis.call('mget', 'k', 'missing', 'k2')",
            "return redis.call('exists', 'k', 'k2', 'nope')",
            "return redis.call('type', 'k')",
            "return redis.call('del', 'k2', 'n', 'f')",
            "return redis.call('command', 'docs', 'get')",
            "return type(redis.call('command', 'docs', 'get'))",
        ],
        0,
    )


def test_redis_call_in_resp3(diff):
    diff.check("SET", "k", "v")
    check_scripts(
        diff,
        [
            "redis.setresp(3) return redis.call('get', 'missing')",
            "redis.setresp(3) return {redis.call('get', 'missing') == nil}",
            "redis.setresp(3) return redis.call('set', 'k', 'v')",
            "redis.setresp(3) return redis.call('get', 'k')",
            "redis.setresp(3) return redis.call('command', 'docs', 'get')",
            "redis.setresp(3) return type(redis.call('command', 'docs', 'get')['map'])",
            "redis.setresp(3) return redis.call('command', 'docs', 'get')['map']['get']['map']['group']",
            "redis.setresp(3) local r = redis.call('mget', 'k', 'missing') return {r[1], r[2] == nil}",
        ],
        0,
    )


def test_redis_call_arguments(diff):
    check_scripts(
        diff,
        [
            "return redis.call('set', 'k', 1.5)",
            "redis.call('set', 'k', 10/3) return redis.call('get', 'k')",
            "redis.call('set', 'k', 1e20) return redis.call('get', 'k')",
            "redis.call('set', 'k', 2^53) return redis.call('get', 'k')",
            "redis.call('set', 'k', -0.0) return redis.call('get', 'k')",
            "return redis.call('set', 'k', true)",
            "return redis.call('set', 'k', nil)",
            "return redis.call('set', 'k', {})",
            "return redis.call('set', 'k', 'v', 1, nil)",
            "return redis.call()",
            "return redis.pcall()",
            "return redis.pcall('set', 'k', {})",
            "return redis.call('GeT', 'k')",
        ],
        0,
    )


def test_redis_call_refusals(diff):
    check_scripts(
        diff,
        [
            "return redis.call('nosuch')",
            "return redis.pcall('nosuch')",
            "return redis.call('client')",
            "return redis.call('object', 'nosuch')",
            "return redis.call('get')",
            "return redis.pcall('ping', 'a', 'b')",
            "return redis.call('client', 'list')",
            "return redis.call('config', 'get', 'maxmemory')",
            "return redis.call('eval', 'return 1', 0)",
            "return redis.call('multi')",
            "return redis.call('subscribe', 'ch')",
            "return redis.call('hello')",
        ],
        0,
    )


def test_command_errors_inside_scripts(diff):
    diff.check("SET", "k", "not a number")
    check_scripts(
        diff,
        [
            "return redis.call('incr', 'k')",
            "return redis.pcall('incr', 'k')",
            "return {1, redis.pcall('incr', 'k'), 3}",
            "return type(redis.pcall('incr', 'k'))",
            "return redis.pcall('incr', 'k')['err']",
            "local t = redis.pcall('nosuch') local n = {} "
            "for k, v in pairs(t) do n[#n + 1] = k .. '=' .. tostring(v) end "
            "table.sort(n) return n",
            "local ok, e = pcall(redis.call, 'incr', 'k') return {tostring(ok), e}",
            "local ok, e = pcall(function() redis.call('nosuch') end) return {type(e), e}",
            "return {pcall(function() error({err = 'E x'}) end)}",
            "return {pcall(function() error({code = 1}) end)}[2].code",
            "return {pcall(function() error('plain') end)}",
        ],
        0,
    )


def test_select_inside_a_script_stays_inside(diff):
    diff.check("EVAL", "redis.call('select', 1) return redis.call('set', 'indb1', 'x')", 0)
    diff.check("EXISTS", "indb1")
    diff.check("EVAL", "redis.call('select', 1) return redis.call('get', 'indb1')", 0)
    diff.check("EVAL", "redis.call('select', 1) return redis.call('del', 'indb1')", 0)


def test_writes_are_visible_after_the_script(diff):
    diff.check(
        "EVAL",
        "redis.call('set', KEYS[1], ARGV[1]) redis.call('incr', KEYS[2]) return 1",
        2,
        "a",
        "b",
        "v",
    )
    diff.check("MGET", "a", "b")
    diff.check("EVAL", "return redis.call('expire', KEYS[1], 100)", 1, "a")
    diff.check("TTL", "a")


def test_lock_release_script(diff):
    diff.check("SET", "lock", "token-1")
    diff.check("EVAL", LOCK_RELEASE, 1, "lock", "other-token")
    diff.check("GET", "lock")
    diff.check("EVAL", LOCK_RELEASE, 1, "lock", "token-1")
    diff.check("EXISTS", "lock")
    diff.check("EVAL", LOCK_RELEASE, 1, "lock", "token-1")
    diff.check("EVALSHA", "4d8bb9f9f01b2d64b1b0e17ba1f7e79b6a9d2b0c", 1, "lock", "x")


# -- errors ------------------------------------------------------------------------------------

ERROR_SCRIPTS = [
    "return x",
    "x = 1",
    "\n\nreturn y",
    "\n\nx = 5",
    "string.foo = 1",
    "redis.foo = 1",
    "table.insert = nil",
    "_G.x = 1",
    "rawset(_G, 'x', 1)",
    "setmetatable(_G, nil)",
    "getmetatable(_G).__index = nil",
    "return debug",
    "return os",
    "return io",
    "return loadfile",
    "return dofile",
    "return require",
    "return print",
    "return getfenv",
    "return setfenv",
    "return newproxy",
    "return module",
    "return package",
    "return nil + 1",
    "local x = nil; return x.y",
    "local function f()\n  local a = nil + 1\nend\nf()",
    "local function f()\n  error('deep')\nend\nf()",
    "\nlocal function f()\n  redis.call('nosuch')\nend\nf()",
    "error('boom')",
    "error()",
    "error(nil)",
    "error(12)",
    "error({err = 'MY boom'})",
    "error({err = 12})",
    "error('x', 0)",
    "error('x', 2)",
    "local t = setmetatable({}, {__index = function(t, k) error('idx') end}) return t.foo",
    "local f = loadstring('x = 1') f()",
    "local f = loadstring('return zz') return f()",
    "return loadstring('return 1 +')",
    "return {loadstring('return 1 +')}",
    "syntax error here",
    "return +",
    "return 'unfinished",
    "return pairs(nil)",
    "return ipairs()",
    "return tonumber('x', 99)",
    "return next({}, 'nokey')",
    "return rawget(nil, 1)",
    "return rawset({}, 1)",
    "return setmetatable(1, {})",
    "return setmetatable(setmetatable({}, {__metatable = 1}), {})",
    "return string.rep()",
]


@pytest.mark.parametrize("script", ERROR_SCRIPTS)
def test_script_errors(diff, script):
    diff.check("EVAL", script, 0)


def test_globals_do_not_leak_between_scripts(diff):
    check_scripts(
        diff,
        [
            "pcall(function() rawset(_G, 'leak', 1) end) return 1",
            "return leak",
            "pcall(table.insert, _G, 'leak') return #_G",
            "return #_G",
            "pcall(function() string.leak = 1 end) return string.leak",
            "local t = {} for k, v in pairs(_G) do t[#t + 1] = k .. '=' .. type(v) end "
            "table.sort(t) return t",
            "return _G._G == _G",
            "return rawget(_G, 'redis') == redis",
            "return type(getmetatable(_G))",
            "return next(_G) ~= nil",
        ],
        0,
    )


def test_global_tables_are_listed_as_redis_lists_them(diff):
    for lib in (
        "string",
        "table",
        "math",
        "redis",
        "cjson",
        "bit",
        "struct",
        "cmsgpack",
        "coroutine",
    ):
        diff.check(
            "EVAL",
            f"local t = {{}} for k, v in pairs({lib}) do t[#t + 1] = k .. '=' .. type(v) end "
            "table.sort(t) return t",
            0,
        )


# -- the redis.* API ---------------------------------------------------------------------------

REDIS_API = [
    "return redis.error_reply('my err')",
    "return redis.error_reply('-MY err')",
    "return redis.error_reply('x')",
    "return redis.error_reply()",
    "return redis.error_reply(5)",
    "return redis.error_reply('a', 'b')",
    "local t = redis.error_reply('x') local n = {} for k, v in pairs(t) do n[#n + 1] = k .. '=' .. tostring(v) end return n",
    "return redis.status_reply('all good')",
    "return redis.status_reply()",
    "return redis.status_reply({})",
    "return redis.sha1hex('')",
    "return redis.sha1hex('hello world')",
    "return redis.sha1hex(5)",
    "return redis.sha1hex({})",
    "return redis.sha1hex()",
    "return redis.sha1hex('a', 'b')",
    "return {redis.REDIS_VERSION, redis.REDIS_VERSION_NUM}",
    "return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING}",
    "return {redis.REPL_ALL, redis.REPL_AOF, redis.REPL_NONE, redis.REPL_REPLICA, redis.REPL_SLAVE}",
    "return redis.log(redis.LOG_DEBUG, 'from a test script', 5)",
    "return redis.log(redis.LOG_WARNING)",
    "return redis.log('x', 'y')",
    "return redis.log(9, 'y')",
    "return redis.log(-1, 'y')",
    "return redis.setresp(4)",
    "return redis.setresp()",
    "return redis.setresp('x')",
    "return redis.set_repl(redis.REPL_ALL)",
    "return redis.set_repl(99)",
    "return redis.set_repl()",
    "return redis.replicate_commands()",
    "return redis.breakpoint()",
    "return redis.debug('x')",
    "return redis.acl_check_cmd('get', 'x')",
    "return redis.acl_check_cmd('nosuch')",
    "return redis.acl_check_cmd()",
    "return redis.register_function",
    "return redis.nosuch",
]


@pytest.mark.parametrize("script", REDIS_API)
def test_redis_api(diff, script):
    diff.check("EVAL", script, 0)


# -- Lua libraries -----------------------------------------------------------------------------

STDLIB = [
    "return string.format('%d %s %5.2f %x', 3, 'x', 1.5, 255)",
    "return ('x'):rep(3)",
    "return string.rep('x', -1)",
    "return {string.byte('ABC', 1, 3)}",
    "return string.char(72, 105)",
    "return {string.find('hello world', 'o w')}",
    "return string.gsub('hello', 'l', 'L')",
    "return string.upper('abc') .. string.lower('DEF') .. string.reverse('xyz')",
    "return string.sub('abcdef', 2, -2)",
    "return {string.match('key:123', '(%a+):(%d+)')}",
    "return tostring(1e15) .. ' ' .. tostring(0.1) .. ' ' .. tostring(1/3)",
    "return {tonumber('0x10'), tonumber('10', 2), tonumber('  5  '), tonumber('z')}",
    "local t = {3, 1, 2} table.sort(t) return t",
    "local t = {'b', 'a'} table.sort(t, function(a, b) return a > b end) return t",
    "return table.concat({1, 2, 3}, ',')",
    "local t = {} table.insert(t, 'a') table.insert(t, 1, 'b') return t",
    "local t = {1, 2, 3} table.remove(t, 1) return t",
    "return {table.getn({1, 2}), table.maxn({1, nil, 3})}",
    "return {math.floor(3.7), math.ceil(3.2), math.abs(-2), math.max(1, 5, 3), math.min(2, 0)}",
    "return {math.fmod(7, 3), math.sqrt(16), math.pow(2, 10), math.huge > 0, math.pi > 3}",
    "return select('#', unpack({1, 2, 3}))",
    "return select(2, 'a', 'b', 'c')",
    "return _VERSION",
    "return gcinfo() > 0",
    "return collectgarbage('count') > 0",
    "local s = 0 for i = 1, 100 do s = s + i end return s",
    "return coroutine.wrap(function() coroutine.yield(5) end)()",
    "local co = coroutine.create(function(a) return a * 2 end) return {coroutine.resume(co, 21)}",
    "return {pcall(error)}",
    "return {select('#', pcall(function() return 1, nil end)), pcall()}",
    "return {pcall(pcall)}",
    "return {xpcall(function() error('x') end, function(e) return 'handled: ' .. e end)}",
    "return assert(5)",
    "return assert(false, 'custom')",
    "return type(load(function() return nil end))",
    "return tostring(nil) .. tostring(true)",
    "return rawequal(1, 1)",
]


@pytest.mark.parametrize("script", STDLIB)
def test_lua_standard_library(diff, script):
    diff.check("EVAL", script, 0)


CJSON = [
    "return cjson.encode({1, 2, 3, {a = 1}})",
    "return cjson.encode({a = 'x/y\"z\\n\\1', b = 1.5, c = 1/3, d = true, e = cjson.null, f = {}})",
    "return cjson.encode({a = {b = {c = {1, 2}}}, z = 'end'})",
    "return cjson.encode(123456789012345678)",
    "return cjson.encode({1e100, 1e-100, 100000000000000, 1e15, 12345678901234567})",
    "return cjson.encode(0.1)",
    "return cjson.encode(-0)",
    "return cjson.encode('\\128\\255\\31\\127')",
    "return cjson.encode('\\0')",
    "return cjson.encode({[1] = 1, [5] = 2})",
    "return cjson.encode({[2] = 1})",
    "return cjson.encode({1, 2, nil, 4})",
    "return cjson.encode({n = 1, [1] = 2})",
    "return cjson.encode({['1'] = 2})",
    "return cjson.encode({[1.5] = 1})",
    "return cjson.encode({[0] = 1})",
    "return cjson.encode({[-1] = 1})",
    "return cjson.encode(cjson.null)",
    "return cjson.encode({['a\"b'] = 1})",
    "return cjson.encode(1/0)",
    "return cjson.encode({[1] = 1, [20] = 2})",
    "return cjson.encode({[true] = 1})",
    "return cjson.encode({[1/0] = 1})",
    "return cjson.encode(function() end)",
    "return cjson.encode(coroutine.create(function() end))",
    "return cjson.encode()",
    "return cjson.encode(1, 2)",
    "local t = {} t[1] = t return cjson.encode(t)",
    "return cjson.decode('[1,2,{\"a\":null}]')[3].a == cjson.null",
    'local t = cjson.decode(\'{"a":[1,2.5,"x",true,false,null],"b":{}}\') '
    "return {t.a[1], t.a[2], t.a[3], t.a[4], t.a[5], type(t.a[6]), type(t.b)}",
    "return cjson.decode('\"\\\\u00e9\\\\ud83d\\\\ude00\"')",
    'return cjson.decode(\'["\\\\/\\\\b\\\\f\\\\n\\\\r\\\\t\\\\\\"\\\\\\\\"]\')[1]',
    'return cjson.decode(\'{"a":1,"a":2}\').a',
    "return cjson.decode(' \\t\\n 5 ')",
    "return cjson.decode(5)",
    "return cjson.decode('0x10')",
    "return cjson.decode('1e400')",
    "return cjson.decode('-0')",
    "return cjson.decode('1.5e3')",
    "return cjson.decode('+1')",
    "return cjson.decode('01')",
    "return tostring(cjson.decode('NaN'))",
    "return tostring(cjson.decode('Infinity'))",
    "return tostring(cjson.decode('-Infinity'))",
    "return cjson.decode('[1]\\0garbage')[1]",
    "return cjson.decode('[1,2')",
    "return cjson.decode('')",
    "return cjson.decode('{\"a\" 1}')",
    "return cjson.decode('nul')",
    "return cjson.decode('tru')",
    "return cjson.decode('[1] x')",
    "return cjson.decode('{\"a\":1,}')",
    "return cjson.decode('[1,]')",
    "return cjson.decode('{1:2}')",
    "return cjson.decode('\"\\\\x\"')",
    "return cjson.decode('\"\\\\ud800\"')",
    "return cjson.decode('\"\\\\u00zz\"')",
    "return cjson.decode('\"abc')",
    "return cjson.decode('-')",
    "return cjson.decode('.5')",
    "return cjson.decode('\\0\\0')",
    "return cjson.decode({})",
    "return cjson.decode()",
    "return {cjson._NAME, cjson._VERSION, tostring(cjson.null), type(cjson.null)}",
    "return {cjson.encode_sparse_array()}",
    "return {cjson.encode_max_depth()}",
    "return {cjson.encode_number_precision()}",
    "return cjson.encode_max_depth(0)",
    "return cjson.encode_max_depth(1, 2)",
    "return cjson.encode_number_precision(15)",
    "return cjson.encode_invalid_numbers('x')",
    "local c = cjson.new() c.encode_number_precision(3) return {c.encode(1/3), cjson.encode(1/3)}",
    "local c = cjson.new() c.encode_invalid_numbers(true) "
    "return {c.encode(1/0), c.encode(-1/0), c.encode(0/0)}",
    "local c = cjson.new() c.encode_invalid_numbers('null') return {c.encode(1/0)}",
    "local c = cjson.new() c.encode_sparse_array(true) return c.encode({[1] = 1, [20] = 2})",
    "local c = cjson.new() c.decode_invalid_numbers(false) return c.decode('0x10')",
    "local c = cjson.new() c.decode_max_depth(2) return c.decode('[[[1]]]')",
    "local c = cjson.new() c.encode_max_depth(2) return c.encode({{{1}}})",
]


@pytest.mark.parametrize("script", CJSON)
def test_cjson(diff, script):
    diff.check("EVAL", script, 0)


BIT_AND_STRUCT = [
    "return {bit.tobit(0xffffffff), bit.tobit(2^32 + 5), bit.tobit(1.5), bit.tobit(2.5), bit.tobit(-1.5), bit.tobit('10')}",
    "return {bit.bnot(5), bit.band(7, 3, 1), bit.bor(1, 2, 4), bit.bxor(5, 3)}",
    "return bit.band()",
    "return bit.band('x')",
    "return bit.band(1, {})",
    "return {bit.lshift(1, 33), bit.rshift(-1, 28), bit.arshift(-256, 4), bit.rol(0x12345678, 8), bit.ror(0x12345678, 8), bit.rol(5, 0), bit.ror(5, 32)}",
    "return {bit.bswap(0x12345678), bit.tohex(-1), bit.tohex(255, 2), bit.tohex(255, -4), bit.tohex(0x1234abcd, 10), bit.tohex(1, 0)}",
    "return bit.tohex(1, nil)",
    "return {struct.pack('<i2', -2), struct.pack('>I4', 4294967295), struct.pack('b', -1), struct.pack('B', 255), struct.pack('h', 1), struct.pack('H', 65535)}",
    "return {struct.pack('l', -1), struct.pack('L', 1), struct.pack('f', 1.5), struct.pack('>d', 1.5), struct.pack('c3', 'abcdef'), struct.pack('s', 'ab'), struct.pack('c0', 'xyz')}",
    "return {struct.pack('!4 b i', 1, 2), struct.pack('x b', 1), struct.pack('>i3', 65536 * 2 + 1)}",
    "return struct.pack('z', 1)",
    "return struct.pack('i', 'x')",
    "return struct.pack('i')",
    "return struct.pack('ii', 1)",
    "return struct.pack('c5', 'ab')",
    "return struct.pack('i33', 1)",
    "return struct.pack('!3 i', 1)",
    "return {struct.unpack('<i2', '\\254\\255')}",
    "return {struct.unpack('>I4 b', '\\255\\255\\255\\255\\128')}",
    "return {struct.unpack('s c2', 'hi\\0abz')}",
    "return {struct.unpack('b c0', '\\3abcdef')}",
    "return {struct.unpack('c0', 'abc')}",
    "return {struct.unpack('i4', 'ab')}",
    "return {struct.unpack('s', 'abc')}",
    "return {struct.unpack('b', 'ab', 2)}",
    "return {struct.unpack('b', 'ab', 0)}",
    "return {struct.unpack('>f d', struct.pack('>f d', 1.25, -2.5))}",
    "return {struct.size('i4 b !8 d'), struct.size('c10'), struct.size('x')}",
    "return struct.size('s')",
    "return struct.size('c0')",
]


@pytest.mark.parametrize("script", BIT_AND_STRUCT)
def test_bit_and_struct(diff, script):
    diff.check("EVAL", script, 0)


CMSGPACK = [
    "return {cmsgpack.pack(nil), cmsgpack.pack(true), cmsgpack.pack(false), cmsgpack.pack(0), cmsgpack.pack(-1), cmsgpack.pack(-33), cmsgpack.pack(-129), cmsgpack.pack(-40000), cmsgpack.pack(-3000000000)}",
    "return {cmsgpack.pack(127), cmsgpack.pack(128), cmsgpack.pack(256), cmsgpack.pack(70000), cmsgpack.pack(5000000000), cmsgpack.pack(0.5), cmsgpack.pack(0.1), cmsgpack.pack(1/0), cmsgpack.pack(2^63)}",
    "return {cmsgpack.pack(string.rep('a', 31)), cmsgpack.pack(string.rep('a', 32)), #cmsgpack.pack(string.rep('a', 300)), #cmsgpack.pack(string.rep('a', 70000))}",
    "return {cmsgpack.pack({}), cmsgpack.pack({1, 2}), cmsgpack.pack({a = 1}), cmsgpack.pack({1, nil, 3}), cmsgpack.pack({[2] = 1}), cmsgpack.pack({[1] = 1, [2] = 2, x = 3})}",
    "return cmsgpack.pack({1, 2, 3}, 'abc', 1.5, -5, 300)",
    "local t = {} for i = 1, 20 do t[i] = i end return #cmsgpack.pack(t)",
    "local t = {} t[1] = t return cmsgpack.pack(t)",
    "return cmsgpack.pack(function() end)",
    "return cmsgpack.pack()",
    "return {cmsgpack.unpack('\\147\\1\\2\\3')}",
    "local t = cmsgpack.unpack('\\130\\161a\\1\\161b\\2') return {t.a, t.b}",
    "return {cmsgpack.unpack('\\192\\195\\194\\204\\255\\208\\128\\205\\1\\0\\209\\255\\0\\206\\0\\1\\0\\0\\210\\255\\255\\255\\0')}",
    "return {cmsgpack.unpack('\\203\\63\\248\\0\\0\\0\\0\\0\\0')}",
    "return {cmsgpack.unpack('\\202\\63\\192\\0\\0')}",
    "return {cmsgpack.unpack('\\207\\0\\0\\0\\1\\0\\0\\0\\0\\211\\255\\255\\255\\255\\255\\255\\255\\255')}",
    "return cmsgpack.unpack('\\217\\3abc')",
    "return cmsgpack.unpack('\\147\\1')",
    "return cmsgpack.unpack('\\193')",
    "return cmsgpack.unpack('\\196\\1a')",
    "return {cmsgpack.unpack_one('\\1\\2\\3')}",
    "return {cmsgpack.unpack_one('\\1\\2\\3', 2)}",
    "return {cmsgpack.unpack_limit('\\1\\2\\3', 2)}",
    "return {cmsgpack.unpack_limit('\\1\\2\\3', 0, 1)}",
    "return {cmsgpack.unpack_one('\\1\\2\\3', 5)}",
    "return {cmsgpack.unpack_one('\\1\\2\\3', -1)}",
    "return cmsgpack.unpack()",
    "return {cmsgpack._NAME, cmsgpack._VERSION, cmsgpack._COPYRIGHT, cmsgpack._DESCRIPTION}",
    "return {cmsgpack.unpack(cmsgpack.pack(-1.5, 'x', {1, {2}}, 12345678901))}",
]


@pytest.mark.parametrize("script", CMSGPACK)
def test_cmsgpack(diff, script):
    diff.check("EVAL", script, 0)


def test_math_random_follows_redis_rand48(diff):
    check_scripts(
        diff,
        [
            "math.randomseed(42) return {math.random(1000000), math.random(5, 10), tostring(math.random())}",
            "math.randomseed(7) local t = {} for i = 1, 10 do t[i] = math.random(100) end return t",
            "return math.random(0)",
            "return math.random(1, 2, 3)",
            "return math.random('x')",
            "return math.random(5, 1)",
            "return math.randomseed()",
        ],
        0,
    )


# -- EVALSHA, EVAL_RO, SCRIPT ------------------------------------------------------------------


def test_eval_argument_errors(diff):
    diff.check("EVAL", "return 1", -1)
    diff.check("EVAL", "return 1", 3, "a")
    diff.check("EVAL", "return 1", "abc")
    diff.check("EVAL", "return 1", "1.5")
    diff.check("EVAL", "return 1")
    diff.check("EVALSHA", "short", -1)
    diff.check("EVALSHA", "a" * 40, -1)
    diff.check("EVALSHA", "a" * 40, "x")
    diff.check("EVALSHA", "a" * 40, 0)
    diff.check("EVALSHA_RO", "a" * 40, 0)
    diff.check("EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8d", 0)


def test_script_load_exists_and_evalsha(diff):
    sha = diff.check("SCRIPT", "LOAD", "return ARGV[1] .. '!'")
    sha = sha.split(b"\r\n")[1].decode()
    diff.check("SCRIPT", "EXISTS", sha, "f" * 40, sha.upper())
    diff.check("EVALSHA", sha, 0, "hi")
    diff.check("EVALSHA", sha.upper(), 0, "hi")
    diff.check("EVALSHA_RO", sha, 0, "hi")
    diff.check("SCRIPT", "LOAD", "return +")
    diff.check("SCRIPT", "LOAD", "#!lua flags=bad\nreturn 1")
    diff.check("EVAL", "return 'cached'", 0)
    diff.check("SCRIPT", "EXISTS", "6a1a1a5d1d6e3e2e8cd4fa1b5cba0e5e0e0e0e0e")


def test_script_flush_forgets_scripts(diff):
    sha = diff.check("SCRIPT", "LOAD", "return 'flushed'").split(b"\r\n")[1].decode()
    diff.check("SCRIPT", "FLUSH")
    diff.check("SCRIPT", "EXISTS", sha)
    diff.check("EVALSHA", sha, 0)
    diff.check("SCRIPT", "LOAD", "return 'flushed'")
    diff.check("SCRIPT", "FLUSH", "ASYNC")
    diff.check("SCRIPT", "FLUSH", "sync")
    diff.check("SCRIPT", "FLUSH", "bad")
    diff.check("SCRIPT", "FLUSH", "async", "x")
    diff.check("EVALSHA", sha, 0)


def test_script_subcommands(diff):
    diff.check("SCRIPT", "KILL")
    diff.check("SCRIPT", "HELP")
    diff.check("SCRIPT")
    diff.check("SCRIPT", "NOSUCH")
    diff.check("SCRIPT", "EXISTS")
    diff.check("SCRIPT", "LOAD")
    diff.check("SCRIPT", "DEBUG", "maybe")
    diff.check("SCRIPT", "DEBUG", "no")
    diff.check("FUNCTION", "KILL")


def test_read_only_scripts(diff):
    diff.check("SET", "k", "v")
    diff.check("EVAL_RO", "return redis.call('get', KEYS[1])", 1, "k")
    diff.check("EVAL_RO", "return redis.call('set', KEYS[1], 'x')", 1, "k")
    diff.check("EVAL_RO", "return redis.pcall('del', KEYS[1])", 1, "k")
    diff.check("EVAL_RO", "return redis.call('publish', 'ch', 'x')", 0)
    diff.check("GET", "k")


SHEBANGS = [
    "#!lua\nreturn 1",
    "#!lua",
    "#!lua flags=no-writes\nreturn redis.call('set', 'k', 'v')",
    "#!lua flags=no-writes,allow-oom\nreturn redis.call('get', 'k')",
    "#!lua flags=bad\nreturn 1",
    "#!lua foo=bar\nreturn 1",
    "#!python\nreturn 1",
    "#! lua\nreturn 1",
    "#!lua  flags=no-writes\nreturn 1",
    "#!lua flags=\nreturn 1",
    "#!lua flags=no-cluster\nreturn 1",
    "#!lua flags=allow-stale,allow-cross-slot-keys\nreturn 1",
    "#!lua name=x\nreturn 1",
    "#!lua\nreturn x",
    "#!lua\n\nerror('e')",
    '#!lua "unbalanced\nreturn 1',
]


@pytest.mark.parametrize("script", SHEBANGS)
def test_shebang_flags(diff, script):
    diff.check("EVAL", script, 0)
    diff.check("EVAL_RO", script, 0)


def test_eval_inside_multi(diff):
    diff.check("MULTI")
    diff.check("EVAL", "return redis.call('incr', KEYS[1])", 1, "counter")
    diff.check("EVAL", "return redis.call('incr', KEYS[1])", 1, "counter")
    diff.check("EXEC")


# -- FUNCTION and FCALL ------------------------------------------------------------------------

LIB1 = (
    "#!lua name=lib1\n"
    "redis.register_function('f1', function(keys, args) return {keys[1], args[1]} end)"
)
LIB_RO = (
    "#!lua name=libro\n"
    "redis.register_function{function_name='ro', callback=function(keys, args) "
    "return redis.call('get', keys[1]) end, flags={'no-writes', 'allow-oom'}, "
    "description='reads a key'}"
)


@pytest.fixture
def fdiff(diff):
    """The differ with no function libraries on either server, before and after."""
    diff.check("FUNCTION", "FLUSH")
    yield diff
    diff.check("FUNCTION", "FLUSH")


def test_function_load_and_fcall(fdiff):
    d = fdiff
    d.check("FUNCTION", "LOAD", LIB1)
    d.check("FCALL", "f1", 1, "k", "a")
    d.check("FCALL", "F1", 0)
    d.check("FCALL", "f1", 0)
    d.check("FCALL", "nosuch", 0)
    d.check("FCALL", "f1", "x")
    d.check("FCALL", "f1", -1)
    d.check("FCALL", "f1", 5, "k")
    d.check("FCALL_RO", "f1", 0)
    d.check("FUNCTION", "LOAD", LIB1)
    d.check("FUNCTION", "LOAD", "REPLACE", LIB1.replace("{keys[1], args[1]}", "'replaced'"))
    d.check("FCALL", "f1", 0)
    d.check("FUNCTION", "LOAD", "BADOPT", LIB1)
    d.check(
        "FUNCTION",
        "LOAD",
        "#!lua name=lib2\nredis.register_function('F1', function() return 1 end)",
    )


def test_read_only_functions(fdiff):
    d = fdiff
    d.check("SET", "k", "v")
    d.check("FUNCTION", "LOAD", LIB_RO)
    d.check("FCALL_RO", "ro", 1, "k")
    d.check("FCALL", "ro", 1, "k")
    d.check("FUNCTION", "LIST")
    d.check("FUNCTION", "LIST", "WITHCODE")
    d.check(
        "FUNCTION",
        "LOAD",
        "REPLACE",
        LIB_RO.replace("redis.call('get', keys[1])", "redis.call('set', keys[1], 'x')"),
    )
    d.check("FCALL", "ro", 1, "k")


FUNCTION_LOAD_ERRORS = [
    "#!lua name=libz\nreturn 1",
    "#!lua name=libz\nlocal x = y",
    "#!lua name=libz\nredis.call('ping')",
    "#!lua name=libz\nlocal a = redis.setresp",
    "#!lua name=libz\nlocal a = pairs",
    "#!lua name=libz\nlocal a = string",
    "#!lua\nreturn 1",
    "return 1",
    "#!lua name=libz flags=x\nreturn 1",
    "#!lua name=libz name=y\nreturn 1",
    "#!lua name=bad-name!\nreturn 1",
    "#!lua name=libz",
    "#!python name=libz\nreturn 1",
    "#!lua name=libz\nredis.register_function('bad name!', function() end)",
    "#!lua name=libz\nredis.register_function('f4')",
    "#!lua name=libz\nredis.register_function('f4', 5)",
    "#!lua name=libz\nredis.register_function()",
    "#!lua name=libz\nredis.register_function('a', function() end, 3)",
    "#!lua name=libz\nredis.register_function({}, function() end)",
    "#!lua name=libz\nredis.register_function{callback=function() end}",
    "#!lua name=libz\nredis.register_function{function_name='x'}",
    "#!lua name=libz\nredis.register_function{function_name='x', callback=function() end, flags='no-writes'}",
    "#!lua name=libz\nredis.register_function{function_name='x', callback=function() end, flags={'bad'}}",
    "#!lua name=libz\nredis.register_function{function_name='x', callback=function() end, other=1}",
    "#!lua name=libz\nredis.register_function('fz', function() end) redis.register_function('fz', function() end)",
    "#!lua name=libz\nsyntax error",
    "#!lua name=libz\nerror('boom')",
    "#!lua name=libz\nerror({err='MY x'})",
    "#!lua name=libz\nlocal x = redis.nosuch",
]


@pytest.mark.parametrize("code", FUNCTION_LOAD_ERRORS)
def test_function_load_errors(fdiff, code):
    fdiff.check("FUNCTION", "LOAD", code)
    fdiff.check("FUNCTION", "STATS")


FUNCTION_BODIES = [
    "return redis.setresp",
    "return redis.register_function",
    "return redis.register_function('a', function() end)",
    "return x",
    "return KEYS",
    "error('boom')",
    "return {redis.REDIS_VERSION, type(redis.call), type(cjson)}",
    "return redis.call('incr', keys[1])",
    "return redis.call('nosuch')",
    "return {keys, args}",
    "local t = {} for k, v in pairs(_G) do t[#t + 1] = k end table.sort(t) return t",
]


@pytest.mark.parametrize("body", FUNCTION_BODIES)
def test_function_bodies(fdiff, body):
    code = f"#!lua name=libb\nredis.register_function('fb', function(keys, args) {body} end)"
    fdiff.check("FUNCTION", "LOAD", code)
    fdiff.check("FCALL", "fb", 1, "key", "arg")


def test_function_library_state_lives_between_calls(fdiff):
    code = (
        "#!lua name=counter\nlocal n = 0\n"
        "redis.register_function('bump', function() n = n + 1 return n end)"
    )
    fdiff.check("FUNCTION", "LOAD", code)
    fdiff.check("FCALL", "bump", 0)
    fdiff.check("FCALL", "bump", 0)


def test_function_list_delete_stats(fdiff):
    d = fdiff
    d.check("FUNCTION", "LIST")
    d.check("FUNCTION", "STATS")
    d.check("FUNCTION", "LOAD", LIB_RO)
    d.check("FUNCTION", "LIST", "LIBRARYNAME", "lib*")
    d.check("FUNCTION", "LIST", "LIBRARYNAME", "LIBR*")
    d.check("FUNCTION", "LIST", "LIBRARYNAME", "nomatch*")
    d.check("FUNCTION", "LIST", "LIBRARYNAME")
    d.check("FUNCTION", "LIST", "bad")
    d.check("FUNCTION", "LIST", "WITHCODE", "LIBRARYNAME", "libro")
    d.check("FUNCTION", "STATS")
    d.check("FUNCTION", "DELETE", "nosuch")
    d.check("FUNCTION", "DELETE", "LIBRO")
    d.check("FUNCTION", "DELETE", "libro")
    d.check("FUNCTION", "LIST")
    d.check("FCALL_RO", "ro", 0)


def test_function_flush_dump_restore(fdiff):
    d = fdiff
    d.check("FUNCTION", "LOAD", LIB1)
    payload = d.check("FUNCTION", "DUMP")
    body = payload.split(b"\r\n", 1)[1][:-2]
    d.check("FUNCTION", "RESTORE", body)
    d.check("FUNCTION", "RESTORE", body, "APPEND")
    d.check("FUNCTION", "RESTORE", body, "REPLACE")
    d.check("FUNCTION", "RESTORE", body, "BAD")
    d.check("FUNCTION", "RESTORE", body, "FLUSH", "extra")
    d.check("FUNCTION", "FLUSH")
    d.check("FUNCTION", "RESTORE", body)
    d.check("FCALL", "f1", 1, "k", "a")
    d.check("FUNCTION", "RESTORE", b"garbage")
    d.check("FUNCTION", "RESTORE", body[:-1] + bytes([body[-1] ^ 1]))
    d.check("FUNCTION", "FLUSH", "ASYNC")
    d.check("FUNCTION", "FLUSH", "SYNC")
    d.check("FUNCTION", "FLUSH", "bad")
    d.check("FUNCTION", "DUMP")
    d.check("FUNCTION", "RESTORE", body, "FLUSH")
    d.check("FUNCTION", "LIST")


def test_function_help_and_errors(fdiff):
    d = fdiff
    d.check("FUNCTION", "HELP")
    d.check("FUNCTION")
    d.check("FUNCTION", "NOSUCH")
    d.check("FUNCTION", "LOAD")
    d.check("FUNCTION", "DELETE")
    d.check("FCALL", "f")
    d.check("FCALL")


# -- BUSY and SCRIPT KILL (private servers with a 100 ms limit) --------------------------------


def _wait_for(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("condition not reached in time")


def _busy_exchange(port: int, script: str) -> list[bytes]:
    """Start a never-ending script, then talk to the busy server from other clients."""
    runner = RawClient(port)
    other = RawClient(port)
    try:
        runner.send(_command("EVAL", script, "0"))
        _wait_for(lambda: other.call("PING").startswith(b"-BUSY"))
        replies = [
            other.call("PING"),
            other.call("GET", "x"),
            other.call("MULTI"),
            other.call("SET", "x", "1"),
            other.call("DISCARD"),
            other.call("FUNCTION", "STATS"),
            other.call("FUNCTION", "KILL"),
            other.call("SHUTDOWN"),
        ]
        with RawClient(port) as late:  # accepted while the script runs
            replies.append(late.call("PING"))
        replies.append(other.call("SCRIPT", "KILL"))
        replies.append(runner.read_reply())
        replies.append(other.call("SCRIPT", "KILL"))
        replies.append(other.call("PING"))
        replies.append(runner.call("PING"))
        return replies
    finally:
        runner.close()
        other.close()


def _command(*args: str) -> bytes:
    from tests.support.rawclient import encode_command

    return encode_command(*args)


@pytest.fixture(scope="module")
def busy_servers():
    with server_pair(("--lua-time-limit", "100"), ("--busy-reply-threshold", "100")) as pair:
        yield pair


def test_busy_script_and_script_kill(busy_servers):
    ours, theirs = busy_servers
    for script in (
        "while true do end",
        "local ok = pcall(function() while true do end end) return ok",
    ):
        assert _busy_exchange(ours.port, script) == _busy_exchange(theirs.port, script)


def test_busy_script_that_wrote_is_unkillable(busy_servers):
    results = []
    for server in busy_servers:
        runner, other = RawClient(server.port), RawClient(server.port)
        try:
            runner.send(_command("EVAL", "redis.call('set', 'w', '1') while true do end", "0"))
            _wait_for(lambda other=other: other.call("PING").startswith(b"-BUSY"))
            results.append(other.call("SCRIPT", "KILL"))
        finally:
            runner.close()
            other.close()
    assert results[0] == results[1]
    assert results[0].startswith(b"-UNKILLABLE")


def test_busy_function_and_function_kill(busy_servers):
    code = "#!lua name=spin\nredis.register_function('spin', function() while true do end end)"
    results = []
    for server in busy_servers:
        runner, other = RawClient(server.port), RawClient(server.port)
        try:
            other.call("FUNCTION", "FLUSH")
            other.call("FUNCTION", "LOAD", code)
            runner.send(_command("FCALL", "spin", "0"))
            _wait_for(lambda other=other: other.call("PING").startswith(b"-BUSY"))
            stats = other.call("FUNCTION", "STATS")
            results.append(
                [
                    other.call("PING"),
                    other.call("SCRIPT", "KILL"),
                    stats.split(b"duration_ms")[0],
                    other.call("FUNCTION", "KILL"),
                    runner.read_reply(),
                    other.call("FUNCTION", "KILL"),
                    other.call("FUNCTION", "FLUSH"),
                ]
            )
        finally:
            runner.close()
            other.close()
    assert results[0] == results[1]


def test_shutdown_nosave_stops_a_busy_server():
    results = []
    for start, flag in ((start_rcsim, "--lua-time-limit"), (start_redis, "--busy-reply-threshold")):
        server = start(flag, "100")
        try:
            runner, other = RawClient(server.port), RawClient(server.port)
            runner.send(_command("EVAL", "redis.call('set', 'w', '1') while true do end", "0"))
            _wait_for(lambda other=other: other.call("PING").startswith(b"-BUSY"))
            other.send(_command("SHUTDOWN", "NOSAVE"))
            results.append((other.read_available(1.0), runner.read_available(1.0)))
            server.proc.wait(5)
        finally:
            server.stop()
    assert results[0] == results[1] == ((b"<EOF>", b"<EOF>"))
