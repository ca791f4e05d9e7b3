"""Imports answered by Python handlers in the parent, with memory io and nested calls."""

from __future__ import annotations

from typing import Any

import anyio
import anyio.lowlevel
import pytest

import beamr
from beamr import io

from .conftest import f32_round as f32
from .conftest import wasm

pytestmark = pytest.mark.anyio


def typed_handlers(**overrides: Any) -> dict[str, dict[str, Any]]:
    handlers: dict[str, Any] = {
        "i32_to_i32": lambda w, x: x + 1,
        "f32_to_f32": lambda w, x: x * 2,
        "i64_to_i64": lambda w, x: x * 3,
        "f64_to_f64": lambda w, x: x / 4,
        "pair": lambda w, x: (x, x * 10),
        "void_fn": lambda w, x: None,
        "unused": lambda w: None,
    }
    handlers.update(overrides)
    return {"env": handlers}


async def test_every_value_type_through_an_import() -> None:
    async with await beamr.start(wasm("imports"), imports=typed_handlers()) as instance:
        assert await beamr.call(instance, "call_i32", [41]) == [42]
        assert await beamr.call(instance, "call_i32", [2**31 - 1]) == [-(2**31)]
        assert await beamr.call(instance, "call_f32", [0.1]) == [f32(f32(0.1) * 2)]
        assert await beamr.call(instance, "call_i64", [2**40]) == [3 * 2**40]
        assert await beamr.call(instance, "call_f64", [1.0]) == [0.25]
        assert await beamr.call(instance, "call_pair", [4]) == [44]
        assert await beamr.call(instance, "call_void", [4]) == []
        assert await beamr.call(instance, "call_twice", [1]) == [3]


async def test_handlers_get_the_arguments_and_the_instance() -> None:
    seen: list[Any] = []

    async def record(w: beamr.Instance, x: int) -> int:
        seen.append((w, x))
        await anyio.lowlevel.checkpoint()
        return -x

    async with await beamr.start(
        wasm("imports"), imports=typed_handlers(i32_to_i32=record)
    ) as inst:
        assert await beamr.call(inst, "call_i32", [-5]) == [5]
        assert seen == [(inst, -5)]


async def test_int_results_for_float_imports_are_converted() -> None:
    handlers = typed_handlers(f64_to_f64=lambda w, x: 3, f32_to_f32=lambda w, x: 2)
    async with await beamr.start(wasm("imports"), imports=handlers) as instance:
        assert await beamr.call(instance, "call_f64", [1.0]) == [3.0]
        assert await beamr.call(instance, "call_f32", [1.0]) == [2.0]


@pytest.mark.parametrize(
    "bad",
    [
        {"i32_to_i32": lambda w, x: 1.5},
        {"i32_to_i32": lambda w, x: "1"},
        {"i32_to_i32": lambda w, x: True},
        {"i32_to_i32": lambda w, x: None},
        {"i32_to_i32": lambda w, x: (1, 2)},
        {"i32_to_i32": lambda w, x: 2**32},
        {"void_fn": lambda w, x: 1},
        {"pair": lambda w, x: 1},
        {"i32_to_i32": lambda w, x: object()},
    ],
)
async def test_bad_handler_results_are_import_handler_errors(bad: dict[str, Any]) -> None:
    name = next(iter(bad))
    export = {"i32_to_i32": "call_i32", "void_fn": "call_void", "pair": "call_pair"}[name]
    async with await beamr.start(wasm("imports"), imports=typed_handlers(**bad)) as instance:
        with pytest.raises(beamr.ImportHandlerError):
            await beamr.call(instance, export, [1])
        assert await beamr.call(instance, "call_f64", [2.0]) == [0.5]


async def test_handler_exception_is_the_cause() -> None:
    class Boom(Exception):
        pass

    def explode(w: beamr.Instance, x: int) -> int:
        raise Boom("handler failed")

    async with await beamr.start(
        wasm("imports"), imports=typed_handlers(i32_to_i32=explode)
    ) as inst:
        with pytest.raises(beamr.ImportHandlerError) as caught:
            await beamr.call(inst, "call_i32", [1])
        assert isinstance(caught.value.__cause__, Boom)
        assert "env.i32_to_i32" in str(caught.value)
        # usable afterwards, the failing import included
        assert await beamr.call(inst, "call_f64", [2.0]) == [0.5]
        with pytest.raises(beamr.ImportHandlerError):
            await beamr.call(inst, "call_twice", [1])


async def test_missing_import_names_it() -> None:
    handlers = typed_handlers()
    del handlers["env"]["i32_to_i32"]
    async with await beamr.start(wasm("imports"), imports=handlers) as instance:
        with pytest.raises(beamr.MissingImport, match=r"env\.i32_to_i32") as caught:
            await beamr.call(instance, "call_i32", [1])
        assert (caught.value.module, caught.value.name) == ("env", "i32_to_i32")
        assert await beamr.call(instance, "call_i64", [1]) == [3]
    async with await beamr.start(wasm("pow")) as instance:  # no handlers at all
        with pytest.raises(beamr.MissingImport, match=r"my_lib\.mul"):
            await beamr.call(instance, "pow", [2, 2])
        assert await beamr.call(instance, "pow", [2, 0]) == [1]  # mul never called


