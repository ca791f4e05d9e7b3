"""workers.exnref on binaries built by hand: edge cases of the encoding, malformed input.

The translation of odd but valid encodings (non-canonical LEB128s, multi-byte
memargs, rec groups, deep nesting, catch clauses with parameters) is run under
wasmtime; malformed modules and bodies must raise :class:`TranslationError` with
a message saying what is wrong, and mutated or truncated modules nothing else.
The regular expressions of the fast path are checked against the table-driven
decoder they stand in for.
"""

from __future__ import annotations

import contextlib
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workers.exnref import TranslationError, translate, uses_legacy_exceptions
from workers.exnref.binary import leb, u32
from workers.exnref.decoder import OPS, PREFIX_TABLES, skip_instr
from workers.exnref.fastscan import ONE_NOLEGACY, ONE_SIMPLE, body_has_legacy

from .conftest import wasm_section
from .exnref_harness import (
    LEGACY,
    compile_module,
    fixture,
    run_exports,
    section_payloads,
    wat,
)


def module(
    code: bytes, locals_: bytes = b"\x00", results: bytes = b"", memory: bytes = b""
) -> bytes:
    """One function ``f`` () -> results (type 3), body ``locals_ + code`` (with its
    final end); tag 0 has no params, tag 1 an i32; type 2 is (i32) -> (i32)."""
    types = b"\x04\x60\x00\x00\x60\x01\x7f\x00\x60\x01\x7f\x01\x7f\x60\x00"
    types += bytes((len(results),)) + results
    body = locals_ + code
    parts = [
        (1, types),
        (3, b"\x01\x03"),
        (5, memory),
        (13, b"\x02\x00\x00\x00\x01"),
        (7, b"\x01\x01f\x00\x00"),
        (10, b"\x01" + leb(len(body)) + body),
    ]
    return b"\0asm\x01\0\0\0" + b"".join(wasm_section(sid, p) for sid, p in parts if p)


def run_f(binary: bytes) -> tuple[str, tuple[int, ...]]:
    _trace, outcome, vals = run_exports(binary, [()])[("f", ())]
    return outcome, vals


def test_try_without_catch_and_empty_try() -> None:
    assert run_f(translate(module(b"\x06\x40\x0b\x06\x40\x06\x40\x0b\x0b\x0b"))) == ("ok", ())


def test_delegate_to_the_caller_from_nested_blocks() -> None:
    # block; try; try; throw 0; delegate 2 (the function); catch_all; end; end; end
    code = b"\x02\x40\x06\x40\x06\x40\x08\x00\x18\x02\x19\x0b\x0b\x0b"
    assert run_f(translate(module(code)))[0] == "thrown Wasm exception"  # catch_all bypassed
    # delegate 1 names the block, with no try around it: the caller again
    assert run_f(translate(module(code.replace(b"\x18\x02", b"\x18\x01"))))[0] == (
        "thrown Wasm exception"
    )
    # delegate 0 names the try, whose catch_all swallows the exception
    assert run_f(translate(module(code.replace(b"\x18\x02", b"\x18\x00")))) == ("ok", ())


def test_non_canonical_branch_depths_are_remapped() -> None:
    # block (result i32); try; i32.const 5; br 2 as a 5-byte LEB: the br targets the
    # block, whose depth changes in the translation
    code = b"\x02\x7f\x06\x40\x41\x05\x0c\x81\x80\x80\x80\x00\x19\x0b\x41\x07\x0b\x0b"
    assert run_f(translate(module(code, results=b"\x7f"))) == ("ok", (5,))


def test_memory64_memarg_with_a_two_byte_alignment() -> None:
    # an i64 memory; try; i64.const 0; i64.load with its flags as a 2-byte LEB; drop
    code = b"\x06\x40\x42\x00\x29\x83\x00\x00\x1a\x19\x0b\x0b"
    assert run_f(translate(module(code, memory=b"\x01\x04\x01"))) == ("ok", ())


