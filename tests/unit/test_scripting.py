"""Scripting without sockets: conversions, the busy/kill machinery on a virtual clock, libraries.

Expected bytes come from Redis 7.0.15 (checked by hand against the oracle where a differential
test cannot reach: RESP3 reply types no implemented command returns yet, a fake clock).
"""

from __future__ import annotations

import pytest

from node import core
from node.blocking import Block, blocking_allowed
from node.config import Config
from node.protocol.resp import (
    NULL_ARRAY,
    Bool,
    Double,
    Map,
    SetReply,
    SimpleString,
    Verbatim,
    encode,
)
from node.scripting import libs
from node.scripting.state import scripting
from node.session import Session
from node.state import NodeState, Shutdown
from tests.support.nodes import make_node


class Clock:
    """A monotonic clock that advances ``step_ms`` every time it is read."""

    def __init__(self, step_ms: int = 0) -> None:
        self.now_ns = 0
        self.step_ns = step_ms * 1_000_000

    def __call__(self) -> int:
        self.now_ns += self.step_ns
        return self.now_ns


def make_script_node(step_ms: int = 0) -> NodeState:
    return make_node(Config(), monotonic_ns=Clock(step_ms))


def run(session: Session, *args: bytes | str | int, resp3: bool = False) -> bytes:
    argv = [a if isinstance(a, bytes) else str(a).encode() for a in args]
    return encode(core.execute(session, argv), resp3)


@pytest.fixture
def node():
    return make_script_node()


@pytest.fixture
def session(node):
    return Session(node, 1)


# -- basics ------------------------------------------------------------------------------------


def test_eval_conversions(session):
    assert run(session, "EVAL", "return {1, 'a', 3.9, true, false, {ok='x'}}", 0) == (
        b"*6\r\n:1\r\n$1\r\na\r\n:3\r\n:1\r\n$-1\r\n+x\r\n"
    )
    assert run(session, "EVAL", "return {1, nil, 3}", 0) == b"*1\r\n:1\r\n"
    assert run(session, "EVAL", "return 2^63", 0) == b":-9223372036854775808\r\n"
    session.resp3 = True
    assert run(session, "EVAL", "return {map={a=1}}", 0, resp3=True) == b"%1\r\n$1\r\na\r\n:1\r\n"
    session.resp3 = False
    assert run(session, "EVAL", "return {double=0.1}", 0) == b"$19\r\n0.10000000000000001\r\n"


def test_script_errors_name_the_script_and_line(session):
    sha = "03c387736bb5cc009ff35151572cee04677aa374"
    assert run(session, "EVAL", "return x", 0) == (
        b"-ERR user_script:1: Script attempted to access nonexistent global variable 'x' "
        b"script: " + sha.encode() + b", on @user_script:1.\r\n"
    )
    reply = run(session, "EVAL", "\n\nreturn redis.call('nosuch')", 0)
    assert reply.startswith(b"-ERR Unknown Redis command called from script script: ")
    assert reply.endswith(b", on @user_script:3.\r\n")


def test_error_tables_and_pcall(session):
    assert run(session, "EVAL", "return {err='MY code'}", 0) == b"-MY code\r\n"
    assert run(session, "EVAL", "return redis.error_reply('x')", 0) == b"-ERR x\r\n"
    assert run(session, "EVAL", "return redis.pcall('nosuch')", 0) == (
        b"-ERR Unknown Redis command called from script\r\n"
    )
    assert (
        run(session, "EVAL", "local ok, e = pcall(redis.call, 'nosuch') return e", 0)
        == b"$44\r\nERR Unknown Redis command called from script\r\n"
    )


def test_tail_called_library_errors_keep_the_script_line(session):
    """Library functions behave as C functions: a tail call into them keeps the script frame."""
    reply = run(session, "EVAL", "\nreturn cjson.decode('[')", 0)
    assert reply.startswith(b"-ERR user_script:2: Expected value but found T_END at character 2")
    assert reply.endswith(b"on @user_script:2.\r\n")


