"""start/stop, InvalidModule, and the limits of DESIGN §2."""

from __future__ import annotations

import struct
from pathlib import Path

import anyio
import anyio.to_thread
import pytest

import beamr
from beamr import io

from .conftest import child_pids, gone, open_fds, wasm

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
    before = open_fds()
    instances = [await beamr.start(wasm("fac")) for _ in range(5)]
    assert open_fds() > before
    for instance in instances:
        await beamr.stop(instance)
    assert open_fds() == before


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
            beamr.Limits(**bad)
    for bad_type in ({"fuel": 1.5}, {"memory_bytes": "1"}, {"call_timeout": "1"}, {"fuel": True}):
        with pytest.raises(TypeError):
            beamr.Limits(**bad_type)


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


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_an_instance_ends_with_its_event_loop(backend: str) -> None:
    """Before, a worker outlived its event loop until garbage collection or exit."""

    async def start() -> beamr.Instance:
        instance = await beamr.start(wasm("edge"))
        assert await io.size(instance) == 65536
        return instance

    instance = anyio.run(start, backend=backend)
    assert instance.closed
    assert gone(instance.pid)  # stopped as the loop ended, not at exit
    with pytest.raises(beamr.InstanceClosed):
        anyio.run(io.size, instance, backend=backend)


@pytest.mark.parametrize("other", ["asyncio", "trio"])
async def test_a_command_from_another_loop_is_refused_without_a_trace(other: str) -> None:
    """Before, the refused command was left marked abandoned: the owner's next call
    hung 10 s and then the worker was killed (trio: a 60 s hang or an AssertionError)."""
    async with await beamr.start(wasm("edge")) as instance:

        def from_another_loop() -> None:
            with pytest.raises(RuntimeError, match="event loop"):
                anyio.run(io.size, instance, backend=other)
            with pytest.raises(RuntimeError, match="event loop"):
                anyio.run(beamr.call, instance, "div", [1, 1], backend=other)

        await anyio.to_thread.run_sync(from_another_loop)
        with anyio.fail_after(5):  # a hang here is the bug
            assert await beamr.call(instance, "div", [84, 2]) == [42]
            assert await io.size(instance) == 65536


def test_limits_beyond_what_a_worker_can_use_are_refused_when_made() -> None:
    """Before, memory_bytes=2**63 was accepted and failed later with OverflowError, and
    2**70 raised a raw OverflowError."""
    for name in ("memory_bytes", "process_bytes", "fuel"):
        for value in (2**63, 2**70):
            with pytest.raises(ValueError, match=name):
                beamr.Limits(**{name: value})
    with pytest.raises(ValueError, match="finite"):
        beamr.Limits(call_timeout=float("inf"))
    assert beamr.Limits(memory_bytes=1 << 48, fuel=(1 << 63) - 1).memory_bytes == 1 << 48


async def test_wasi_dirs_that_are_not_directories_are_named(tmp_path: Path) -> None:
    """Before, both failed in the worker with a plain BeamrError."""
    missing = tmp_path / "missing"
    with pytest.raises(FileNotFoundError) as caught:
        await beamr.start(wasm("calling"), wasi=beamr.WasiConfig(dirs={str(missing): "/data"}))
    assert str(missing) in str(caught.value)
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(NotADirectoryError) as not_dir:
        await beamr.start(wasm("calling"), wasi=beamr.WasiConfig(dirs={str(a_file): "/data"}))
    assert str(a_file) in str(not_dir.value)


async def test_a_missing_import_names_a_dotted_module_whole() -> None:
    """Before, module "a.b" name "c" was reported as module "a", name "b.c"."""
    async with await beamr.start(wasm("dotted_import")) as instance:
        with pytest.raises(beamr.MissingImport) as caught:
            await beamr.call(instance, "call_c", [])
        assert (caught.value.module, caught.value.name) == ("a.b", "c")


async def test_io_write_takes_any_contiguous_buffer() -> None:
    """Before, array.array was refused although it supports the buffer protocol."""
    import array

    async with await beamr.start(wasm("edge")) as instance:
        await io.write(instance, 0, array.array("I", [1, 2]))
        assert await io.read(instance, 0, 8) == struct.pack("=II", 1, 2)
        with pytest.raises(TypeError, match="contiguous"):
            await io.write(instance, 0, memoryview(b"abcdef")[::2])
        with pytest.raises(TypeError):
            await io.write(instance, 0, [1, 2])  # type: ignore[arg-type]
