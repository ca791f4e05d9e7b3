"""Tests of :mod:`beamr.protocol`: framing, message validation, the parent state machine.

Everything here is pure, as the module is: bytes in, messages out, messages in, bytes
out. No process, no socket, no event loop.

Values are compared with :func:`canon`, which keeps types and float bits: ``1 == 1.0``,
``0.0 == -0.0`` and ``nan != nan`` would otherwise hide (or invent) differences.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import struct
import sys
import typing
from collections.abc import Callable, Iterator
from typing import Any

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from beamr import protocol as p
from beamr.connection import Done, ParentConnection

# =============================================================================== helpers

#: exactly representable as an IEEE single, and not equal to 0.1
F32_TENTH = 0.10000000149011612
NIL = b"\xc0"  # msgpack nil
MIN_INT = -(1 << 63)  # the most negative int msgpack encodes


def raw_frame(body: bytes) -> bytes:
    """A frame around an arbitrary body (which need not be valid msgpack)."""
    return struct.pack(">I", len(body)) + body


def frame(value: Any) -> bytes:
    """A frame holding ``value``, packed independently of the module under test."""
    return raw_frame(msgpack.packb(value, use_bin_type=True))


def mp(value: Any) -> bytes:
    packed: bytes = msgpack.packb(value, use_bin_type=True)
    return packed


def mp_array(*items: bytes) -> bytes:
    """A msgpack array (at most 15 items) of already packed items."""
    assert len(items) < 16
    return bytes([0x90 + len(items)]) + b"".join(items)


def decode_all(data: bytes, max_frame_size: int = p.DEFAULT_MAX_FRAME_SIZE) -> list[Any]:
    """Every value in ``data``, which must hold whole frames only."""
    decoder = p.FrameDecoder(max_frame_size)
    decoder.feed(data)
    values = []
    while (value := decoder.next_frame()) is not None:
        values.append(value)
    assert decoder.buffered == 0
    return values


def decode_one(data: bytes) -> Any:
    [value] = decode_all(data)
    return value


def split(data: bytes, cuts: list[int]) -> Iterator[bytes]:
    """``data`` in pieces, cut at every offset in ``cuts`` (empty pieces included)."""
    start = 0
    for cut in sorted(cuts):
        yield data[start:cut]
        start = cut
    yield data[start:]


def canon(value: Any) -> Any:
    """A comparable form of ``value`` that keeps types and the bits of floats."""
    if type(value) is float:
        return ("float", struct.pack(">d", value))
    if value is None or type(value) in (bool, int, str, bytes):
        return (type(value).__name__, value)
    if type(value) in (list, tuple):
        return (type(value).__name__, tuple(canon(v) for v in value))
    if type(value) is dict:
        return ("dict", tuple((canon(k), canon(v)) for k, v in value.items()))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = dataclasses.fields(value)
        return (type(value).__name__, tuple(canon(getattr(value, f.name)) for f in fields))
    return ("other", type(value).__name__, repr(value))  # msgpack's ExtType, Timestamp


def assert_identical(actual: Any, expected: Any) -> None:
    assert canon(actual) == canon(expected), f"{actual!r} != {expected!r}"


def float_bits(value: float) -> str:
    return struct.pack(">d", value).hex()


# ============================================================================ strategies

ids = st.integers(0, p.MAX_ID)
wire_ints = st.integers(MIN_INT, p.MAX_ID)  # every int msgpack can carry
numbers = st.one_of(wire_ints, st.floats())  # nan and infinities included
number_lists = st.lists(numbers, max_size=6)
texts = st.text(max_size=12)
blobs = st.binary(max_size=48)
scalars = st.one_of(st.none(), st.booleans(), wire_ints, st.floats(), texts, blobs)
values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(texts, children, max_size=3),
    max_leaves=10,
)

import_answers = st.one_of(
    st.builds(p.ImportResponse, number_lists), st.builds(p.ImportFailed, texts, texts)
)
#: what a parent may send through ParentConnection.send (import answers go elsewhere)
sendable: st.SearchStrategy[p.Command[Any]] = st.one_of(
    st.builds(p.Init, blobs, st.dictionaries(texts, values, max_size=3)),
    st.just(p.Size()),
    st.builds(p.Read, wire_ints, wire_ints),
    st.builds(p.Write, wire_ints, blobs),
    st.builds(p.ReadString, wire_ints),
    st.builds(p.Call, texts, number_lists),
    st.just(p.Serialize()),
    st.builds(p.Deserialize, blobs),
    st.builds(p.Instantiate, st.dictionaries(texts, values, max_size=3)),
    st.builds(p.GetGlobal, texts),
    st.just(p.Batch([["size"], ["read", 0, 4]])),
    st.builds(p.SetGlobal, texts, st.one_of(wire_ints, st.floats())),
    st.builds(p.Probe, texts),
    st.just(p.Stop()),
)
commands = st.one_of(sendable, import_answers)

final_replies: st.SearchStrategy[p.Reply] = st.one_of(
    st.builds(p.Result, st.lists(values, max_size=4).map(tuple)),
    st.just(p.Ok()),
    st.builds(p.Error, texts, texts, st.none() | texts, st.none() | st.lists(texts, max_size=2)),
)
import_requests = st.builds(p.ImportRequest, texts, texts, number_lists, texts)
output_chunks = st.builds(p.OutputChunk, st.sampled_from([1, 2]), blobs)
replies = st.one_of(final_replies, import_requests, output_chunks)


# ============================================================================ round trip

#: one or more examples of every command, with the fields the documentation puts on the
#: wire after ``[id, kind]``
COMMAND_EXAMPLES: list[tuple[p.Command[Any], list[Any]]] = [
    (
        p.Init(b"\x00asm\x01\x00\x00\x00", {"fuel": 10**6, "env": {"A": "b"}, "dirs": []}),
        ["init", b"\x00asm\x01\x00\x00\x00", {"fuel": 10**6, "env": {"A": "b"}, "dirs": []}],
    ),
    (p.Init(b"", {}), ["init", b"", {}]),
    (p.Size(), ["size"]),
    (p.Read(0, 0), ["read", 0, 0]),
    (p.Read(p.MAX_ID, 1 << 32), ["read", p.MAX_ID, 1 << 32]),
    (p.Read(-1, MIN_INT), ["read", -1, MIN_INT]),
    (p.Write(12, b"\x00\xff" * 300), ["write", 12, b"\x00\xff" * 300]),
    (p.Write(0, b""), ["write", 0, b""]),
    (p.ReadString(p.MAX_ID), ["read_string", p.MAX_ID]),
    (p.Locate(0, 0, "read"), ["locate", 0, 0, "read"]),
    (p.Locate(p.MAX_ID, 1 << 40, "write"), ["locate", p.MAX_ID, 1 << 40, "write"]),
    (
        p.Call("add", [1, -2, p.MAX_ID, MIN_INT, 0.5, F32_TENTH, -0.0, math.inf]),
        ["call", "add", [1, -2, p.MAX_ID, MIN_INT, 0.5, F32_TENTH, -0.0, math.inf]],
    ),
    (p.Call("", []), ["call", "", []]),
    (p.ImportResponse([]), ["import_response", []]),
    (p.ImportResponse([F32_TENTH, 1 << 63, -7]), ["import_response", [F32_TENTH, 1 << 63, -7]]),
    (p.ImportFailed("trap", "unreachable"), ["import_error", "trap", "unreachable"]),
    (p.Serialize(), ["serialize"]),
    (p.Deserialize(b"snap\x00shot"), ["deserialize", b"snap\x00shot"]),
    (p.Deserialize(b""), ["deserialize", b""]),
    (p.Instantiate({"wasi": {"args": ["a"]}}), ["instantiate", {"wasi": {"args": ["a"]}}]),
    (p.Instantiate({}), ["instantiate", {}]),
    (p.GetGlobal("counter"), ["get_global", "counter"]),
    (p.Grow(1 << 20), ["grow", 1 << 20]),
    (
        p.Batch([["size"], ["write", 8, b"x"], ["write_string", b"s"], ["call", "f", [[2], 1.5]]]),
        [
            "batch",
            [["size"], ["write", 8, b"x"], ["write_string", b"s"], ["call", "f", [[2], 1.5]]],
        ],
    ),
    (
        p.Batch([["read", [0], 4], ["read_string", 3]]),
        ["batch", [["read", [0], 4], ["read_string", 3]]],
    ),
    (p.SetGlobal("counter", -5), ["set_global", "counter", -5]),
    (p.SetGlobal("f", 0.5), ["set_global", "f", 0.5]),
    (p.Probe("open:/etc/hostname"), ["probe", "open:/etc/hostname"]),
    (p.Stop(), ["stop"]),
]

REPLY_EXAMPLES: list[tuple[p.Reply, list[Any]]] = [
    (p.Result(()), ["execution_result"]),
    (
        p.Result((1, -1, p.MAX_ID, MIN_INT, F32_TENTH, b"\x00\x01", "s", None, True, [1, []], {})),
        [
            "execution_result",
            1,
            -1,
            p.MAX_ID,
            MIN_INT,
            F32_TENTH,
            b"\x00\x01",
            "s",
            None,
            True,
            [1, []],
            {},
        ],
    ),
    (p.Ok(), ["ok"]),
    (p.Error("trap", "boom", None), ["error", "trap", "boom", None, None]),
    (p.Error("trap", "boom", "E42"), ["error", "trap", "boom", "E42", None]),
    (
        p.Error("missing_import", "no", None, ["a.b", "c"]),
        ["error", "missing_import", "no", None, ["a.b", "c"]],
    ),
    (
        p.ImportRequest("env", "log", [1, 2.5, -3], "(i32 f64 i64) -> ()"),
        ["import", "env", "log", [1, 2.5, -3], "(i32 f64 i64) -> ()"],
    ),
    (p.ImportRequest("env", "f", [], ""), ["import", "env", "f", [], ""]),
    (p.OutputChunk(1, b"hello\n"), ["output", 1, b"hello\n"]),
    (p.OutputChunk(2, b""), ["output", 2, b""]),
]


def _name(example: Any) -> str:
    return type(example).__name__


class TestRoundTrip:
    def test_every_command_and_reply_type_has_an_example(self) -> None:
        assert {type(c) for c, _ in COMMAND_EXAMPLES} == set(p.COMMANDS.values())
        assert {type(r) for r, _ in REPLY_EXAMPLES} == set(typing.get_args(p.Reply))

    @pytest.mark.parametrize(("command", "wire"), COMMAND_EXAMPLES, ids=_name)
    def test_command(self, command: p.Command[Any], wire: list[Any]) -> None:
        data = p.encode_command(42, command)
        value = decode_one(data)
        assert_identical(value, [42, *wire])  # the documented wire form
        command_id, parsed = p.parse_command(value)
        assert command_id == 42
        assert_identical(parsed, command)

    @pytest.mark.parametrize(("reply", "wire"), REPLY_EXAMPLES, ids=_name)
    def test_reply(self, reply: p.Reply, wire: list[Any]) -> None:
        value = decode_one(p.encode_reply(42, reply))
        assert_identical(value, [42, *wire])
        command_id, parsed = p.parse_reply(value)
        assert command_id == 42
        assert_identical(parsed, reply)

    def test_exact_bytes_of_a_frame(self) -> None:
        # 4-byte big-endian length, then fixarray(4) [7, "read", 1, 2]
        assert p.encode_command(7, p.Read(1, 2)) == bytes.fromhex("00000009") + bytes.fromhex(
            "94 07 a4 72656164 01 02"
        )

    @pytest.mark.parametrize("command_id", [0, 1, 127, 1 << 32, p.MAX_ID])
    def test_extreme_ids(self, command_id: int) -> None:
        assert p.parse_command(decode_one(p.encode_command(command_id, p.Size())))[0] == command_id
        assert p.parse_reply(decode_one(p.encode_reply(command_id, p.Ok())))[0] == command_id

    def test_f32_exact_value_survives_bit_exactly(self) -> None:
        assert struct.unpack(">f", struct.pack(">f", F32_TENTH))[0] == F32_TENTH
        _, call = p.parse_command(decode_one(p.encode_command(1, p.Call("f", [F32_TENTH, 0.1]))))
        assert isinstance(call, p.Call)
        assert [float_bits(a) for a in call.args] == [float_bits(F32_TENTH), float_bits(0.1)]

    def test_a_float32_sent_by_the_worker_decodes_exactly(self) -> None:
        body = msgpack.packb([1, "execution_result", F32_TENTH], use_single_float=True)
        assert b"\xca" in body  # really a float32 on the wire
        _, reply = p.parse_reply(decode_one(raw_frame(body)))
        assert isinstance(reply, p.Result)
        assert float_bits(reply.values[0]) == float_bits(F32_TENTH)

    def test_special_floats_keep_their_bits(self) -> None:
        specials = [-0.0, math.inf, -math.inf, math.nan, 5e-324, sys.float_info.max]
        _, call = p.parse_command(decode_one(p.encode_command(1, p.Call("f", specials))))
        assert isinstance(call, p.Call)
        assert [float_bits(a) for a in call.args] == [float_bits(s) for s in specials]

    def test_ints_stay_ints_and_floats_stay_floats(self) -> None:
        _, call = p.parse_command(decode_one(p.encode_command(1, p.Call("f", [1, 1.0, 0, 0.0]))))
        assert isinstance(call, p.Call)
        assert [type(a) for a in call.args] == [int, float, int, float]

    def test_encoding_something_else_is_a_type_error(self) -> None:
        with pytest.raises(TypeError):
            p.encode_command(1, p.Ok())  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            p.encode_reply(1, p.Size())  # type: ignore[arg-type]

    @settings(max_examples=100)
    @given(command_id=ids, command=commands)
    def test_any_command(self, command_id: int, command: p.Command[Any]) -> None:
        parsed = p.parse_command(decode_one(p.encode_command(command_id, command)))
        assert_identical(parsed, (command_id, command))

    @settings(max_examples=100)
    @given(command_id=ids, reply=replies)
    def test_any_reply(self, command_id: int, reply: p.Reply) -> None:
        parsed = p.parse_reply(decode_one(p.encode_reply(command_id, reply)))
        assert_identical(parsed, (command_id, reply))


# ========================================================================= frame decoder


class TestIncrementalDecoding:
    FRAMES = (
        p.encode_command(1, p.Call("run", [1, -2, F32_TENTH, p.MAX_ID])),
        p.encode_command(2, p.Write(0, bytes(range(256)))),
        p.encode_reply(3, p.Error("trap", "unreachable", None)),
    )

    @pytest.mark.parametrize("data", FRAMES, ids=["call", "write", "error"])
    def test_split_at_every_byte_boundary(self, data: bytes) -> None:
        expected = decode_one(data)
        for cut in range(len(data) + 1):
            decoder = p.FrameDecoder()
            decoder.feed(data[:cut])
            assert decoder.buffered == cut
            if cut < len(data):
                assert decoder.next_frame() is None
                assert decoder.buffered == cut  # nothing lost while waiting
            decoder.feed(data[cut:])
            assert_identical(decoder.next_frame(), expected)
            assert decoder.next_frame() is None
            assert decoder.buffered == 0

    def test_one_byte_at_a_time(self) -> None:
        data = b"".join(self.FRAMES)
        decoder = p.FrameDecoder()
        got = []
        for i in range(len(data)):
            decoder.feed(data[i : i + 1])
            while (value := decoder.next_frame()) is not None:
                got.append((i, value))
        ends = [len(b"".join(self.FRAMES[: n + 1])) - 1 for n in range(len(self.FRAMES))]
        assert [i for i, _ in got] == ends  # each frame out as soon as its last byte is in
        assert_identical([v for _, v in got], [decode_one(f) for f in self.FRAMES])

    def test_several_frames_in_one_chunk(self) -> None:
        decoder = p.FrameDecoder()
        decoder.feed(b"".join(self.FRAMES) + self.FRAMES[0][:7])
        for expected in self.FRAMES:
            assert_identical(decoder.next_frame(), decode_one(expected))
        assert decoder.next_frame() is None
        assert decoder.buffered == 7
        decoder.feed(self.FRAMES[0][7:])
        assert_identical(decoder.next_frame(), decode_one(self.FRAMES[0]))
        assert decoder.buffered == 0

    def test_accepts_bytearray_and_memoryview(self) -> None:
        data = self.FRAMES[0]
        decoder = p.FrameDecoder()
        decoder.feed(bytearray(data[:5]))
        decoder.feed(memoryview(data)[5:])
        assert_identical(decoder.next_frame(), decode_one(data))

    def test_frames_spanning_the_buffer_compaction(self) -> None:
        # over 1 MiB consumed with a partial frame behind it: the buffer is compacted
        frames = [p.encode_command(i, p.Write(i, bytes([i]) * 700_000)) for i in range(1, 5)]
        stream = b"".join(frames)
        cut = len(b"".join(frames[:3])) + 10
        decoder = p.FrameDecoder()
        decoder.feed(stream[:cut])
        for i in (1, 2, 3):
            assert p.parse_command(decoder.next_frame()) == (i, p.Write(i, bytes([i]) * 700_000))
        assert decoder.next_frame() is None
        assert decoder.buffered == 10
        decoder.feed(stream[cut:])
        assert p.parse_command(decoder.next_frame()) == (4, p.Write(4, bytes([4]) * 700_000))
        assert decoder.buffered == 0

    @settings(max_examples=100)
    @given(
        messages=st.lists(
            st.one_of(
                st.tuples(st.just("command"), ids, commands),
                st.tuples(st.just("reply"), ids, replies),
            ),
            max_size=8,
        ),
        data=st.data(),
    )
    def test_random_chunks_give_back_the_same_messages_in_order(
        self, messages: list[tuple[str, int, Any]], data: st.DataObject
    ) -> None:
        stream = b"".join(
            p.encode_command(i, m) if side == "command" else p.encode_reply(i, m)
            for side, i, m in messages
        )
        cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=12), label="cuts")
        decoder = p.FrameDecoder()
        got: list[Any] = []
        for chunk in split(stream, cuts):
            decoder.feed(chunk)
            while (value := decoder.next_frame()) is not None:
                parse = p.parse_command if messages[len(got)][0] == "command" else p.parse_reply
                got.append(parse(value))
        assert_identical(got, [(i, m) for _, i, m in messages])
        assert decoder.buffered == 0


class TestFrameLimits:
    def test_oversized_frame_is_refused_from_its_header_alone(self) -> None:
        decoder = p.FrameDecoder(max_frame_size=100)
        decoder.feed(struct.pack(">I", 101))
        with pytest.raises(p.ProtocolError, match="101"):
            decoder.next_frame()

    def test_header_announcing_4_gib_is_refused_by_default(self) -> None:
        decoder = p.FrameDecoder()
        decoder.feed(b"\xff\xff\xff\xff")
        with pytest.raises(p.ProtocolError):
            decoder.next_frame()

    def test_frame_of_exactly_the_limit_is_accepted(self) -> None:
        data = p.encode_command(1, p.Deserialize(b"x" * 50))
        size = len(data) - 4
        assert decode_all(data, max_frame_size=size)
        with pytest.raises(p.ProtocolError):
            decode_all(data, max_frame_size=size - 1)

    def test_default_limit_admits_a_2_gib_snapshot(self) -> None:
        decoder = p.FrameDecoder()
        decoder.feed(struct.pack(">I", (1 << 31) + 64))
        assert decoder.next_frame() is None  # waits for the body instead of refusing

    def test_zero_length_frame(self) -> None:
        decoder = p.FrameDecoder()
        decoder.feed(b"\x00\x00\x00\x00")
        with pytest.raises(p.ProtocolError):
            decoder.next_frame()

    @pytest.mark.parametrize(
        "body",
        [
            pytest.param(b"\xc1", id="reserved-byte"),
            pytest.param(b"\x92\x01", id="array-cut-short"),
            pytest.param(b"\xa5abc", id="str-cut-short"),
            pytest.param(b"\xa2\xff\xfe", id="invalid-utf8"),
            pytest.param(b"\x81\x01\x02", id="int-map-key"),
            pytest.param(mp([1, "ok"]) + b"\x00", id="trailing-byte"),
            pytest.param(mp([1, "ok"]) + mp([2, "ok"]), id="two-values"),
        ],
    )
    def test_undecodable_body(self, body: bytes) -> None:
        decoder = p.FrameDecoder()
        decoder.feed(raw_frame(body) + p.encode_reply(9, p.Ok()))
        with pytest.raises(p.ProtocolError):
            decoder.next_frame()

    def test_a_nil_frame_is_not_mistaken_for_missing_bytes(self) -> None:
        decoder = p.FrameDecoder()
        decoder.feed(raw_frame(NIL) + p.encode_reply(1, p.Ok()))
        try:
            value = decoder.next_frame()
        except p.ProtocolError:
            return  # refusing the frame would be right too
        assert value is not None, f"complete frame swallowed, {decoder.buffered} bytes left"


# ============================================================================ validation

#: malformed whatever the side: neither a command nor a reply
BAD_ENVELOPES = [
    pytest.param(5, id="int"),
    pytest.param("size", id="str"),
    pytest.param(b"\x01", id="bytes"),
    pytest.param(None, id="nil"),
    pytest.param({"id": 1, "kind": "ok"}, id="map"),
    pytest.param((1, "ok"), id="tuple"),
    pytest.param([], id="empty"),
    pytest.param([1], id="id-only"),
    pytest.param(["ok"], id="kind-only"),
    pytest.param([-1, "ok"], id="id-negative"),
    pytest.param([p.MAX_ID + 1, "ok"], id="id-too-big"),
    pytest.param([True, "ok"], id="id-bool"),
    pytest.param([False, "ok"], id="id-false"),
    pytest.param(["1", "ok"], id="id-str"),
    pytest.param([1.0, "ok"], id="id-float"),
    pytest.param([None, "ok"], id="id-nil"),
    pytest.param([b"\x01", "ok"], id="id-bytes"),
    pytest.param([1, b"ok"], id="kind-bytes"),
    pytest.param([1, 3], id="kind-int"),
    pytest.param([1, None], id="kind-nil"),
    pytest.param([1, ["ok"]], id="kind-list"),
    pytest.param([1, ""], id="kind-empty"),
    pytest.param([1, "nope"], id="kind-unknown"),
    pytest.param([1, "OK"], id="kind-wrong-case"),
]

BAD_COMMANDS = [
    # a reply kind is not a command
    [1, "ok"],
    [1, "execution_result"],
    [1, "error", "k", "t", None, None],
    # no fields
    [1, "size", 0],
    [1, "serialize", b""],
    [1, "output", None],
    [1, "instantiate"],
    [1, "instantiate", []],
    [1, "get_global", 1],
    [1, "set_global", "g"],
    [1, "set_global", "g", "1"],
    [1, "set_global", "g", True],
    [1, "set_global", "g", None],
    [1, "batch"],
    [1, "batch", "size"],
    [1, "batch", [["nope"]]],
    [1, "batch", [[]]],
    [1, "batch", [["size", 1]]],
    [1, "batch", [["read", "0", 4]]],
    [1, "batch", [["write", 0, "text"]]],
    [1, "batch", [["call", 1, []]]],
    [1, "batch", [["set_global", "g", True]]],
    [1, "batch", ["size"]],
    [1, "stop", 1],
    # read: offset, size
    [1, "read", "0", 4],
    [1, "read", 0, "4"],
    [1, "read", 0.0, 4],
    [1, "read", True, 4],
    [1, "read", 0, False],
    [1, "read", 0, None],
    [1, "read", 0],
    [1, "read", 0, 4, 5],
    # locate: offset, size, access
    [1, "locate", 0, 4],
    [1, "locate", 0, 4, "execute"],
    [1, "locate", 0, 4, b"read"],
    [1, "locate", "0", 4, "read"],
    [1, "locate", 0, 4.0, "read"],
    [1, "locate", 0, 4, "read", 1],
    # write: offset, data
    [1, "write", 0, "data"],
    [1, "write", "0", b"data"],
    [1, "write", True, b"data"],
    [1, "write", 0, [1, 2]],
    [1, "write", 0],
    [1, "write", 0, b"", b""],
    # read_string: offset
    [1, "read_string"],
    [1, "read_string", b"0"],
    [1, "read_string", False],
    [1, "read_string", 0, 1],
    # call: name, args
    [1, "call", "f", 3],
    [1, "call", "f", "1,2"],
    [1, "call", "f", {"a": 1}],
    [1, "call", "f", None],
    [1, "call", "f", [1, "2"]],
    [1, "call", "f", [True]],
    [1, "call", "f", [1, False]],
    [1, "call", "f", [None]],
    [1, "call", "f", [b"\x01"]],
    [1, "call", "f", [[1]]],
    [1, "call", b"f", []],
    [1, "call", None, []],
    [1, "call", "f"],
    [1, "call", "f", [], []],
    # import_response: results
    [1, "import_response", 1],
    [1, "import_response", [True]],
    [1, "import_response", ["1"]],
    [1, "import_response", [b"1"]],
    [1, "import_response"],
    [1, "import_response", [1], [2]],
    # import_error: kind, text
    [1, "import_error", "k"],
    [1, "import_error", "k", None],
    [1, "import_error", 1, "t"],
    [1, "import_error", "k", b"t"],
    [1, "import_error", "k", "t", "x"],
    # init: binary, options
    [1, "init", b"\x00asm"],
    [1, "init", "\x00asm", {}],
    [1, "init", b"\x00asm", []],
    [1, "init", b"\x00asm", None],
    [1, "init", b"\x00asm", {}, {}],
    # deserialize: data
    [1, "deserialize", "snapshot"],
    [1, "deserialize"],
    [1, "deserialize", b"", b""],
    # probe: what
    [1, "probe"],
    [1, "probe", b"what"],
    [1, "probe", "a", "b"],
]

BAD_REPLIES = [
    # output: stream 1 or 2, bytes
    [1, "output", 0, b"x"],
    [1, "output", 3, b"x"],
    [1, "output", 1, "x"],
    [1, "output", True, b"x"],
    [1, "output", 1],
    # a command kind is not a reply
    [1, "size"],
    [1, "call", "f", []],
    [1, "result"],
    # ok: no fields
    [1, "ok", None],
    [1, "ok", 1],
    # error: kind, text, code (str or nil)
    [1, "error"],
    [1, "error", "k", "t"],
    [1, "error", "k", "t", None],
    [1, "error", "k", "t", None, "detail"],
    [1, "error", 1, "t", None],
    [1, "error", "k", b"t", None],
    [1, "error", None, "t", None],
    [1, "error", "k", "t", 5],
    [1, "error", "k", "t", False],
    [1, "error", "k", "t", b"E1"],
    # import: module, name, args, signature
    [1, "import", "m", "n", [1]],
    [1, "import", "m", "n", [1], "s", 1],
    [1, "import", "m", "n", [True], "s"],
    [1, "import", "m", "n", [1, "2"], "s"],
    [1, "import", "m", "n", [[1]], "s"],
    [1, "import", "m", "n", "1", "s"],
    [1, "import", "m", "n", None, "s"],
    [1, "import", b"m", "n", [], "s"],
    [1, "import", "m", 2, [], "s"],
    [1, "import", "m", "n", [], None],
]


def _shown(value: Any) -> str:
    return repr(value)[:60]


class TestValidation:
    @pytest.mark.parametrize("value", BAD_ENVELOPES)
    @pytest.mark.parametrize("parse", [p.parse_command, p.parse_reply], ids=["command", "reply"])
    def test_bad_envelope(self, parse: Callable[[Any], Any], value: Any) -> None:
        with pytest.raises(p.ProtocolError):
            parse(value)

    @pytest.mark.parametrize("value", BAD_COMMANDS, ids=_shown)
    def test_bad_command(self, value: list[Any]) -> None:
        with pytest.raises(p.ProtocolError):
            p.parse_command(value)

    @pytest.mark.parametrize("value", BAD_REPLIES, ids=_shown)
    def test_bad_reply(self, value: list[Any]) -> None:
        with pytest.raises(p.ProtocolError):
            p.parse_reply(value)

    @pytest.mark.parametrize(
        ("parse", "value"),
        [
            (p.parse_command, [1, "call", "f", [1, True, 2.0]]),
            (p.parse_command, [1, "import_response", [0, False]]),
            (p.parse_reply, [1, "import", "env", "f", [True], "(i32) -> ()"]),
            (p.parse_command, [1, "read", True, 1]),
            (p.parse_command, [1, "write", False, b""]),
            (p.parse_command, [1, "read_string", True]),
            (p.parse_reply, [True, "ok"]),
        ],
        ids=_shown,
    )
    def test_bool_is_not_a_number(self, parse: Callable[[Any], Any], value: Any) -> None:
        """msgpack has a bool type; Python's True is an int, the protocol's is not."""
        with pytest.raises(p.ProtocolError):
            parse(value)

    def test_the_same_values_as_ints_are_accepted(self) -> None:
        # the counterpart of test_bool_is_not_a_number: only the bool type was refused
        assert p.parse_command([1, "call", "f", [1, 1, 2.0]]) == (1, p.Call("f", [1, 1, 2.0]))
        assert p.parse_command([1, "read", 1, 1]) == (1, p.Read(1, 1))
        assert p.parse_reply([1, "ok"]) == (1, p.Ok())

    def test_execution_result_values_are_untyped(self) -> None:
        # their meaning depends on the command answered, so anything goes
        value = [5, "execution_result", True, None, b"x", [1, "a"], {"k": 1.5}]
        assert p.parse_reply(value) == (5, p.Result((True, None, b"x", [1, "a"], {"k": 1.5})))


# ================================================================================== fuzz


def drain(data: bytes, max_frame_size: int, cuts: list[int]) -> int:
    """Decode and parse everything in ``data`` as both sides would; frames parsed.

    Only :class:`ProtocolError` may come out of the module. A decoder error ends the
    stream (it cannot be resynchronised); a message error does not.
    """
    decoder = p.FrameDecoder(max_frame_size)
    frames = 0
    for chunk in split(data, cuts):
        decoder.feed(chunk)
        while True:
            before = decoder.buffered
            try:
                value = decoder.next_frame()
            except p.ProtocolError:
                return frames
            if value is None:
                break
            assert decoder.buffered <= before - 5  # progress: a header and a body
            frames += 1
            check_parses(value)
    return frames


def check_parses(value: Any) -> None:
    """Parse ``value`` both ways; whatever is accepted must re-encode to ``value``."""
    with contextlib.suppress(p.ProtocolError):
        command_id, command = p.parse_command(value)
        assert_identical(decode_one(p.encode_command(command_id, command)), value)
    with contextlib.suppress(p.ProtocolError):
        command_id, reply = p.parse_reply(value)
        assert_identical(decode_one(p.encode_reply(command_id, reply)), value)


@st.composite
def mutated_streams(draw: st.DrawFn) -> bytes:
    """Valid frames, then a few bytes overwritten, inserted or deleted."""
    parts = draw(
        st.lists(
            st.one_of(
                st.tuples(ids, commands).map(lambda m: p.encode_command(*m)),
                st.tuples(ids, replies).map(lambda m: p.encode_reply(*m)),
            ),
            min_size=1,
            max_size=4,
        )
    )
    data = bytearray(b"".join(parts))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        how = draw(st.sampled_from(["set", "insert", "delete"]))
        byte = draw(st.integers(0, 255))
        if how == "set" and at < len(data):
            data[at] = byte
        elif how == "insert":
            data.insert(at, byte)
        elif at < len(data):
            del data[at]
    return bytes(data)


#: frames with random bodies: the decoder gets past the header into msgpack
random_frames = st.lists(st.binary(max_size=40).map(raw_frame), max_size=6).map(b"".join)

KINDS = [
    "init", "size", "read", "write", "read_string", "call", "import_response",
    "import_error", "serialize", "deserialize", "instantiate", "get_global", "set_global",
    "batch",
    "probe", "stop", "execution_result", "ok", "error", "import", "output",
]  # fmt: skip

#: message-shaped values, most of them wrong somewhere
message_like = st.one_of(
    values,
    st.tuples(
        st.one_of(ids, st.integers(), st.booleans(), st.floats(), texts, st.none()),
        st.one_of(st.sampled_from(KINDS), texts, wire_ints, st.none()),
        st.lists(st.one_of(values, number_lists, st.booleans()), max_size=6),
    ).map(lambda t: [t[0], t[1], *t[2]]),
)


class TestFuzz:
    @settings(max_examples=200, deadline=None)
    @given(
        data=st.one_of(st.binary(max_size=300), random_frames, mutated_streams()),
        max_frame_size=st.sampled_from([16, 64, 1024, p.DEFAULT_MAX_FRAME_SIZE]),
        cuts=st.lists(st.integers(0, 400), max_size=6),
    )
    def test_bytes_never_raise_anything_but_protocol_error(
        self, data: bytes, max_frame_size: int, cuts: list[int]
    ) -> None:
        frames = drain(data, max_frame_size, [c for c in cuts if c <= len(data)])
        assert frames <= len(data) // 5

    @settings(max_examples=250, suppress_health_check=[HealthCheck.too_slow])
    @given(value=message_like)
    def test_values_never_raise_anything_but_protocol_error(self, value: Any) -> None:
        check_parses(value)


# Nesting costs one byte a level. msgpack decodes up to 1024 levels; on CPython 3.11
# repr() of a list nested ~1000 deep raises RecursionError (3.12 and later cope).
DEEP = b"\x91" * 1020 + b"\x00"  # [[[...[0]...]]]


class TestDeeplyNestedFrames:
    @pytest.mark.parametrize(
        ("parse", "body"),
        [
            pytest.param(p.parse_command, mp_array(DEEP), id="whole-message"),
            pytest.param(p.parse_reply, mp_array(DEEP, mp("ok")), id="id"),
            pytest.param(p.parse_command, mp_array(mp(1), DEEP), id="kind"),
            pytest.param(p.parse_command, mp_array(mp(1), mp("call"), mp("f"), DEEP), id="args"),
            pytest.param(
                p.parse_command, mp_array(mp(1), mp("import_response"), DEEP), id="results"
            ),
            pytest.param(
                p.parse_reply, mp_array(mp(1), mp("error"), DEEP, mp("t"), NIL), id="error"
            ),
            pytest.param(
                p.parse_reply,
                mp_array(mp(1), mp("import"), mp("m"), mp("n"), DEEP, mp("s")),
                id="import-args",
            ),
        ],
    )
    def test_parse_raises_protocol_error(self, parse: Callable[[Any], Any], body: bytes) -> None:
        value = decode_one(raw_frame(body))  # msgpack itself accepts the frame
        with pytest.raises(p.ProtocolError):
            parse(value)

    def test_parent_connection_breaks(self) -> None:
        conn = ParentConnection()
        conn.send(p.Size())
        conn.receive_data(raw_frame(mp_array(mp(1), mp("error"), DEEP, mp("t"), NIL)))
        with pytest.raises(p.ProtocolError):
            conn.next_event()
        assert conn.broken is not None


# ===================================================================== parent connection


def sent(data: bytes) -> tuple[int, p.Command[Any]]:
    """What the worker reads from one frame the parent sent."""
    return p.parse_command(decode_one(data))


def worker_says(conn: ParentConnection, command_id: int, reply: p.Reply) -> Any:
    conn.receive_data(p.encode_reply(command_id, reply))
    return conn.next_event()


def assert_broken(conn: ParentConnection) -> None:
    assert isinstance(conn.broken, p.ProtocolError)
    with pytest.raises(p.ProtocolError, match="broken"):
        conn.next_event()
    with pytest.raises(p.ProtocolError, match="broken"):
        conn.send(p.Size())
    with pytest.raises(p.ProtocolError, match="broken"):
        conn.answer_import(p.ImportResponse([]))


def call_awaiting_import(conn: ParentConnection) -> int:
    """Send a call and let the worker ask for an import; the call's id."""
    pending, _ = conn.send(p.Call("outer", [1]))
    owner, request = worker_says(conn, pending.command_id, p.ImportRequest("env", "f", [2], "s"))
    assert owner is pending
    assert isinstance(request, p.ImportRequest)
    command_id: int = pending.command_id
    return command_id