def test_globals_are_read_only_and_nothing_leaks(session):
    assert b"Attempt to modify a readonly table" in run(session, "EVAL", "x = 1", 0)
    assert b"Attempt to modify a readonly table" in run(session, "EVAL", "rawset(_G, 'x', 1)", 0)
    assert run(session, "EVAL", "pcall(table.insert, _G, 'v') return #_G", 0) == b":0\r\n"
    assert b"nonexistent global variable 'x'" in run(session, "EVAL", "return x", 0)
    # Functions compiled by loadstring see the protected globals too.
    assert b"Attempt to modify a readonly table" in run(session, "EVAL", "loadstring('y = 1')()", 0)
    for name in ("os", "io", "debug", "require", "loadfile", "dofile", "print", "getfenv"):
        assert b"nonexistent global variable" in run(session, "EVAL", f"return {name}", 0)


def test_script_flush_starts_a_fresh_lua_state(session):
    assert run(session, "EVAL", "return cjson.encode_max_depth(3)", 0) == b":3\r\n"
    assert run(session, "EVAL", "return cjson.encode_max_depth()", 0) == b":3\r\n"
    sha = run(session, "SCRIPT", "LOAD", "return 1")[5:-2]
    assert run(session, "SCRIPT", "FLUSH") == b"+OK\r\n"
    assert run(session, "SCRIPT", "EXISTS", sha) == b"*1\r\n:0\r\n"
    assert run(session, "EVAL", "return cjson.encode_max_depth()", 0) == b":1000\r\n"


def test_select_in_a_script_does_not_change_the_callers_database(node, session):
    run(session, "EVAL", "redis.call('select', 3) redis.call('set', 'k', 'v')", 0)
    assert session.db_index == 0
    assert b"k" in node.dbs[3].data and b"k" not in node.dbs[0].data


def test_cluster_mode_requires_declared_keys_in_one_slot(node, session):
    node.cluster_enabled = True
    assert run(session, "EVAL", "return 1", 2, "a", "b") == (
        b"-CROSSSLOT Keys in request don't hash to the same slot\r\n"
    )
    assert run(session, "EVAL", "return 1", 2, "{t}a", "{t}b") == b":1\r\n"


# -- RESP3 replies of commands, as Lua values -------------------------------------------------


REPLY_CASES = [
    (Map([(b"a", 1)]), "return {type(r), r.map.a}", b"*2\r\n$5\r\ntable\r\n:1\r\n"),
    (SetReply([b"x"]), "return {type(r), r.set.x}", b"*2\r\n$5\r\ntable\r\n:1\r\n"),
    (Double(2.5), "return tostring(r.double)", b"$3\r\n2.5\r\n"),
    (Bool(True), "return {type(r), r}", b"*2\r\n$7\r\nboolean\r\n:1\r\n"),
    (Bool(False), "return type(r) .. tostring(r)", b"$12\r\nbooleanfalse\r\n"),
    (None, "return type(r)", b"$3\r\nnil\r\n"),
    (NULL_ARRAY, "return type(r)", b"$3\r\nnil\r\n"),
    (
        Verbatim(b"text"),
        "return {r.verbatim_string.format, r.verbatim_string.string}",
        b"*2\r\n$3\r\ntxt\r\n$4\r\ntext\r\n",
    ),
    (SimpleString(b"FINE"), "return r.ok", b"$4\r\nFINE\r\n"),
    ([1, [b"x", None]], "return {r[1], r[2][1], r[2][2] == nil}", b"*3\r\n:1\r\n$1\r\nx\r\n:1\r\n"),
]


@pytest.mark.parametrize(("reply", "body", "expected"), REPLY_CASES)
def test_resp3_command_replies_become_lua_values(node, session, reply, body, expected):
    node.commands[b"echo"].handler = lambda ctx, argv: reply
    script = "redis.setresp(3) local r = redis.call('echo', 'x') " + body
    assert run(session, "EVAL", script, 0) == expected


