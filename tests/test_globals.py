"""Exported globals: beamr.get_global / beamr.set_global (wasm_fixtures/globals.wat)."""

from __future__ import annotations

import math
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import beamr

from .conftest import wasm

pytestmark = pytest.mark.anyio

GLOBALS = wasm("globals")


async def test_each_number_type_reads_as_it_was_declared() -> None:
    async with await beamr.start(GLOBALS) as instance:
        assert await beamr.get_global(instance, "g_i32") == -5
        assert await beamr.get_global(instance, "g_i64") == -9_000_000_000
        assert await beamr.get_global(instance, "g_f32") == 0.5
        assert await beamr.get_global(instance, "g_f64") == 2.25
        assert await beamr.get_global(instance, "const_i32") == 42
        assert type(await beamr.get_global(instance, "g_f32")) is float
        assert type(await beamr.get_global(instance, "g_i64")) is int


async def test_a_set_is_what_the_wasm_sees() -> None:
    async with await beamr.start(GLOBALS) as instance:
        await beamr.set_global(instance, "g_i32", 7)
        assert await beamr.call(instance, "read_i32", []) == [7]
        await beamr.call(instance, "bump", [])
        assert await beamr.get_global(instance, "g_i32") == 8
        await beamr.set_global(instance, "g_f64", 3)  # an int for a float: converted
        assert await beamr.call(instance, "read_f64", []) == [3.0]


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("g_i32", (1 << 32) - 1, -1),  # unsigned spellings come back signed
        ("g_i32", -(1 << 31), -(1 << 31)),
        ("g_i64", (1 << 64) - 1, -1),
        ("g_i64", 1 << 62, 1 << 62),
        ("g_f32", 0.1, struct.unpack("<f", struct.pack("<f", 0.1))[0]),
        ("g_f64", -0.0, -0.0),
        ("g_f64", math.inf, math.inf),
    ],
)
async def test_values_round_trip_as_the_wasm_stores_them(
    name: str, value: int | float, expected: int | float
) -> None:
    async with await beamr.start(GLOBALS) as instance:
        await beamr.set_global(instance, name, value)
        got = await beamr.get_global(instance, name)
        assert got == expected
        assert math.copysign(1, got) == math.copysign(1, expected)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(-(1 << 63), (1 << 63) - 1))
async def test_any_i64_round_trips(value: int) -> None:
    async with await beamr.start(GLOBALS) as instance:
        await beamr.set_global(instance, "g_i64", value)
        assert await beamr.get_global(instance, "g_i64") == value
        assert await beamr.call(instance, "read_i64", []) == [value]


@pytest.mark.parametrize(
    ("name", "value", "error", "match"),
    [
        ("const_i32", 1, TypeError, "immutable"),
        ("g_i32", 1.5, TypeError, "int"),
        ("g_i32", True, TypeError, "number"),
        ("g_i32", "1", TypeError, "number"),
        ("g_i32", 1 << 32, ValueError, "out of range"),
        ("g_i64", -(1 << 63) - 1, ValueError, "out of range"),
        ("g_v128", 1, TypeError, "cannot"),
        ("g_ref", 1, TypeError, "cannot"),
        ("missing", 1, beamr.ExportNotFound, "missing"),
        ("read_i32", 1, beamr.ExportNotFound, "read_i32"),  # a function, not a global
    ],
)
async def test_bad_sets_are_refused_before_anything_changes(
    name: str, value: object, error: type[Exception], match: str
) -> None:
    async with await beamr.start(GLOBALS) as instance:
        with pytest.raises(error, match=match):
            await beamr.set_global(instance, name, value)  # type: ignore[arg-type]
        assert await beamr.get_global(instance, "g_i32") == -5  # nothing changed


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("g_v128", TypeError),
        ("g_ref", TypeError),
        ("missing", beamr.ExportNotFound),
        ("memory_is_not_here", beamr.ExportNotFound),
        (5, TypeError),
    ],
)
async def test_bad_gets_are_clear(name: object, error: type[Exception]) -> None:
    async with await beamr.start(GLOBALS) as instance:
        with pytest.raises(error):
            await beamr.get_global(instance, name)  # type: ignore[arg-type]


async def test_the_worker_checks_too() -> None:
    """The parent checks from the init reply; the worker refuses on its own as well
    (an immutable global or a float for an int), with the same errors."""
    async with await beamr.start(GLOBALS) as instance:
        from beamr import protocol as p

        with pytest.raises(TypeError, match="immutable"):
            await instance.request(p.SetGlobal("const_i32", 1))
        with pytest.raises(TypeError, match="int"):
            await instance.request(p.SetGlobal("g_i64", 0.5))
        with pytest.raises(beamr.ExportNotFound):
            await instance.request(p.GetGlobal("read_i32"))
        assert await beamr.get_global(instance, "g_i64") == -9_000_000_000


async def test_globals_are_listed_with_the_exports() -> None:
    async with await beamr.start(GLOBALS) as instance:
        globals_ = {e.name for e in instance.exports if e.kind == "global"}
        assert globals_ == {"g_i32", "g_i64", "g_f32", "g_f64", "const_i32", "g_v128", "g_ref"}
        assert all(e.signature == "" for e in instance.exports if e.kind == "global")


async def test_edge_counter_global() -> None:
    async with await beamr.start(wasm("edge")) as instance:
        assert await beamr.get_global(instance, "counter") == 0
        await beamr.set_global(instance, "counter", 41)
        assert await beamr.get_global(instance, "counter") == 41