class TestParentConnection:
    def test_a_command_and_its_reply(self) -> None:
        conn = ParentConnection()
        pending, data = conn.send(p.Read(8, 4))
        assert sent(data) == (pending.command_id, p.Read(8, 4))
        assert pending.command == p.Read(8, 4)
        assert conn.stack == [pending]
        assert conn.next_event() is None  # nothing received yet
        reply = p.Result((b"\x01\x02\x03\x04",))
        assert worker_says(conn, pending.command_id, reply) == (pending, Done(b"\x01\x02\x03\x04"))
        assert conn.stack == []
        assert conn.broken is None

    def test_a_reply_in_pieces(self) -> None:
        conn = ParentConnection()
        pending, _ = conn.send(p.Size())
        data = p.encode_reply(pending.command_id, p.Result((65536,)))
        for i in range(len(data) - 1):
            conn.receive_data(data[i : i + 1])
            assert conn.next_event() is None
        conn.receive_data(data[-1:])
        assert conn.next_event() == (pending, Done(65536))

    def test_ids_increase(self) -> None:
        conn = ParentConnection()
        seen = []
        for command, reply in (
            (p.Size(), p.Result((0,))),
            (p.Read(0, 1), p.Result((b"x",))),
            (p.Call("f", []), p.Result(([],))),
            (p.Stop(), p.Ok()),
        ):
            pending, data = conn.send(command)
            assert sent(data)[0] == pending.command_id
            seen.append(pending.command_id)
            worker_says(conn, pending.command_id, reply)
        outer = call_awaiting_import(conn)
        nested, _ = conn.send(p.Size())
        seen += [outer, nested.command_id]
        assert seen == sorted(set(seen))

    def test_reply_with_the_wrong_id_breaks_the_connection(self) -> None:
        conn = ParentConnection()
        pending, _ = conn.send(p.Size())
        with pytest.raises(p.ProtocolError):
            worker_says(conn, pending.command_id + 1, p.Ok())
        assert_broken(conn)

    def test_late_reply_for_an_answered_command(self) -> None:
        conn = ParentConnection()
        first, _ = conn.send(p.Size())
        worker_says(conn, first.command_id, p.Result((1,)))
        conn.send(p.Size())
        with pytest.raises(p.ProtocolError):
            worker_says(conn, first.command_id, p.Result((1,)))
        assert_broken(conn)

    def test_unsolicited_reply(self) -> None:
        conn = ParentConnection()
        with pytest.raises(p.ProtocolError, match="unsolicited"):
            worker_says(conn, 1, p.Ok())
        assert_broken(conn)

    def test_malformed_frame_breaks_the_connection(self) -> None:
        conn = ParentConnection()
        conn.send(p.Size())
        conn.receive_data(frame([1, "ok", "extra"]))
        with pytest.raises(p.ProtocolError):
            conn.next_event()
        assert_broken(conn)

    def test_oversized_frame_breaks_the_connection(self) -> None:
        conn = ParentConnection(max_frame_size=32)
        pending, _ = conn.send(p.Serialize())
        conn.receive_data(p.encode_reply(pending.command_id, p.Result((b"s" * 64,)))[:4])
        with pytest.raises(p.ProtocolError):
            conn.next_event()
        assert_broken(conn)

    def test_nil_frame_breaks_the_connection(self) -> None:
        conn = ParentConnection()
        pending, _ = conn.send(p.Size())
        conn.receive_data(raw_frame(NIL) + p.encode_reply(pending.command_id, p.Ok()))
        with pytest.raises(p.ProtocolError):
            conn.next_event()
        assert conn.broken is not None

    def test_import_request_pops_nothing_and_marks_the_call(self) -> None:
        conn = ParentConnection()
        pending, _ = conn.send(p.Call("f", [1]))
        request = p.ImportRequest("env", "g", [1, 2.5], "(i32 f64) -> i32")
        assert worker_says(conn, pending.command_id, request) == (pending, request)
        assert conn.stack == [pending]
        assert pending.awaiting_import
        data = conn.answer_import(p.ImportResponse([7]))
        assert sent(data) == (pending.command_id, p.ImportResponse([7]))
        assert not pending.awaiting_import
        # the call may import again, then finish
        worker_says(conn, pending.command_id, request)
        assert sent(conn.answer_import(p.ImportFailed("trap", "no"))) == (
            pending.command_id,
            p.ImportFailed("trap", "no"),
        )
        assert worker_says(conn, pending.command_id, p.Result(([3],))) == (pending, Done([3]))
        assert conn.stack == []

    def test_answer_import_without_an_outstanding_import(self) -> None:
        conn = ParentConnection()
        with pytest.raises(p.ProtocolError):
            conn.answer_import(p.ImportResponse([]))
        pending, _ = conn.send(p.Call("f", []))
        with pytest.raises(p.ProtocolError):
            conn.answer_import(p.ImportResponse([]))
        worker_says(conn, pending.command_id, p.ImportRequest("env", "g", [], "s"))
        conn.answer_import(p.ImportResponse([]))
        with pytest.raises(p.ProtocolError):  # already answered
            conn.answer_import(p.ImportFailed("k", "t"))
        assert conn.broken is None  # a local mistake, not a corrupt stream

    def test_import_answers_are_not_sent_as_commands(self) -> None:
        conn = ParentConnection()
        call_awaiting_import(conn)
        for answer in (p.ImportResponse([]), p.ImportFailed("k", "t")):
            with pytest.raises(p.LocalProtocolError):
                conn.send(answer)
        assert conn.depth == 1

    def test_second_command_while_one_is_in_flight(self) -> None:
        conn = ParentConnection()
        pending, _ = conn.send(p.Call("f", []))
        with pytest.raises(p.LocalProtocolError, match="in flight"):
            conn.send(p.Size())
        assert conn.stack == [pending]
        assert conn.broken is None  # our mistake: the worker is fine
        assert worker_says(conn, pending.command_id, p.Result(([],))) == (pending, Done([]))

    def test_nested_command_while_awaiting_an_import(self) -> None:
        conn = ParentConnection()
        outer = call_awaiting_import(conn)
        nested, data = conn.send(p.Read(0, 2))
        assert sent(data) == (nested.command_id, p.Read(0, 2))
        assert [q.command_id for q in conn.stack] == [outer, nested.command_id]
        assert conn.stack[0].awaiting_import
        assert not nested.awaiting_import
        # the nested command's reply comes first; then the outer call still waits
        assert worker_says(conn, nested.command_id, p.Result((b"ab",))) == (nested, Done(b"ab"))
        assert [q.command_id for q in conn.stack] == [outer]
        assert conn.stack[0].awaiting_import
        assert sent(conn.answer_import(p.ImportResponse([1])))[0] == outer
        assert worker_says(conn, outer, p.Result(([0],)))[0].command_id == outer
        assert conn.stack == []

    def test_nested_call_may_import_in_turn(self) -> None:
        conn = ParentConnection()
        outer = call_awaiting_import(conn)
        inner = call_awaiting_import(conn)
        assert [q.command_id for q in conn.stack] == [outer, inner]
        # the answer goes to the innermost call
        assert sent(conn.answer_import(p.ImportResponse([5])))[0] == inner
        worker_says(conn, inner, p.Result(([],)))
        assert sent(conn.answer_import(p.ImportResponse([6])))[0] == outer

    def test_reply_for_the_outer_command_while_the_nested_one_is_pending(self) -> None:
        conn = ParentConnection()
        outer = call_awaiting_import(conn)
        conn.send(p.Size())
        with pytest.raises(p.ProtocolError):
            worker_says(conn, outer, p.Result((1,)))
        assert_broken(conn)

    def test_reply_while_an_import_answer_is_outstanding(self) -> None:
        conn = ParentConnection()
        outer = call_awaiting_import(conn)
        with pytest.raises(p.ProtocolError, match="outstanding"):
            worker_says(conn, outer, p.Result((1,)))
        assert_broken(conn)

    def test_output_for_a_command_that_runs_no_wasm(self) -> None:
        conn = ParentConnection()
        pending, _ = conn.send(p.Size())
        with pytest.raises(p.RemoteProtocolError, match="output during size"):
            worker_says(conn, pending.command_id, p.OutputChunk(1, b"x"))
        assert_broken(conn)

    def test_output_while_an_import_answer_is_outstanding(self) -> None:
        conn = ParentConnection()
        pending, _ = conn.send(p.Call("f", []))
        worker_says(conn, pending.command_id, p.ImportRequest("env", "f", [], "()"))
        with pytest.raises(p.RemoteProtocolError, match="outstanding"):
            worker_says(conn, pending.command_id, p.OutputChunk(1, b"x"))
        assert_broken(conn)

    @pytest.mark.parametrize(
        "command", [p.Call("f", []), p.Init(b"\0asm", {}), p.Instantiate({})], ids=repr
    )
    def test_output_passes_through_and_leaves_the_command_pending(
        self, command: p.Command[Any]
    ) -> None:
        conn = ParentConnection()
        pending, _ = conn.send(command)
        chunk = p.OutputChunk(2, b"err")
        assert worker_says(conn, pending.command_id, chunk) == (pending, chunk)
        assert conn.stack == [pending]

    def test_import_request_for_a_command_that_is_not_a_call(self) -> None:
        conn = ParentConnection()
        pending, _ = conn.send(p.Read(0, 1))
        with pytest.raises(p.RemoteProtocolError, match="import request during read"):
            worker_says(conn, pending.command_id, p.ImportRequest("env", "f", [], "s"))
        assert_broken(conn)

    def test_import_request_with_the_wrong_id(self) -> None:
        conn = ParentConnection()
        outer = call_awaiting_import(conn)
        conn.send(p.Call("inner", []))  # now the innermost: imports must carry its id
        with pytest.raises(p.ProtocolError):
            worker_says(conn, outer, p.ImportRequest("env", "f", [], "s"))
        assert_broken(conn)


