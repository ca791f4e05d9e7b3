"""beamr.call and start: the hb_beamr eunit tests, ported, then DESIGN §2's rules."""

from __future__ import annotations

import struct
from typing import Any

import anyio
import pytest

import beamr
from beamr import Export, Import, io

from .conftest import wasm

pytestmark = pytest.mark.anyio


def f32(x: float) -> float:
    return float(struct.unpack("<f", struct.pack("<f", x))[0])


# --------------------------------------------------------------- ported from hb_beamr


async def test_simple_wasm() -> None:
    async with await beamr.start(wasm("calling")) as instance:
        assert await beamr.call(instance, "fac", [5.0]) == [120.0]
    async with await beamr.start(wasm("fac")) as instance:
        assert await beamr.call(instance, "fac", [5.0]) == [120.0]


async def test_imported_function() -> None:
    calls: list[tuple[int, int]] = []

    def mul(instance: beamr.Instance, a: int, b: int) -> int:
        calls.append((a, b))
        return a * b

    async with await beamr.start(wasm("pow"), imports={"my_lib": {"mul": mul}}) as instance:
        assert await beamr.call(instance, "pow", [2, 5]) == [32]
    assert len(calls) == 5


async def test_wasm64() -> None:
    async with await beamr.start(wasm("wasm64")) as instance:
        assert await beamr.call(instance, "fac", [5.0]) == [120.0]


async def test_multiclient() -> None:
    """An instance started in one task is used from another."""
    handoff_send, handoff_receive = anyio.create_memory_object_stream[beamr.Instance](1)
    results: list[Any] = []

    async def starter() -> None:
        await handoff_send.send(await beamr.start(wasm("calling")))

    async def user() -> None:
        instance = await handoff_receive.receive()
        try:
            results.append(await beamr.call(instance, "fac", [5.0]))
        finally:
            await beamr.stop(instance)

    async with handoff_send, handoff_receive, anyio.create_task_group() as tg:
        tg.start_soon(user)
        tg.start_soon(starter)
    assert results == [[120.0]]


async def test_many_calls() -> None:
    """hb_beamr's benchmark_test asserts > 1000 calls/s; the rate is measured by
    `make bench` (benchmarks/), here every one of many calls must be right."""
    async with await beamr.start(wasm("wasm64")) as instance:
        for n in range(2000):
            assert await beamr.call(instance, "fac", [float(n % 10)]) == [
                float([1, 1, 2, 6, 24, 120, 720, 5040, 40320, 362880][n % 10])
            ]


# ------------------------------------------------------------------- exports/imports


async def test_exports_and_imports_with_signatures() -> None:
    async with await beamr.start(
        wasm("pow"), imports={"my_lib": {"mul": lambda w, a, b: a * b}}
    ) as inst:
        assert inst.imports == (Import("my_lib", "mul", "(ii)i"),)
        assert Export("func", "pow", "(ii)i") in inst.exports
        assert Export("memory", "memory", "") in inst.exports
    async with await beamr.start(wasm("edge")) as inst:
        kinds = {e.name: (e.kind, e.signature) for e in inst.exports}
        assert kinds["counter"] == ("global", "")
        assert kinds["tbl"] == ("table", "")
        assert kinds["multi"] == ("func", "(iI)Ii")
        assert kinds["id_f32"] == ("func", "(f)f")
        assert inst.imports == ()
        assert isinstance(inst.exports, tuple)
    async with await beamr.start(wasm("fac")) as inst:
        assert inst.exports == (Export("func", "fac", "(F)F"),)


async def test_pid_is_the_worker() -> None:
    instance = await beamr.start(wasm("fac"))
    assert instance.pid > 0
    cmdline = await anyio.Path(f"/proc/{instance.pid}/cmdline").read_bytes()
    assert b"workers" in cmdline
    await beamr.stop(instance)


# ------------------------------------------------------------------ values and types