def test_catch_with_params_and_rethrow_needs_a_new_type() -> None:
    # try (type 2: i32 -> i32), catch 1 (i32) + rethrow: block [i32] -> [i32 exnref]
    code = b"\x41\x01\x06\x02\x07\x01\x09\x00\x0b\x1a\x0b"
    out = translate(module(code))
    count = [u32(section_payloads(b)[1][0], 0)[0] for b in (module(code), out)]
    assert count[1] == count[0] + 1
    assert run_f(out) == ("ok", ())


def test_rec_groups_keep_the_type_section_count_right() -> None:
    binary = wat(
        """(module
        (rec (type (struct)) (type (struct (field i32))) (type (func)))
        (rec)
        (tag $t (param i32))
        (func (export "f") (param i32) (result i32)
          try (result i32)
            local.get 0 throw $t
          catch $t
            local.get 0 if rethrow 1 end
          end))"""
    )
    out = translate(binary)
    # two rec groups, (i32) -> () of the tag, (i32) -> (i32) of f, then the new
    # [] -> [i32 exnref]: five entries for six type indices
    count = [u32(section_payloads(b)[1][0], 0)[0] for b in (binary, out)]
    assert count == [4, 5]
    assert run_exports(out, [(0,), (1,)]) == {
        ("f", (0,)): ((), "ok", (0,)),
        ("f", (1,)): ((), "thrown Wasm exception", ()),
    }


def test_deep_nesting_is_handled_without_recursion() -> None:
    depth = 20000
    code = b"\x06\x40" * depth + b"\x08\x00" + b"\x19\x0b" * depth + b"\x0b"
    start = time.perf_counter()
    out = translate(module(code))
    assert time.perf_counter() - start < 10
    assert not uses_legacy_exceptions(out)
    assert run_f(out) == ("ok", ())


BAD_BODIES: list[tuple[bytes, str]] = [
    (b"\x06\x40\x0c\x05\x0b\x0b", "branch depth"),
    (b"\x06\x40\x18\x05\x0b", "delegate depth"),
    (b"\x06\x40\x09\x00\x0b\x0b", "not a catch"),
    (b"\x06\x40\x19\x09\x01\x0b\x0b", "not a catch"),
    (b"\x07\x00\x0b", "catch without"),
    (b"\x06\x40\x19\x19\x0b\x0b", "catch_all without"),
    (b"\x06\x40\x19\x07\x00\x0b\x0b", "catch without"),
    (b"\x06\x40\x07\x09\x0b\x0b", "unknown tag"),
    (b"\x18\x00\x0b", "delegate without"),
    (b"\x06\x40\x05\x0b\x0b", "else without"),
    (b"\x04\x40\x05\x05\x0b\x06\x40\x0b\x0b", "else without"),
    (b"\x06\x40\x27\x0b\x0b", "unknown opcode"),
    (b"\x06\x40\xfd\x9a\x01\x0b\x0b", "unknown opcode"),
    (b"\x06\x40\xfc\x7f\x0b\x0b", "unknown opcode"),
    (b"\x06\x40\x20\x80\x80\x80\x80\x80\x00\x0b\x0b", "LEB128"),
    (b"\x06\x40\x0b\x0b\x01", "after the end"),
    (b"\x06\x40\x0b", "truncated"),
    (b"\x06\x40\x0e\xff\xff\xff\xff\x0f", "truncated"),
    (b"\x06\x40\x1f\x40\x01\x07\x00\x0b\x0b", "catch kind"),
    (b"\x06\x05\x0b\x0b", "type index"),
]


@pytest.mark.parametrize(("code", "message"), BAD_BODIES)
def test_malformed_bodies(code: bytes, message: str) -> None:
    with pytest.raises(TranslationError, match=f"function body 0.*{message}"):
        translate(module(code))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "magic"),
        (b"\0asm\x0d\0\x01\0", "version"),
        (b"\0asm\x01\0\0\0\x0a\x05\x01", "truncated"),
        (b"\0asm\x01\0\0\0\x0a\x06\xff\xff\xff\xff\x0f\x00", "truncated"),
        (b"\0asm\x01\0\0\0\x0a\x04\x01\x02\x00\x41", "truncated"),
        (b"\0asm\x01\0\0\0\x01\x80\x80\x80\x80\x80\x01", "LEB128"),
        (b"\0asm\x01\0\0\0\x0a\x01\x00\x0a\x01\x00", "duplicate section"),
    ],
)
def test_malformed_modules(data: bytes, message: str) -> None:
    for fn in (translate, uses_legacy_exceptions):
        with pytest.raises(TranslationError, match=message):
            fn(data)