class TestRepliesCheckedAgainstTheirCommand:
    """Each command declares the reply it expects; any other breaks the connection
    (the worker's fault: RemoteProtocolError), never a later AssertionError."""

    @pytest.mark.parametrize(
        ("command", "reply"),
        [
            (p.Size(), p.Ok()),
            (p.Size(), p.Result(())),
            (p.Size(), p.Result(("65536",))),
            (p.Size(), p.Result((-1,))),
            (p.Size(), p.Result((1, 2))),
            (p.Read(0, 1), p.Result((1,))),
            (p.Write(0, b"x"), p.Result((None,))),
            (p.Locate(0, 1, "read"), p.Result((1,))),
            (p.Locate(0, 1, "read"), p.Result((1, -2))),
            (p.Call("f", []), p.Result((1,))),
            (p.Call("f", []), p.Result(([True],))),
            (p.Call("f", []), p.Ok()),
            (p.GetGlobal("g"), p.Result((1,))),
            (p.GetGlobal("g"), p.Result(([],))),
            (p.GetGlobal("g"), p.Result(([1, 2],))),
            (p.GetGlobal("g"), p.Result((["1"],))),
            (p.SetGlobal("g", 1), p.Result(())),
            (p.Instantiate({}), p.Result(([], [], []))),
            (p.Batch([["size"]]), p.Result(([1, 2], []))),
            (p.Batch([["size"]]), p.Result(([1], [0, "trap", "t", None, None]))),
            (p.Batch([["size"]]), p.Result(([1],))),
            (p.Probe("pid"), p.Result((1,))),
            (p.Init(b"\0asm", {}), p.Result(([], [["func", "f"]], []))),
            (p.Init(b"\0asm", {}), p.Result(([], []))),
            (p.Stop(), p.Result(())),
        ],
        ids=repr,
    )
    def test_a_reply_of_the_wrong_shape_breaks_the_connection(
        self, command: p.Command[Any], reply: p.Reply
    ) -> None:
        conn = ParentConnection()
        pending, _ = conn.send(command)
        with pytest.raises(p.RemoteProtocolError):
            worker_says(conn, pending.command_id, reply)
        assert isinstance(conn.broken, p.RemoteProtocolError)
        with pytest.raises(p.LocalProtocolError, match="broken"):
            conn.send(p.Size())

    @pytest.mark.parametrize(
        ("command", "reply", "value"),
        [
            (p.Size(), p.Result((65536,)), 65536),
            (p.Write(0, b"x"), p.Ok(), None),
            (p.Locate(4, 1, "write"), p.Result((1 << 40, 65536)), (1 << 40, 65536)),
            (p.Call("f", [1]), p.Result(([1, 2.5],)), [1, 2.5]),
            (p.GetGlobal("g"), p.Result(([-1],)), -1),
            (p.GetGlobal("g"), p.Result(([0.5],)), 0.5),
            (p.SetGlobal("g", 1), p.Ok(), None),
            (p.Instantiate({}), p.Ok(), None),
            (
                p.Init(b"\0asm", {}),
                p.Result(([["m", "n", "()"]], [], [["g", "i", "mut"]])),
                ((("m", "n", "()"),), (), (("g", "i", "mut"),)),
            ),
        ],
        ids=repr,
    )
    def test_a_reply_of_the_right_shape_gives_a_typed_value(
        self, command: p.Command[Any], reply: p.Reply, value: Any
    ) -> None:
        conn = ParentConnection()
        pending, _ = conn.send(command)
        assert worker_says(conn, pending.command_id, reply) == (pending, Done(value))

    def test_an_error_reply_fits_every_command(self) -> None:
        for command in (p.Size(), p.Write(0, b""), p.Call("f", [])):
            conn = ParentConnection()
            pending, _ = conn.send(command)
            error = p.Error("trap", "t", "unreachable", None)
            assert worker_says(conn, pending.command_id, error) == (pending, error)