async def test_value_conversion() -> None:
    async with await beamr.start(wasm("edge")) as instance:
        assert await beamr.call(instance, "id_i32", [-(2**31)]) == [-(2**31)]
        assert await beamr.call(instance, "id_i32", [2**32 - 1]) == [-1]  # comes back signed
        assert await beamr.call(instance, "id_i64", [2**64 - 1]) == [-1]
        assert await beamr.call(instance, "id_i64", [-(2**63)]) == [-(2**63)]
        assert await beamr.call(instance, "id_f64", [0.1]) == [0.1]
        assert await beamr.call(instance, "id_f64", [7]) == [7.0]  # int -> f64
        assert await beamr.call(instance, "id_f32", [0.1]) == [f32(0.1)]
        assert await beamr.call(instance, "id_f32", [3]) == [3.0]
        assert await beamr.call(instance, "multi", [1, 2**40]) == [2**40, 1]
        assert await beamr.call(instance, "add64", [2**62, 2**62]) == [-(2**63)]
        assert await beamr.call(instance, "noop", []) == []
        inf = await beamr.call(instance, "id_f64", [float("inf")])
        assert inf == [float("inf")]
    async with await beamr.start(wasm("calling")) as instance:
        assert await beamr.call(instance, "half", [3.0]) == [1.5]
        assert await beamr.call(instance, "half", [f32(0.1)]) == [f32(f32(0.1) / 2)]
        assert await beamr.call(instance, "fib", [90]) == [2880067194370816120]
        assert await beamr.call(instance, "add", [2**31 - 1, 1]) == [-(2**31)]


BAD_ARGS: list[tuple[str, list[Any], type[Exception]]] = [
    ("id_i32", [], TypeError),
    ("id_i32", [1, 2], TypeError),
    ("id_i32", ["1"], TypeError),
    ("id_i32", [True], TypeError),
    ("id_i32", [None], TypeError),
    ("id_i32", [1.0], TypeError),
    ("id_i64", [1.5], TypeError),
    ("id_i32", [2**32], ValueError),
    ("id_i32", [-(2**31) - 1], ValueError),
    ("id_i64", [2**64], ValueError),
    ("id_i64", [-(2**63) - 1], ValueError),
    ("id_f64", [2**2000], ValueError),
    ("id_f32", [False], TypeError),
]


@pytest.mark.parametrize(("name", "args", "error"), BAD_ARGS)
async def test_call_checks_arguments(name: str, args: list[Any], error: type[Exception]) -> None:
    async with await beamr.start(wasm("edge")) as instance:
        with pytest.raises(error):
            await beamr.call(instance, name, args)
        assert await beamr.call(instance, "id_i32", [7]) == [7]


async def test_call_validation_comes_before_lookup() -> None:
    async with await beamr.start(wasm("edge")) as instance:
        with pytest.raises(TypeError):
            await beamr.call(instance, "no_such_export", ["x"])  # type: ignore[list-item]
        with pytest.raises(TypeError):
            await beamr.call(instance, "no_such_export", [True])
        with pytest.raises(TypeError):
            await beamr.call(instance, 42, [])  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            await beamr.call(instance, "noop", "")  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            await beamr.call(instance, "noop", None)  # type: ignore[arg-type]
        with pytest.raises(beamr.ExportNotFound):
            await beamr.call(instance, "no_such_export", [1])
        with pytest.raises(beamr.ExportNotFound):
            await beamr.call(instance, "memory", [])  # an export, not a function
        with pytest.raises(beamr.ExportNotFound):
            await beamr.call(instance, "counter", [])
    instance = await beamr.start(wasm("edge"))
    await beamr.stop(instance)
    with pytest.raises(TypeError):
        await beamr.call(instance, "noop", ["x"])  # type: ignore[list-item]
    with pytest.raises(beamr.InstanceClosed):
        await beamr.call(instance, "noop", [])


async def test_call_accepts_tuples() -> None:
    async with await beamr.start(wasm("edge")) as instance:
        assert await beamr.call(instance, "div", (7, 2)) == [3]


# -------------------------------------------------------------------------- traps


@pytest.mark.parametrize(
    ("name", "args", "code"),
    [
        ("unreachable", [], "unreachable"),
        ("div", [1, 0], "integer_division_by_zero"),
        ("div", [-(2**31), -1], "integer_overflow"),
        ("load", [65536], "memory_out_of_bounds"),
        ("recurse", [0], "stack_overflow"),
    ],
)
async def test_traps_carry_their_code(name: str, args: list[int], code: str) -> None:
    async with await beamr.start(wasm("edge")) as instance:
        await io.write(instance, 8, b"kept")
        with pytest.raises(beamr.Trap) as caught:
            await beamr.call(instance, name, args)
        assert caught.value.code == code
        assert caught.value.message
        # the instance stays usable, its memory intact
        assert await beamr.call(instance, "div", [9, 3]) == [3]
        assert await io.read(instance, 8, 4) == b"kept"


async def test_trap_messages_say_what_happened() -> None:
    async with await beamr.start(wasm("edge")) as instance:
        with pytest.raises(beamr.Trap) as caught:
            await beamr.call(instance, "div", [1, 0])
        assert "integer divide by zero" in caught.value.message
        assert "\n" not in caught.value.message  # no wasm backtrace dump
