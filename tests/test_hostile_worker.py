"""A worker that breaks the protocol is killed and reported, never trusted or waited on."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

import beamr
from beamr import _process, io

from .conftest import child_pids, wasm

pytestmark = pytest.mark.anyio

ROGUE = str(Path(__file__).with_name("rogue_worker.py"))


@pytest.fixture
def rogue(monkeypatch: pytest.MonkeyPatch) -> Any:
    def use(mode: str) -> None:
        monkeypatch.setattr(_process, "WORKER_COMMAND", (sys.executable, ROGUE, mode))

    return use


@pytest.mark.parametrize(
    "mode", ["garbage", "wrong_id", "oversized", "unknown_reply", "large_inline"]
)
async def test_a_bad_reply_is_a_protocol_violation(rogue: Any, mode: str) -> None:
    rogue(mode)
    instance = await beamr.start(wasm("fac"))
    try:
        with pytest.raises(beamr.ProtocolViolation):
            await io.size(instance)
        with pytest.raises(beamr.WorkerCrashed):  # and it stays broken
            await io.size(instance)
        assert instance.pid not in child_pids()  # killed and reaped already
    finally:
        await beamr.stop(instance)


async def test_garbage_during_init(rogue: Any) -> None:
    rogue("garbage_during_init")
    before = child_pids()
    with pytest.raises(beamr.ProtocolViolation):
        await beamr.start(wasm("fac"))
    assert child_pids() == before


async def test_worker_exits_during_init(rogue: Any) -> None:
    rogue("exit_during_init")
    with pytest.raises(beamr.WorkerCrashed) as caught:
        await beamr.start(wasm("fac"))
    assert caught.value.exitcode == 3


async def test_a_flooding_worker_cannot_fill_the_parents_memory(
    rogue: Any, anyio_backend: str
) -> None:
    """Under asyncio the socket is read as bytes arrive, even while the instance is
    idle: past a bound the parent stops reading, and the junk waits in the socket."""
    import asyncio

    from beamr import _process

    rogue("flood")
    instance = await beamr.start(wasm("fac"))
    try:
        protocol = instance._channel._protocol  # the asyncio transport's (trio: None)
        assert (protocol is not None) == (anyio_backend == "asyncio")
        if protocol is not None:
            assert protocol.transport is not None
            with anyio.fail_after(10):
                while len(protocol.buffer) < _process._READ_HIGH:  # noqa: ASYNC110
                    await asyncio.sleep(0.001)
            assert not protocol.transport.is_reading()
            assert len(protocol.buffer) < _process._READ_HIGH + (1 << 20)
        with pytest.raises(beamr.ProtocolViolation):
            await io.size(instance)
    finally:
        await beamr.stop(instance)


async def test_a_worker_that_refuses_to_run_unconfined_leaves_nothing(rogue: Any) -> None:
    rogue("sandbox_error")
    before = child_pids()
    with pytest.raises(beamr.SandboxError, match="seccomp"):
        await beamr.start(wasm("fac"))
    assert child_pids() == before