class TestCancellation:
    def test_abandoned_call_awaiting_an_import_is_answered_cancelled(self) -> None:
        conn = ParentConnection()
        call = call_awaiting_import(conn)
        abandoned = conn.abandon(0)
        assert [q.command_id for q in abandoned] == [call]
        assert abandoned[0].abandoned
        assert conn.needs_recovery(0)
        data = conn.recovery_step(0)
        assert data is not None
        command_id, answer = sent(data)
        assert command_id == call
        assert isinstance(answer, p.ImportFailed)
        assert answer.kind == "cancelled"
        assert not conn.stack[0].awaiting_import
        assert conn.recovery_step(0) is None  # nothing to send: wait for the reply
        assert conn.needs_recovery(0)
        owner, reply = worker_says(conn, call, p.Error("trap", "cancelled", None))
        assert owner.abandoned
        assert reply == p.Error("trap", "cancelled", None)
        assert not conn.needs_recovery(0)
        assert conn.stack == []
        assert conn.broken is None

    def test_abandoned_command_not_in_an_import_only_needs_its_reply(self) -> None:
        conn = ParentConnection()
        pending, _ = conn.send(p.Call("spin", []))
        conn.abandon(0)
        assert pending.abandoned
        assert conn.recovery_step(0) is None
        worker_says(conn, pending.command_id, p.Error("interrupted", "stopped", None))
        assert not conn.needs_recovery(0)

    def test_draining_nested_calls_down_to_the_depth(self) -> None:
        conn = ParentConnection()
        outer = call_awaiting_import(conn)
        middle = call_awaiting_import(conn)
        inner = call_awaiting_import(conn)
        abandoned = conn.abandon(1)  # the caller at depth 1 gave up; outer stays
        assert [q.command_id for q in abandoned] == [middle, inner]
        assert [q.abandoned for q in conn.stack] == [False, True, True]
        drained = []
        for _ in range(10):  # bounded: the drain takes four steps
            if not conn.needs_recovery(1):
                break
            data = conn.recovery_step(1)
            if data is not None:
                command_id, answer = sent(data)
                assert command_id == conn.stack[-1].command_id
                assert isinstance(answer, p.ImportFailed)
                assert answer.kind == "cancelled"
            else:
                top = conn.stack[-1].command_id
                owner, _ = worker_says(conn, top, p.Error("trap", "cancelled", None))
                drained.append(owner.command_id)
        assert drained == [inner, middle]
        assert [q.command_id for q in conn.stack] == [outer]
        assert conn.stack[0].awaiting_import  # untouched: its caller is still there
        assert conn.recovery_step(1) is None
        # and the outer import can be answered normally
        assert sent(conn.answer_import(p.ImportResponse([1])))[0] == outer

    def test_recovery_answers_an_import_made_while_draining(self) -> None:
        conn = ParentConnection()
        pending, _ = conn.send(p.Call("f", []))
        conn.abandon(0)
        worker_says(conn, pending.command_id, p.ImportRequest("env", "late", [], "s"))
        data = conn.recovery_step(0)
        assert data is not None
        assert sent(data) == (
            pending.command_id,
            p.ImportFailed("cancelled", "the caller was cancelled"),
        )

    def test_nothing_to_recover(self) -> None:
        conn = ParentConnection()
        assert conn.abandon(0) == []
        assert not conn.needs_recovery(0)
        assert conn.recovery_step(0) is None
        call_awaiting_import(conn)
        assert conn.abandon(1) == []
        assert not conn.needs_recovery(1)
        assert conn.recovery_step(1) is None  # the import at depth 0 is not ours to cancel
        assert conn.stack[0].awaiting_import


