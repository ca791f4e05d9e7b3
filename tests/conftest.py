"""Shared fixtures: both anyio backends, the wasm fixtures, and a leak check."""

from __future__ import annotations

import glob
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import anyio
import pytest

import beamr
from beamr import _forkserver

FIXTURES = Path(__file__).resolve().parent.parent / "wasm_fixtures"


def wasm(name: str) -> bytes:
    """The bytes of ``wasm_fixtures/NAME.wasm``."""
    return (FIXTURES / f"{name}.wasm").read_bytes()


def uleb(value: int) -> bytes:
    """``value`` in unsigned LEB128, as the WebAssembly binary format writes integers."""
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def wasm_section(number: int, body: bytes) -> bytes:
    """A module section: its number, its length, its bytes."""
    return bytes([number]) + uleb(len(body)) + body


def open_fds() -> int:
    """How many descriptors this process has open, the fork-server's own aside (it
    outlives the last instance by its idle time, by design)."""
    return len(set(map(int, os.listdir("/proc/self/fd"))) - _forkserver.FORK_SERVER.descriptors())


def _children(pid: int) -> set[int]:
    pids: set[int] = set()
    for path in glob.glob(f"/proc/{pid}/task/*/children"):
        try:
            with open(path) as f:
                pids.update(int(p) for p in f.read().split())
        except OSError:
            continue
    return pids


def child_pids() -> set[int]:
    """Our workers, live or zombie: our children, whichever thread started them, and
    the fork-server's children (it is not counted itself: it is shared by the session)."""
    pids = _children(os.getpid())
    server = _forkserver.FORK_SERVER.pid
    if server is not None and server in pids:
        pids.discard(server)
        pids |= _children(server)
    return pids


def gone(pids: set[int] | int, timeout: float = 5.0) -> bool:
    """Whether these workers are gone (and reaped) within ``timeout``.

    A forked worker is reaped by the fork-server once the parent released it, a
    moment after the parent is done with it: wait for that, with a deadline."""
    wanted = {pids} if isinstance(pids, int) else set(pids)
    deadline = time.monotonic() + timeout
    while wanted & child_pids():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.002)
    return True


async def exited(pids: set[int] | int) -> None:
    """Wait for these processes to exit (each pidfd turns readable), the event loop
    running meanwhile: work it does in the background (a pool stopping a returned
    instance) goes on. Bound it with ``anyio.fail_after``; :func:`gone` then checks
    that they were reaped too."""
    for pid in {pids} if isinstance(pids, int) else set(pids):
        try:
            pidfd = os.pidfd_open(pid)
        except ProcessLookupError:
            continue  # gone already
        try:
            await anyio.wait_readable(pidfd)
        finally:
            os.close(pidfd)


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(autouse=True)
def no_leaked_workers() -> Iterator[None]:
    """Every test stops the workers it started: none may outlive it, not even a zombie."""
    before = child_pids()
    yield
    leaked = child_pids() - before
    assert gone(leaked), f"worker processes left behind: {sorted(leaked & child_pids())}"


@pytest.fixture(autouse=True)
def fork_server_let_go() -> Iterator[None]:
    """Whoever holds the fork-server in a test lets it go (pools, fork_server())."""
    yield
    assert not _forkserver.FORK_SERVER.held, "the fork-server is still held"


@pytest.fixture(params=["inline", "bulk"])
def io_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Force every read/write (and snapshot) through one path: frames or bulk copies."""
    from beamr import _bulk, _memory

    if request.param == "bulk":
        if not _bulk.AVAILABLE:
            pytest.skip("no process_vm_readv on this platform")
        monkeypatch.setattr(_memory, "BULK_THRESHOLD", 0)
    else:
        monkeypatch.setattr(_memory, "BULK_THRESHOLD", 1 << 62)
        monkeypatch.setattr(_bulk, "AVAILABLE", False)  # snapshots too
    return str(request.param)


def f32_round(x: float) -> float:
    """``x`` rounded to the nearest f32, as a Python float."""
    import struct

    return float(struct.unpack("<f", struct.pack("<f", x))[0])


@pytest.fixture(params=["spawned", "forked"])
def start_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run the test once with spawned workers and once with forked ones: every sandbox
    and budget guarantee holds whichever way the worker was started."""
    if request.param == "forked":
        if not _forkserver.FORK_SUPPORTED:
            pytest.skip("no fork-server on this platform")
        monkeypatch.setattr(_forkserver, "METHOD", "fork")
        yield "forked"
        _forkserver.FORK_SERVER.shutdown()
    else:
        monkeypatch.setattr(_forkserver, "METHOD", "process")
        yield "spawned"


async def record_error(
    into: list[BaseException], fn: Callable[..., Awaitable[object]], *args: object
) -> None:
    """Await ``fn(*args)`` and append the :class:`beamr.BeamrError` it raises to
    ``into``, for tests that start a doomed call in a task and check its end later."""
    try:
        await fn(*args)
    except beamr.BeamrError as exc:
        into.append(exc)
