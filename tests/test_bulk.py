"""The bulk path (``locate`` + a direct copy) moves the same bytes, with the same
bounds, as the inline path; where the system refuses it, io falls back to frames;
a worker that lies about its memory is a protocol violation.

The property test of io against a model of memory runs on both paths too
(tests/test_io_model.py, the ``io_path`` fixture).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

import beamr
import beamr._memory
from beamr import _bulk, _spawn, io, protocol

from .conftest import wasm

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(not _bulk.AVAILABLE, reason="no process_vm_readv on this platform"),
]

ROGUE = str(Path(__file__).with_name("rogue_worker.py"))
MiB = 1 << 20


def pattern(size: int, seed: int = 0) -> bytes:
    return (os.urandom(64) * (size // 64 + 1))[:size] if seed else bytes(range(256)) * (size // 256)


async def test_large_io_takes_the_bulk_path_and_agrees_with_frames(monkeypatch: Any) -> None:
    copies: list[str] = []
    real_read, real_write = _bulk.read, _bulk.write

    def read(*args: Any) -> bytes:
        copies.append("read")
        return real_read(*args)

    def write(*args: Any) -> int:
        copies.append("write")
        return real_write(*args)

    monkeypatch.setattr(_bulk, "read", read)
    monkeypatch.setattr(_bulk, "write", write)
    async with await beamr.start(wasm("calling")) as instance:
        ptr = await io.malloc(instance, 4 * MiB)
        data = pattern(4 * MiB, seed=1)
        await io.write(instance, ptr, data)  # bulk
        assert copies == ["write"]
        assert await io.read(instance, ptr, len(data)) == data  # bulk
        assert copies == ["write", "read"]
        # the inline path sees the same bytes, piece by piece
        for start in (0, 12345, 4 * MiB - 1000):
            assert await io.read(instance, ptr + start, 1000) == data[start : start + 1000]
        assert copies == ["write", "read"]  # small reads stayed inline
        # and the wasm itself sees them: it sums the bytes
        (total,) = await beamr.call(instance, "sum_bytes", [ptr, 100_000])
        assert total % (1 << 32) == sum(data[:100_000]) % (1 << 32)


@pytest.mark.parametrize("size", [beamr._memory.BULK_THRESHOLD, 3 * MiB + 7])
async def test_bounds_are_the_same_on_both_paths(io_path: str, size: int) -> None:
    async with await beamr.start(wasm("big_memory")) as instance:
        length = await io.size(instance)
        # exactly up to the end: fine; one byte further: OutOfBounds, nothing written
        await io.write(instance, length - size, b"\xaa" * size)
        assert await io.read(instance, length - size, size) == b"\xaa" * size
        before = await beamr.serialize(instance)
        with pytest.raises(beamr.OutOfBounds):
            await io.write(instance, length - size + 1, b"\xbb" * size)
        with pytest.raises(beamr.OutOfBounds):
            await io.read(instance, length - size + 1, size)
        with pytest.raises(beamr.OutOfBounds):
            await io.read(instance, length, size)
        with pytest.raises(ValueError):
            await io.read(instance, -1, size)
        with pytest.raises(beamr.OutOfBounds):
            await io.read(instance, 2**64 - 1, size)
        assert await beamr.serialize(instance) == before


async def test_snapshots_are_the_same_on_both_paths(io_path: str) -> None:
    async with await beamr.start(wasm("big_memory")) as instance:
        data = pattern(193 * 65536, seed=1)
        await beamr.deserialize(instance, data)
        assert await beamr.serialize(instance) == data
        await beamr.deserialize(instance, b"\x01" * 1000)  # a smaller one: the rest stays
        snapshot = await beamr.serialize(instance)
        assert snapshot[:1000] == b"\x01" * 1000
        assert snapshot[1000:] == data[1000:]
        with pytest.raises(beamr.OutOfBounds, match="does not fit"):
            await beamr.deserialize(instance, data + b"x")
        assert await beamr.serialize(instance) == snapshot
    async with await beamr.start(wasm("fac")) as instance:  # no memory at all
        assert await beamr.serialize(instance) == b""


async def test_bulk_io_inside_an_import_handler() -> None:
    seen: list[bytes] = []

    async def host_log(instance: beamr.Instance, ptr: int) -> None:
        block = await io.malloc(instance, MiB)
        await io.write(instance, block, pattern(MiB))
        seen.append(await io.read(instance, block, MiB))
        seen.append(await io.read_string(instance, ptr))
        await io.free(instance, block)

    async with await beamr.start(wasm("calling"), imports={"env": {"host_log": host_log}}) as w:
        name = await io.write_string(w, "bulk")
        await beamr.call(w, "log_greeting", [name])
        assert seen[0] == pattern(MiB)
        assert seen[1] == b"Hello, bulk!"


async def test_a_refusing_system_falls_back_to_frames(monkeypatch: Any) -> None:
    def refuse(*args: Any) -> None:
        raise _bulk.Unavailable("process_vm_readv: EPERM")

    monkeypatch.setattr(_bulk, "_copy", refuse)
    async with await beamr.start(wasm("calling")) as instance:
        assert instance.bulk
        ptr = await io.malloc(instance, MiB)
        data = pattern(MiB, seed=1)
        await io.write(instance, ptr, data)
        assert not instance.bulk  # switched off for good, the write still done inline
        assert await io.read(instance, ptr, MiB) == data
        assert len(await beamr.serialize(instance)) == await io.size(instance)


@pytest.mark.parametrize("mode", ["locate_unmapped", "locate_malformed", "locate_huge"])
async def test_a_worker_lying_about_its_memory_is_a_violation(monkeypatch: Any, mode: str) -> None:
    monkeypatch.setattr(_spawn, "WORKER_COMMAND", (sys.executable, ROGUE, mode))
    async with await beamr.start(wasm("fac")) as instance:
        # a snapshot's size comes from the worker: a huge one is refused, not allocated
        operation = (
            beamr.serialize(instance) if mode == "locate_huge" else io.read(instance, 0, MiB)
        )
        with pytest.raises(beamr.ProtocolViolation):
            await operation
        with pytest.raises(beamr.WorkerCrashed):
            await io.size(instance)


@pytest.mark.parametrize(
    "size", [_bulk.PARALLEL_MIN - 1, _bulk.PARALLEL_MIN, _bulk.PARALLEL_MIN + 4097, 9 << 20]
)
def test_split_copies_move_every_byte(size: int) -> None:
    """Large copies run in two halves (one on a helper thread): every byte, in place.
    Against this very process (process_vm_* works on one's own pid)."""
    import ctypes

    source = bytearray(os.urandom(size))
    address = ctypes.addressof((ctypes.c_char * size).from_buffer(source))
    assert _bulk.read(os.getpid(), address, size) == source
    target = bytearray(size)
    target_address = ctypes.addressof((ctypes.c_char * size).from_buffer(target))
    data = os.urandom(size)
    assert _bulk.write(os.getpid(), target_address, data) == size
    assert target == data


async def test_snapshots_past_two_gib_travel_whole() -> None:
    """Before, serialize() of a 2.6 GB wasm32 memory was a ProtocolViolation (a frame
    cap of 2 GiB): the worker was killed and its state lost. (The inline path moves
    any size in the same chunks: test_inline_transfers_go_in_chunks.)"""
    if not _bulk.AVAILABLE:
        pytest.skip("no process_vm_readv on this platform")
    pages = (2 << 30) // 65536 + 1000  # 2 GiB and 62.5 MiB
    async with await beamr.start(wasm("grow32")) as instance:
        assert await beamr.call(instance, "grow", [pages - 1]) == [1]
        size = pages * 65536
        await io.write(instance, size - 7, b"the end")
        await io.write(instance, 1 << 31, b"past 2 GiB")
        snapshot = await beamr.serialize(instance)
        assert len(snapshot) == size
        assert snapshot[-7:] == b"the end"
        assert snapshot[1 << 31 : (1 << 31) + 10] == b"past 2 GiB"
        await io.write(instance, size - 7, b"changed")
        await beamr.deserialize(instance, snapshot)
        assert await io.read(instance, size - 7, 7) == b"the end"
        del snapshot
        assert instance.usable


async def test_inline_transfers_go_in_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the bulk path, reads, writes, strings and snapshots larger than one
    frame travel in INLINE_CHUNK pieces, all or nothing."""
    monkeypatch.setattr(beamr._memory, "BULK_THRESHOLD", 1 << 62)
    monkeypatch.setattr(_bulk, "AVAILABLE", False)
    big = 2 * protocol.INLINE_CHUNK + 7
    async with await beamr.start(wasm("grow32")) as instance:
        pages = -(-(big + 4096) // 65536)
        assert await beamr.call(instance, "grow", [pages]) == [1]
        size = await io.size(instance)
        data = bytes(range(256)) * (big // 256) + b"x" * (big % 256)
        await io.write(instance, 1, data)
        assert await io.read(instance, 1, big) == data
        with pytest.raises(beamr.OutOfBounds):  # all or nothing: not a byte written
            await io.write(instance, size - big + 1, b"y" * big)
        assert await io.read(instance, size - 8, 8) == b"\0" * 8
        snapshot = await beamr.serialize(instance)
        assert len(snapshot) == size
        assert snapshot[1 : big + 1] == data
        await io.write(instance, 1, b"changed")
        await beamr.deserialize(instance, snapshot)
        assert await io.read(instance, 1, 7) == data[:7]


async def test_a_string_longer_than_a_frame_is_read_whole(io_path: str) -> None:
    big = protocol.INLINE_CHUNK + 3
    async with await beamr.start(wasm("grow32")) as instance:
        assert await beamr.call(instance, "grow", [-(-(big + 2) // 65536)]) == [1]
        await io.write(instance, 0, b"s" * big + b"\0")
        assert await io.read_string(instance, 0) == b"s" * big