# ============================================================ model of a worker, stateful


@dataclasses.dataclass
class WorkerFrame:
    command_id: int
    command: p.Command[Any]
    #: inside an import, waiting for the parent's answer
    suspended: bool = False


class SimulatedWorker:
    """The worker's side of the exchange, reduced to what the protocol requires of it."""

    def __init__(self) -> None:
        self.decoder = p.FrameDecoder()
        self.stack: list[WorkerFrame] = []
        self.received: list[tuple[int, p.Command[Any]]] = []
        self.last_id = -1

    def receive(self, data: bytes) -> None:
        self.decoder.feed(data)
        while (value := self.decoder.next_frame()) is not None:
            command_id, command = p.parse_command(value)
            self.received.append((command_id, command))
            if isinstance(command, p.ImportResponse | p.ImportFailed):
                assert self.stack, "import answer while no call runs"
                assert self.stack[-1].command_id == command_id
                assert self.stack[-1].suspended
                self.stack[-1].suspended = False
            else:
                assert command_id > self.last_id
                assert not self.stack or self.stack[-1].suspended
                self.last_id = command_id
                self.stack.append(WorkerFrame(command_id, command))

    def reply(self, reply: p.Reply) -> bytes:
        top = self.stack[-1]
        assert not top.suspended
        if isinstance(reply, p.ImportRequest):
            assert isinstance(top.command, p.Call)
            top.suspended = True
        elif isinstance(reply, p.OutputChunk):
            assert isinstance(top.command, p.WASM_RUNNING)
        else:
            self.stack.pop()
        return p.encode_reply(top.command_id, reply)


