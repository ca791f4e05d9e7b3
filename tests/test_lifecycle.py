"""start/stop, InvalidModule, and the limits of DESIGN §2."""

from __future__ import annotations

import os

import anyio
import pytest

import beamr
from beamr import io

from .conftest import child_pids, gone, wasm

pytestmark = pytest.mark.anyio

PAGE = 65536


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize(
    "binary",
    [
        b"",
        b"not wasm at all",
        b"\0as",
        b"(module)",  # WAT text: wasmtime would take it, we do not
        pytest.param(wasm("bad"), id="truncated"),
        pytest.param(b"\0asm\x02\0\0\0", id="bad-version"),
    ],
)
async def test_invalid_modules_leave_no_worker(binary: bytes) -> None:
    before = child_pids()
    with pytest.raises(beamr.InvalidModule):
        await beamr.start(binary)
    assert gone(child_pids() - before)


async def test_start_type_checks() -> None:
    with pytest.raises(TypeError):
        await beamr.start("\0asm")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        await beamr.start(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        await beamr.start(wasm("fac"), limits={"fuel": 1})  # type: ignore[arg-type]
    async with await beamr.start(bytearray(wasm("fac"))) as instance:
        assert await beamr.call(instance, "fac", [3.0]) == [6.0]
    async with await beamr.start(memoryview(wasm("fac"))) as instance:
        assert await beamr.call(instance, "fac", [3.0]) == [6.0]


async def test_stop_is_idempotent_and_ends_the_worker() -> None:
    instance = await beamr.start(wasm("calling"))
    pid = instance.pid
    assert alive(pid)
    await beamr.stop(instance)
    assert not alive(pid)
    await beamr.stop(instance)
    await instance.aclose()
    with pytest.raises(beamr.InstanceClosed):
        await io.size(instance)
    with pytest.raises(beamr.InstanceClosed):
        await beamr.call(instance, "noop", [])


async def test_async_with_stops() -> None:
    async with await beamr.start(wasm("fac")) as instance:
        pid = instance.pid
    assert not alive(pid)
    assert instance.closed


async def test_stop_closes_the_parents_descriptors() -> None:
    before = len(os.listdir("/proc/self/fd"))
    instances = [await beamr.start(wasm("fac")) for _ in range(5)]
    assert len(os.listdir("/proc/self/fd")) > before
    for instance in instances:
        await beamr.stop(instance)
    assert len(os.listdir("/proc/self/fd")) == before


async def test_many_instances_are_independent() -> None:
    async with anyio.create_task_group() as tg:
        instances: list[beamr.Instance] = []

        async def one() -> None:
            instances.append(await beamr.start(wasm("calling")))

        for _ in range(8):
            tg.start_soon(one)
    try:
        assert len({i.pid for i in instances}) == 8
        for n, instance in enumerate(instances):
            await io.write(instance, 1024, n.to_bytes(4, "little"))
        for n, instance in enumerate(instances):
            assert await io.read(instance, 1024, 4) == n.to_bytes(4, "little")
    finally:
        for instance in instances:
            await beamr.stop(instance)


# --------------------------------------------------------------------------- limits


async def test_memory_limit_fails_growth_inside_the_wasm() -> None:
    limits = beamr.Limits(memory_bytes=3 * PAGE)
    async with await beamr.start(wasm("edge"), limits=limits) as instance:
        assert await beamr.call(instance, "grow", [2]) == [1]
        assert await beamr.call(instance, "grow", [1]) == [-1]
        assert await io.size(instance) == 3 * PAGE
    async with await beamr.start(
        wasm("calling"), limits=beamr.Limits(memory_bytes=4 * PAGE)
    ) as inst:
        await io.malloc(inst, 1000)
        with pytest.raises(beamr.MallocFailed):
            await io.malloc(inst, 4 * PAGE)
        assert await io.malloc(inst, 1000) > 0


async def test_memory_limit_below_the_module_minimum_is_invalid() -> None:
    before = child_pids()
    with pytest.raises(beamr.InvalidModule):
        await beamr.start(wasm("big_memory"), limits=beamr.Limits(memory_bytes=100 * PAGE))
    assert gone(child_pids() - before)


async def test_fuel_limit() -> None:
    async with await beamr.start(wasm("edge"), limits=beamr.Limits(fuel=100_000)) as instance:
        with pytest.raises(beamr.Trap) as caught:
            await beamr.call(instance, "spin", [])
        assert caught.value.code == "out_of_fuel"
        # the budget is per call: the next call gets a fresh one
        assert await beamr.call(instance, "id_i32", [5]) == [5]
        with pytest.raises(beamr.Trap):
            await beamr.call(instance, "spin", [])


async def test_call_timeout_interrupts_and_keeps_the_instance() -> None:
    limits = beamr.Limits(call_timeout=0.3)
    async with await beamr.start(wasm("edge"), limits=limits) as instance:
        await io.write(instance, 100, b"intact")
        with pytest.raises(beamr.CallTimeout) as caught:
            await beamr.call(instance, "spin_counting", [0])
        assert isinstance(caught.value, TimeoutError)
        assert await beamr.call(instance, "id_i32", [9]) == [9]
        assert await io.read(instance, 100, 6) == b"intact"
        assert int.from_bytes(await io.read(instance, 0, 4), "little") > 0  # it did run


async def test_limits_are_checked() -> None:
    for bad in ({"fuel": -1}, {"memory_bytes": -1}, {"call_timeout": 0}, {"call_timeout": -1.0}):
        with pytest.raises(ValueError):
            beamr.Limits(**bad)  # type: ignore[arg-type]
    for bad_type in ({"fuel": 1.5}, {"memory_bytes": "1"}, {"call_timeout": "1"}, {"fuel": True}):
        with pytest.raises(TypeError):
            beamr.Limits(**bad_type)  # type: ignore[arg-type]


async def test_logging_is_silent_by_default_and_informative_when_enabled(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging

    assert any(isinstance(h, logging.NullHandler) for h in logging.getLogger("beamr").handlers)
    with caplog.at_level(logging.DEBUG, logger="beamr"):
        async with await beamr.start(wasm("fac")) as instance:
            await beamr.call(instance, "fac", [3.0])
    messages = [r.getMessage() for r in caplog.records if r.name == "beamr"]
    assert any(m == f"worker {instance.pid} started" for m in messages)
    assert any("<- #" in m and "Call" in m for m in messages)
    assert any(m.startswith(f"worker {instance.pid} stopped") for m in messages)


def test_an_instance_belongs_to_the_asyncio_loop_that_first_used_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Under asyncio its socket is registered with that loop: another loop gets a
    clear error (and can still stop it); trio has no such binding."""

    async def start() -> beamr.Instance:
        instance = await beamr.start(wasm("edge"))
        assert await io.size(instance) == 65536
        return instance

    instance = anyio.run(start, backend="asyncio")
    try:
        with pytest.raises(RuntimeError, match="event loop"):
            anyio.run(io.size, instance, backend="asyncio")
    finally:
        with caplog.at_level("ERROR", logger="beamr"):
            anyio.run(instance.aclose, backend="asyncio")
    assert instance.closed
    assert not caplog.records  # stopped cleanly though its first loop is closed
    instance = anyio.run(start, backend="trio")
    try:
        assert anyio.run(io.size, instance, backend="trio") == 65536
    finally:
        anyio.run(instance.aclose, backend="trio")