def test_resp2_conversions_of_the_same_replies(node, session):
    node.commands[b"echo"].handler = lambda ctx, argv: Map([(b"a", 1)])
    assert run(session, "EVAL", "return redis.call('echo', 'x')", 0) == b"*2\r\n$1\r\na\r\n:1\r\n"
    node.commands[b"echo"].handler = lambda ctx, argv: Double(1.5)
    assert run(session, "EVAL", "return redis.call('echo', 'x')", 0) == b"$3\r\n1.5\r\n"
    node.commands[b"echo"].handler = lambda ctx, argv: None
    assert run(session, "EVAL", "return redis.call('echo', 'x') == false", 0) == b":1\r\n"


def test_blocking_commands_answer_at_once_inside_scripts(node, session):
    seen = []

    def blocking(ctx, argv):
        seen.append((ctx.in_script, blocking_allowed(ctx)))
        if blocking_allowed(ctx):
            return Block([b"k"], None, NULL_ARRAY)
        return NULL_ARRAY

    node.commands[b"echo"].handler = blocking
    assert run(session, "EVAL", "return redis.call('echo', 'k')", 0) == b"$-1\r\n"
    assert seen == [(True, False)]
    assert session.in_script is False


# -- time limit, BUSY and SCRIPT KILL on a virtual clock -----------------------------------


def busy_node(step_ms: int = 60) -> NodeState:
    node = make_script_node(step_ms)
    node.config.set("busy-reply-threshold", "100")
    return node


def test_script_kill_stops_a_busy_script():
    node = busy_node()
    caller, other = Session(node, 1), Session(node, 2)
    replies = []

    def events():
        state = scripting(node)
        replies.append(encode(state.execute_while_busy(other, [b"PING"]), False))
        replies.append(encode(state.execute_while_busy(other, [b"FUNCTION", b"KILL"]), False))
        replies.append(encode(state.execute_while_busy(other, [b"SCRIPT", b"KILL"]), False))

    node.serve_while_busy = events
    reply = run(caller, "EVAL", "while true do end", 0)
    assert reply.startswith(b"-ERR Script killed by user with SCRIPT KILL... script: ")
    assert replies[:3] == [
        b"-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n",
        b"-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.\r\n",
        b"+OK\r\n",
    ]
    assert run(other, "SCRIPT", "KILL") == b"-NOTBUSY No scripts in execution right now.\r\n"
    assert run(caller, "EVAL", "return 'next'", 0) == b"$4\r\nnext\r\n"


def test_pcall_cannot_swallow_a_kill_on_later_lines():
    node = busy_node()
    caller, other = Session(node, 1), Session(node, 2)
    node.serve_while_busy = lambda: scripting(node).execute_while_busy(other, [b"SCRIPT", b"KILL"])
    script = "pcall(function() while true do end end)\nreturn 'survived'"
    assert b"Script killed by user" in run(caller, "EVAL", script, 0)


def test_a_script_that_wrote_is_unkillable():
    node = busy_node()
    caller, other = Session(node, 1), Session(node, 2)
    answers = []

    def events():
        answers.append(
            encode(scripting(node).execute_while_busy(other, [b"SCRIPT", b"KILL"]), False)
        )
        if len(answers) == 3:
            node.events.append(Shutdown(save=False))

    node.serve_while_busy = events
    script = "redis.call('set', 'k', 'v') while true do end"
    core.execute(caller, [b"EVAL", script.encode(), b"0"])
    assert answers[0].startswith(b"-UNKILLABLE Sorry the script already executed write commands")
    # SHUTDOWN NOSAVE ends it anyway; its caller gets no reply, its connection closes.
    assert caller.close_after_reply and caller.reply_skip == 1