#: cheap to draw, so that runs are long and stacks deep
small_calls = st.builds(p.Call, st.sampled_from(["f", "g"]), st.lists(wire_ints, max_size=2))

_entry = st.lists(texts, min_size=3, max_size=3)
#: a final reply of the shape each command expects
_RIGHT_SHAPE: dict[type[p.Command[Any]], st.SearchStrategy[p.Reply]] = {
    p.Init: st.builds(
        lambda i, e, g: p.Result((i, e, g)),
        st.lists(_entry, max_size=2),
        st.lists(_entry, max_size=2),
        st.lists(_entry, max_size=2),
    ),
    p.Instantiate: st.just(p.Ok()),
    p.GetGlobal: st.one_of(wire_ints, st.floats()).map(lambda v: p.Result(([v],))),
    p.SetGlobal: st.just(p.Ok()),
    p.Batch: st.sampled_from(
        [p.Result(([65536, b"abcd"], [])), p.Result(([65536], [1, "trap", "t", None, None]))]
    ),
    p.Size: st.integers(0, p.MAX_ID).map(lambda n: p.Result((n,))),
    p.Read: blobs.map(lambda b: p.Result((b,))),
    p.ReadString: blobs.map(lambda b: p.Result((b,))),
    p.Serialize: blobs.map(lambda b: p.Result((b,))),
    p.Locate: st.tuples(st.integers(0, p.MAX_ID), st.integers(0, p.MAX_ID)).map(p.Result),
    p.Call: number_lists.map(lambda n: p.Result((n,))),
    p.Probe: texts.map(lambda t: p.Result((t,))),
    p.Write: st.just(p.Ok()),
    p.Deserialize: st.just(p.Ok()),
    p.Stop: st.just(p.Ok()),
}