async def test_memory_io_inside_a_handler() -> None:
    logged: list[bytes] = []

    async def host_log(w: beamr.Instance, ptr: int) -> None:
        logged.append(await io.read_string(w, ptr))
        assert await io.size(w) > 0

    handlers = {"env": {"host_log": host_log}}
    async with await beamr.start(wasm("calling"), imports=handlers) as instance:
        name = await io.write_string(instance, "handler")
        assert await beamr.call(instance, "log_greeting", [name]) == [len("Hello, handler!")]
    assert logged == [b"Hello, handler!"]


async def test_nested_call_from_a_handler() -> None:
    """HyperBEAM deadlocks here: the handler mallocs inside the suspended instance."""

    async def host_string(w: beamr.Instance) -> int:
        ptr = await io.write_string(w, "made by the host")  # malloc: a nested call
        assert await beamr.call(w, "str_len", [ptr]) == [16]  # and another
        return ptr

    async with await beamr.start(
        wasm("calling"), imports={"env": {"host_string": host_string}}
    ) as inst:
        assert await beamr.call(inst, "host_string_len", []) == [16]
        assert await beamr.call(inst, "host_string_len", []) == [16]


async def test_nested_call_that_imports_again() -> None:
    depth: list[int] = []

    async def host_mul(w: beamr.Instance, a: int, b: int) -> int:
        depth.append(a)
        if a > 1:  # recurse through the wasm: mul_via_host -> host_mul -> mul_via_host ...
            (inner,) = await beamr.call(w, "mul_via_host", [a - 1, b])
            return int(inner) + b
        return a * b

    async with await beamr.start(wasm("calling"), imports={"env": {"host_mul": host_mul}}) as inst:
        assert await beamr.call(inst, "mul_via_host", [5, 7]) == [35]
    assert depth == [5, 4, 3, 2, 1]


async def test_other_tasks_wait_while_a_handler_runs() -> None:
    events: list[str] = []
    in_handler = anyio.Event()
    release = anyio.Event()

    async def slow(w: beamr.Instance, x: int) -> int:
        events.append("handler start")
        in_handler.set()
        await release.wait()
        await io.write(w, 0, b"handler")  # the handler's own io goes first
        events.append("handler end")
        return x

    async with await beamr.start(wasm("imports"), imports=typed_handlers(i32_to_i32=slow)) as inst:

        async def other() -> None:
            await in_handler.wait()
            events.append("other waits")
            other_waiting.set()
            data = await io.read(inst, 0, 7)
            events.append(f"other got {data.decode()}")

        other_waiting = anyio.Event()

        async def releaser() -> None:
            # Whenever this runs, `other` cannot get in before the call has finished:
            # the instance's mailbox is held by the call for its whole length.
            await other_waiting.wait()
            release.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(other)
            tg.start_soon(releaser)
            assert await beamr.call(inst, "call_i32", [3]) == [3]
    assert events == ["handler start", "other waits", "handler end", "other got handler"]


async def test_handler_may_use_the_instance_from_child_tasks() -> None:
    async def fan_out(w: beamr.Instance) -> int:
        ptrs: list[int] = []

        async def one(text: str) -> None:
            ptrs.append(await io.write_string(w, text))

        async with anyio.create_task_group() as tg:
            for text in ("alpha", "beta", "gamma", "delta"):
                tg.start_soon(one, text)
        contents = sorted([await io.read_string(w, p) for p in ptrs])
        assert contents == [b"alpha", b"beta", b"delta", b"gamma"]
        return ptrs[0]

    async with await beamr.start(
        wasm("calling"), imports={"env": {"host_string": fan_out}}
    ) as inst:
        assert (await beamr.call(inst, "host_string_len", []))[0] in (4, 5)


async def test_concurrent_tasks_are_served_one_at_a_time() -> None:
    async with await beamr.start(wasm("calling")) as instance:
        results: dict[int, list[Any]] = {}

        async def worker(n: int) -> None:
            ptr = await io.write_string(instance, f"task {n}")
            results[n] = [
                await io.read_string(instance, ptr),
                await beamr.call(instance, "add", [n, n]),
            ]

        async with anyio.create_task_group() as tg:
            for n in range(20):
                tg.start_soon(worker, n)
        assert results == {n: [f"task {n}".encode(), [2 * n]] for n in range(20)}


async def test_start_checks_the_import_mapping() -> None:
    for bad in (
        ["env"],
        {"env": ["f"]},
        {"env": {"f": 42}},
        {1: {"f": print}},
        {"env": {2: print}},
    ):
        with pytest.raises(TypeError):
            await beamr.start(wasm("pow"), imports=bad)  # type: ignore[arg-type]
