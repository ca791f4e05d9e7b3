"""Worker death: the parent notices at once, whatever the worker was doing; every
pending and later command raises WorkerCrashed with the exit status; other instances
are untouched; nothing waits forever."""

from __future__ import annotations

import os
import signal

import anyio
import pytest

import beamr
from beamr import io

from .conftest import record_error, wasm

pytestmark = pytest.mark.anyio


async def test_killed_idle_worker_raises_worker_crashed() -> None:
    instance = await beamr.start(wasm("edge"))
    try:
        os.kill(instance.pid, signal.SIGKILL)
        with pytest.raises(beamr.WorkerCrashed) as caught:
            await io.size(instance)
        assert caught.value.exitcode == -signal.SIGKILL
        with pytest.raises(beamr.WorkerCrashed):  # and every later command too
            await beamr.call(instance, "noop", [])
    finally:
        await beamr.stop(instance)


async def test_worker_killed_during_a_call() -> None:
    def ready(w: beamr.Instance) -> None:
        os.kill(w.pid, signal.SIGKILL)  # dies right after the import returns

    async with await beamr.start(wasm("ready_spin"), imports={"env": {"ready": ready}}) as inst:
        with pytest.raises(beamr.WorkerCrashed) as caught:
            await beamr.call(inst, "spin", [])
        assert caught.value.exitcode == -signal.SIGKILL


async def test_worker_killed_during_an_import_callback() -> None:
    seen: list[BaseException] = []

    async def host_log(w: beamr.Instance, ptr: int) -> None:
        os.kill(w.pid, signal.SIGKILL)
        try:
            await io.read_string(w, ptr)
        except beamr.WorkerCrashed as exc:
            seen.append(exc)
            raise

    async with await beamr.start(wasm("calling"), imports={"env": {"host_log": host_log}}) as inst:
        with pytest.raises((beamr.WorkerCrashed, beamr.ImportHandlerError)):
            await beamr.call(inst, "log_greeting", [await io.write_string(inst, "x")])
        assert len(seen) == 1
        assert isinstance(seen[0], beamr.WorkerCrashed)
        assert seen[0].exitcode == -signal.SIGKILL
        with pytest.raises(beamr.WorkerCrashed):
            await io.size(inst)


async def test_a_crash_does_not_touch_other_instances() -> None:
    async with await beamr.start(wasm("edge")) as victim, await beamr.start(wasm("edge")) as other:
        await io.write(other, 0, b"safe")
        os.kill(victim.pid, signal.SIGKILL)
        with pytest.raises(beamr.WorkerCrashed):
            await io.size(victim)
        assert await io.read(other, 0, 4) == b"safe"


async def test_queued_tasks_get_worker_crashed_too() -> None:
    started = anyio.Event()
    outcomes: list[BaseException] = []

    def ready(w: beamr.Instance) -> None:
        started.set()

    async with await beamr.start(wasm("ready_spin"), imports={"env": {"ready": ready}}) as inst:
        async with anyio.create_task_group() as tg:
            tg.start_soon(record_error, outcomes, beamr.call, inst, "spin", [])
            await started.wait()
            # a second request, queued behind the runaway call
            tg.start_soon(record_error, outcomes, io.size, inst)
            await anyio.wait_all_tasks_blocked()
            os.kill(inst.pid, signal.SIGKILL)
        assert len(outcomes) == 2
        assert all(isinstance(exc, beamr.WorkerCrashed) for exc in outcomes)
        assert all(getattr(exc, "exitcode", None) == -signal.SIGKILL for exc in outcomes)