def test_every_truncation_fails_cleanly() -> None:
    data = fixture("exnref_basic")
    whole = 0
    for i in range(len(data)):
        cut = data[:i]
        try:
            out = translate(cut)
        except TranslationError:
            continue
        # cut between sections: no code section (nothing to do), or only the name
        # section is missing after it
        whole += 1
        if out is not cut:
            compile_module(out)
    assert 0 < whole < 12


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(LEGACY),
    edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=4),
    cut=st.integers(0, 10**6),
)
def test_mutated_input_raises_only_translation_error(
    name: str, edits: list[tuple[int, int]], cut: int
) -> None:
    data = bytearray(fixture(name))
    for pos, val in edits:
        data[pos % len(data)] = val
    data = data[: max(8, cut % (len(data) + 1))]
    start = time.perf_counter()
    for fn in (translate, uses_legacy_exceptions):
        with contextlib.suppress(TranslationError):
            fn(bytes(data))
    assert time.perf_counter() - start < 2


# ---------------------------------------------------------- the regexes vs the decoder


def leb_strategy(max_bytes: int) -> st.SearchStrategy[bytes]:
    def encode(value: int, pad: int) -> bytes:
        raw = bytearray(leb(value))
        while pad > 0 and len(raw) < max_bytes:  # non-canonical padding
            raw[-1] |= 0x80
            raw.append(0)
            pad -= 1
        return bytes(raw)

    return st.builds(encode, st.integers(0, 2**32 - 1), st.integers(0, 2))


OPCODES = [bytes((op,)) for op in range(256) if OPS[op] >= 0]
OPCODES += [bytes((prefix,)) + leb(sub) for prefix, table in PREFIX_TABLES.items() for sub in table]


@st.composite
def instruction(draw: st.DrawFn) -> bytes:
    op = draw(st.sampled_from(OPCODES))
    tail = draw(st.lists(st.one_of(leb_strategy(5), st.binary(max_size=3)), max_size=8))
    return op + b"".join(tail)


def decoded_end(data: bytes) -> int:
    try:
        return skip_instr(data, 0)
    except (TranslationError, IndexError):
        return -1


@settings(max_examples=1500, deadline=None)
@given(instruction(), st.binary(max_size=20))
def test_regexes_agree_with_the_decoder(instr: bytes, junk: bytes) -> None:
    data = instr + junk
    for one in (ONE_SIMPLE, ONE_NOLEGACY):
        m = one(data, 0)
        if m is not None:
            assert m.end() == decoded_end(data), data.hex()


@settings(max_examples=1500, deadline=None)
@given(st.binary(min_size=1, max_size=40))
def test_regexes_agree_with_the_decoder_on_random_bytes(data: bytes) -> None:
    for one in (ONE_SIMPLE, ONE_NOLEGACY):
        m = one(data, 0)
        if m is not None:
            assert m.end() == decoded_end(data), data.hex()


