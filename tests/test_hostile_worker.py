"""A worker that breaks the protocol is killed and reported, never trusted or waited on."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

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


@pytest.mark.parametrize("mode", ["garbage", "wrong_id", "oversized", "unknown_reply"])
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