def test_function_kill_and_the_wrong_kill_command():
    node = busy_node()
    caller, other = Session(node, 1), Session(node, 2)
    code = "#!lua name=spin\nredis.register_function('spin', function() while true do end end)"
    assert run(caller, "FUNCTION", "LOAD", code) == b"$4\r\nspin\r\n"
    answers = []

    def events():
        state = scripting(node)
        answers.append(encode(state.execute_while_busy(other, [b"PING"]), False))
        answers.append(encode(state.execute_while_busy(other, [b"SCRIPT", b"KILL"]), False))
        answers.append(encode(state.execute_while_busy(other, [b"FUNCTION", b"KILL"]), False))

    node.serve_while_busy = events
    reply = run(caller, "FCALL", "spin", 0)
    assert reply == (
        b"-ERR Script killed by user with SCRIPT KILL... script: spin, on @user_function:2.\r\n"
    )
    busy = b"-BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.\r\n"
    assert answers[:3] == [busy, busy, b"+OK\r\n"]


def test_commands_allowed_while_busy_still_check_arity_and_multi():
    node = busy_node()
    caller, other, killer = Session(node, 1), Session(node, 2), Session(node, 3)
    answers = []

    def events():
        state = scripting(node)
        for argv in (
            [b"SCRIPT", b"KILL", b"x"],
            [b"NOSUCH"],
            [b"SHUTDOWN"],
            [b"MULTI"],
            [b"GET", b"k"],
            [b"SCRIPT", b"KILL"],  # allowed, then queued inside MULTI, as in Redis
            [b"EXEC"],
        ):
            answers.append(encode(state.execute_while_busy(other, argv), False))
        answers.append(encode(state.execute_while_busy(killer, [b"SCRIPT", b"KILL"]), False))

    node.serve_while_busy = events
    run(caller, "EVAL", "while true do end", 0)
    assert answers[0] == b"-ERR wrong number of arguments for 'script|kill' command\r\n"
    assert answers[1].startswith(b"-ERR unknown command 'NOSUCH'")
    assert answers[2].startswith(b"-BUSY")
    assert answers[3:6] == [b"+OK\r\n", answers[2], b"+QUEUED\r\n"]
    assert answers[6] == b"-EXECABORT Transaction discarded because of: " + answers[2][1:]
    assert answers[7] == b"+OK\r\n"


def test_no_time_limit_means_no_interruptions():
    node = busy_node()
    node.config.set("busy-reply-threshold", "0")
    called = []
    node.serve_while_busy = lambda: called.append(1)
    session = Session(node, 1)
    assert run(session, "EVAL", "local n = 0 for i = 1, 300000 do n = n + 1 end return n", 0) == (
        b":300000\r\n"
    )
    assert called == []


# -- FUNCTION ----------------------------------------------------------------------------------

REDIS_DUMP = (
    b"\xf5\xc3@V@[\x1f#!lua name=mylib\nredis.register_\x0bfunction('my@\x0b\x02', @\x06`\x12"
    b"\x11keys, args) return`\x0c\x07[1] end)\n\x00\x8dY6\xad\xc6\xe7\x07\xda"
)


def test_function_restore_reads_a_redis_payload(session):
    assert run(session, "FUNCTION", "RESTORE", REDIS_DUMP) == b"+OK\r\n"
    assert run(session, "FCALL", "myfunc", 0, "hello") == b"$5\r\nhello\r\n"
    assert encode(core.execute(session, [b"FUNCTION", b"DUMP"]), False) == (
        b"$%d\r\n%s\r\n" % (len(REDIS_DUMP), REDIS_DUMP)
    )


def test_function_restore_policies(session):
    code = "#!lua name=lib\nredis.register_function('f', function() return 1 end)"
    run(session, "FUNCTION", "LOAD", code)
    payload = core.execute(session, [b"FUNCTION", b"DUMP"])
    assert run(session, "FUNCTION", "RESTORE", payload) == b"-ERR Library lib already exists\r\n"
    assert run(session, "FUNCTION", "RESTORE", payload, "REPLACE") == b"+OK\r\n"
    assert run(session, "FUNCTION", "DELETE", "lib") == b"+OK\r\n"
    other = "#!lua name=other\nredis.register_function('f', function() return 2 end)"
    run(session, "FUNCTION", "LOAD", other)
    assert run(session, "FUNCTION", "RESTORE", payload) == b"-ERR Function f already exists\r\n"
    assert run(session, "FUNCTION", "RESTORE", payload, "FLUSH") == b"+OK\r\n"
    assert run(session, "FCALL", "f", 0) == b":1\r\n"