# Instructions with immediates, as wasmtime's assembler encodes them: indices of 2 and
# more (0x00/0x01 would also decode as unreachable/nop), multi-byte LEB128s, lanes
INSTRUCTIONS = """
br 300|br_if 300|br_table 1 2 300|call 300|call_indirect 7 (type 300)|return_call 300
return_call_indirect 7 (type 300)|call_ref 300|return_call_ref 300|throw 300|throw_ref
local.get 300|local.set 300|local.tee 300|global.get 300|global.set 300|table.get 300
table.set 300|memory.size 3|memory.grow 3|i32.const -123456|i64.const -1234567890123
f32.const 1.5|f64.const 2.5|ref.null 300|ref.null func|ref.null extern|ref.func 300|ref.is_null
ref.as_non_null|ref.eq|br_on_null 300|br_on_non_null 300|select|select (result i32)
select (result i32 i64)|select (result (ref null 300))|i32.load 3 offset=70000 align=2
i64.load offset=4294967300|i64.store32 3 offset=300|i32.load8_u
try_table (result i32) (catch 300 301) (catch_ref 302 303) (catch_all 304) (catch_all_ref 305) end
i32.trunc_sat_f32_s|i64.trunc_sat_f64_u|memory.init 3 300|data.drop 300|memory.copy 2 3
memory.fill 3|table.init 3 300|elem.drop 300|table.copy 2 3|table.grow 3|table.size 3
table.fill 3|i64.add128|i64.sub128|i64.mul_wide_s|i64.mul_wide_u|v128.load 3 offset=300
v128.load8x8_s offset=300|v128.load32_zero 3|v128.load64_zero|v128.store 3 offset=300
v128.load8_splat 3|v128.const i32x4 1 2 3 4|i8x16.shuffle 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 31
i8x16.extract_lane_s 15|i16x8.replace_lane 7|f64x2.extract_lane 1
v128.load8_lane 3 offset=300 15|v128.store64_lane 3 offset=300 1|i32x4.dot_i16x8_s
f64x2.promote_low_f32x4|i8x16.relaxed_swizzle|i32x4.relaxed_dot_i8x16_i7x16_add_s
f32x4.relaxed_madd|i16x8.relaxed_dot_i8x16_i7x16_s|v128.any_true|struct.new 300
struct.new_default 300|struct.get 300 301|struct.get_s 300 301|struct.set 300 301|array.new 300
array.new_default 300|array.new_fixed 300 301|array.new_data 300 301|array.new_elem 300 301
array.get 300|array.get_u 300|array.set 300|array.len|array.fill 300|array.copy 300 301
array.init_data 300 301|array.init_elem 300 301|ref.test (ref 300)|ref.test (ref null 300)
ref.cast (ref 300)|ref.cast (ref null any)|br_on_cast 300 anyref (ref 301)
br_on_cast_fail 300 (ref null 302) (ref 301)|any.convert_extern|extern.convert_any|ref.i31
i31.get_s|i31.get_u|memory.atomic.notify 3 offset=300|memory.atomic.wait32 3 offset=300
memory.atomic.wait64|atomic.fence|i64.atomic.rmw32.cmpxchg_u 3 offset=300
i32.atomic.store8 offset=70000|i64.atomic.load|i32.atomic.rmw.xchg 3
"""


@pytest.mark.parametrize(
    "text", [s.strip() for line in INSTRUCTIONS.strip().splitlines() for s in line.split("|")]
)
def test_the_decoder_steps_over_what_the_assembler_encodes(text: str) -> None:
    body = section_payloads(wat(f"(module (func {text}))"))[10][0][2:]  # count 1, size 1
    assert body[0] == 0  # no locals
    end = skip_instr(body, 1)
    # what follows is the try_table's end, if any, and the function's
    assert body[end:] == b"\x0b" * (1 + text.split().count("end")), text
    for one in (ONE_SIMPLE, ONE_NOLEGACY):
        m = one(body, 1)
        assert m is None or m.end() == end, text
    assert not body_has_legacy(body)


def test_every_simple_opcode_takes_the_fast_path() -> None:
    # with zero immediates, every known opcode but control flow, legacy EH and those
    # with vector immediates is matched by the regex
    slow = {0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x18, 0x19}
    slow |= {0x1C, 0x1F, 0xD5, 0xD6}
    for op in OPCODES:
        if op[0] in slow or op in (b"\xfb\x18", b"\xfb\x19"):
            continue
        data = op + b"\x00" * 20
        m = ONE_SIMPLE(data, 0)
        assert m is not None, op.hex()
        assert m.end() == skip_instr(data, 0), op.hex()