def final_reply_for(command: p.Command[Any]) -> st.SearchStrategy[p.Reply]:
    errors = st.builds(p.Error, texts, texts, st.none() | texts, st.none())
    return st.one_of(_RIGHT_SHAPE[type(command)], errors)


def expected_event(command: p.Command[Any], reply: p.Reply) -> Any:
    if isinstance(reply, p.Error | p.ImportRequest | p.OutputChunk):
        return reply
    return Done(command.accept(reply))


class ParentAndWorker(RuleBasedStateMachine):
    """A ParentConnection driven against a simulated worker: their stacks must agree."""

    def __init__(self) -> None:
        super().__init__()
        self.conn = ParentConnection()
        self.worker = SimulatedWorker()
        self.last_id = -1

    # ------------------------------------------------------------------ delivery

    def to_worker(self, data: bytes, draw: st.DataObject) -> tuple[int, p.Command[Any]]:
        cuts = draw.draw(st.lists(st.integers(0, len(data)), max_size=3), label="cuts")
        count = len(self.worker.received)
        for chunk in split(data, cuts):
            self.worker.receive(chunk)
        assert len(self.worker.received) == count + 1
        return self.worker.received[-1]

    def to_parent(self, data: bytes, draw: st.DataObject) -> tuple[Any, Any]:
        cuts = draw.draw(st.lists(st.integers(0, len(data) - 1), max_size=3), label="cuts")
        *head, last = split(data, cuts)
        for chunk in head:
            self.conn.receive_data(chunk)
            assert self.conn.next_event() is None
        self.conn.receive_data(last)
        event = self.conn.next_event()
        assert event is not None
        return event

    def worker_running(self) -> bool:
        return bool(self.worker.stack) and not self.worker.stack[-1].suspended

    # --------------------------------------------------------------------- rules

    @rule(data=st.data())
    def parent_sends(self, data: st.DataObject) -> None:
        # calls half the time: only they import, and so only they nest
        command = data.draw(small_calls if data.draw(st.booleans()) else sendable, label="cmd")
        if self.worker_running():
            with pytest.raises(p.ProtocolError):
                self.conn.send(command)
            return
        pending, frame_ = self.conn.send(command)
        assert pending.command is command
        assert pending.command_id > self.last_id
        self.last_id = pending.command_id
        assert_identical(self.to_worker(frame_, data), (pending.command_id, command))

    @precondition(worker_running)
    @rule(data=st.data())
    def worker_replies(self, data: st.DataObject) -> None:
        top = self.worker.stack[-1]
        # a call imports more often than not, so that nesting gets deep; wasm that runs
        # may write output first
        imports = isinstance(top.command, p.Call) and data.draw(st.integers(0, 3), label="i") < 3
        writes = isinstance(top.command, p.WASM_RUNNING) and data.draw(st.booleans(), label="o")
        if writes:
            replies: st.SearchStrategy[p.Reply] = output_chunks
        else:
            replies = import_requests if imports else final_reply_for(top.command)
        reply = data.draw(replies, label="reply")
        parent_top = self.conn.stack[-1]
        pending, got = self.to_parent(self.worker.reply(reply), data)
        assert pending is parent_top
        assert pending.command_id == top.command_id
        assert_identical(got, expected_event(top.command, reply))

    @rule(answer=import_answers, data=st.data())
    def parent_answers_import(
        self, answer: p.ImportResponse | p.ImportFailed, data: st.DataObject
    ) -> None:
        if not (self.worker.stack and self.worker.stack[-1].suspended):
            with pytest.raises(p.ProtocolError):
                self.conn.answer_import(answer)
            return
        call_id = self.worker.stack[-1].command_id
        assert_identical(self.to_worker(self.conn.answer_import(answer), data), (call_id, answer))

    @precondition(lambda self: self.conn.depth > 0)
    @rule(data=st.data())
    def parent_cancels(self, data: st.DataObject) -> None:
        if data.draw(st.integers(0, 5), label="skip") < 5:
            return  # cancel less often than the other rules run, so that stacks grow
        # the innermost caller gives up, or any caller and everything above it
        depth = self.conn.depth - 1
        if data.draw(st.booleans(), label="deeper"):
            depth = data.draw(st.integers(0, depth), label="depth")
        expected = self.conn.stack[depth:]
        abandoned = self.conn.abandon(depth)
        assert abandoned == expected
        assert all(q.abandoned for q in abandoned)
        assert not any(q.abandoned for q in self.conn.stack[:depth])
        late_imports = 0
        while self.conn.needs_recovery(depth):
            top = self.worker.stack[-1]
            frame_ = self.conn.recovery_step(depth)
            if frame_ is not None:
                assert top.suspended
                command_id, answer = self.to_worker(frame_, data)
                assert command_id == top.command_id
                assert isinstance(answer, p.ImportFailed)
                assert answer.kind == "cancelled"
                continue
            assert not top.suspended
            # an interrupted call may still reach an import before it unwinds
            if isinstance(top.command, p.Call) and late_imports < 2 and data.draw(st.booleans()):
                late_imports += 1
                reply: p.Reply = p.ImportRequest("env", "late", [], "() -> ()")
            else:
                reply = p.Error("interrupted", "cancelled by the parent", None)
            pending, _ = self.to_parent(self.worker.reply(reply), data)
            assert pending.command_id == top.command_id
            assert pending.abandoned
        assert self.conn.depth == depth
        assert self.conn.recovery_step(depth) is None

    # ---------------------------------------------------------------- invariants

    @invariant()
    def stacks_agree(self) -> None:
        assert self.conn.broken is None
        parent = [(q.command_id, q.awaiting_import) for q in self.conn.stack]
        worker = [(f.command_id, f.suspended) for f in self.worker.stack]
        assert parent == worker
        assert self.conn.depth == len(parent)
        for pending, mirrored in zip(self.conn.stack, self.worker.stack, strict=True):
            assert_identical(mirrored.command, pending.command)

    @invariant()
    def stack_shape(self) -> None:
        stack = self.conn.stack
        assert [q.command_id for q in stack] == sorted({q.command_id for q in stack})
        # only the top may be running: everything under it sent a nested command from
        # inside an import
        assert all(q.awaiting_import for q in stack[:-1])
        assert all(isinstance(q.command, p.Call) for q in stack if q.awaiting_import)
        assert not any(q.abandoned for q in stack)  # every cancel was drained

    @invariant()
    def nothing_left_over(self) -> None:
        assert self.conn.next_event() is None
        assert self.worker.decoder.buffered == 0


TestParentAndWorker = ParentAndWorker.TestCase
TestParentAndWorker.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