def test_function_names_are_case_insensitive_library_names_are_not(session):
    run(
        session,
        "FUNCTION",
        "LOAD",
        "#!lua name=Lib\nredis.register_function('Fn', function() return 1 end)",
    )
    assert run(session, "FCALL", "fN", 0) == b":1\r\n"
    assert run(session, "FUNCTION", "DELETE", "lib") == b"-ERR Library not found\r\n"
    assert run(session, "FUNCTION", "DELETE", "Lib") == b"+OK\r\n"


# -- libraries ---------------------------------------------------------------------------------


def test_rand48_matches_redis():
    rand = libs.Rand48()
    rand.seed(42)
    r = (rand.next() % 2147483647) / 2147483647
    assert int(r * 1000000) + 1 == 744526


def test_math_random_in_scripts(session):
    script = "math.randomseed(42) return {math.random(1000000), math.random(5, 10)}"
    assert run(session, "EVAL", script, 0) == b"*2\r\n:744526\r\n:7\r\n"


def test_bit_library():
    tobit = libs.BIT_FUNCTIONS["tobit"]
    assert tobit(2.5) == (2,) and tobit(3.5) == (4,) and tobit(2**32 + 5) == (5,)
    assert libs.BIT_FUNCTIONS["tohex"](-1) == (b"ffffffff",)
    assert libs.BIT_FUNCTIONS["tohex"](255, -4) == (b"00FF",)
    assert libs.BIT_FUNCTIONS["rol"](0x12345678, 8) == (0x34567812,)
    with pytest.raises(libs.LuaArgError, match="number expected, got string"):
        libs.BIT_FUNCTIONS["band"](b"x")


def test_struct_library():
    pack, unpack = libs.STRUCT_FUNCTIONS["pack"], libs.STRUCT_FUNCTIONS["unpack"]
    (data,) = pack(b">i2 c3 s", -2, b"abcdef", b"zz")
    assert data == b"\xff\xfeabczz\x00"
    assert unpack(b">i2 c3 s", data) == (-2.0, b"abc", b"zz", 9)
    assert libs.STRUCT_FUNCTIONS["size"](b"!8 b d") == (16,)
    with pytest.raises(libs.LuaArgError, match="integral size 33 is larger than limit of 32"):
        pack(b"i33", 1)


def test_msgpack_numbers():
    assert libs.msgpack_number(5) == b"\x05"
    assert libs.msgpack_number(-33) == b"\xd0\xdf"
    assert libs.msgpack_number(300) == b"\xcd\x01\x2c"
    assert libs.msgpack_number(0.5) == b"\xca\x3f\x00\x00\x00"
    assert libs.msgpack_number(0.1) == b"\xcb\x3f\xb9\x99\x99\x99\x99\x99\x9a"
    assert libs.msgpack_number(2.0**63)[:1] == b"\xca"
    assert libs.msgpack_decode_number(0xD1, b"\xff\x00") == -256.0


def test_function_load_times_out_after_500_ms():
    node = make_script_node(step_ms=60)
    session = Session(node, 1)
    code = "#!lua name=slow\nwhile true do end"
    assert run(session, "FUNCTION", "LOAD", code) == (
        b"-ERR Error registering functions: ERR FUNCTION LOAD timeout\r\n"
    )
    assert run(session, "FUNCTION", "STATS").count(b":0\r\n") == 2


def test_redis_log_goes_to_the_node_logger(session, caplog):
    caplog.set_level("DEBUG", logger="rcsim.node")
    script = (
        "redis.log(redis.LOG_WARNING, 'hello', 'world', 5) "
        "redis.log(redis.LOG_DEBUG, 'too verbose for loglevel notice')"
    )
    assert run(session, "EVAL", script, 0) == b"$-1\r\n"
    messages = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert ("WARNING", "hello world 5") in messages
    assert not any("too verbose" in m for _, m in messages)
