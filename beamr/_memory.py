"""Moving bytes in and out of an instance's linear memory: the one place that chooses
between the bulk path and frames.

From ``BULK_THRESHOLD`` bytes up, the worker checks the range (``locate``: the same
check as a read or write) and the parent copies straight from or into its memory
(:mod:`beamr._bulk`); where the system refuses that, or below the threshold, bytes
travel inline, in frames of at most ``INLINE_CHUNK`` bytes. Every transfer of several
frames holds the instance (a session), so that no command of another task, and so no
wasm, runs in between; a write is checked against the memory's size before its first
byte moves (all or nothing).
"""

from __future__ import annotations

from typing import Any

from beamr import _bulk
from beamr import protocol as p
from beamr.errors import OutOfBounds, TooLargeForAFrame
from beamr.instance import Instance, Send

__all__ = ["BULK_THRESHOLD", "read", "read_string", "restore", "size", "snapshot", "write"]

#: transfers from this size up go through the bulk path: below it one inline frame is
#: as fast as a locate round trip plus the copy
BULK_THRESHOLD = 32 << 10


async def size(instance: Instance) -> int:
    return await instance.request(p.Size())


async def read(instance: Instance, offset: int, count: int) -> bytes:
    """``count`` bytes at ``offset``."""
    if count >= BULK_THRESHOLD and instance.bulk:
        data = await _bulk_read(instance, offset, count)
        if data is not None:
            return data
    if count <= p.INLINE_CHUNK:
        return await instance.request(p.Read(offset, count))
    async with instance.session() as send:
        parts = [
            await send(p.Read(at, min(p.INLINE_CHUNK, offset + count - at)))
            for at in range(offset, offset + count, p.INLINE_CHUNK)
        ]
    return b"".join(parts)


async def write(instance: Instance, offset: int, data: bytes) -> None:
    """``data`` at ``offset``, all or nothing."""
    if len(data) >= BULK_THRESHOLD and instance.bulk and await _bulk_write(instance, offset, data):
        return
    if len(data) <= p.INLINE_CHUNK:
        await instance.request(p.Write(offset, data))
        return
    async with instance.session() as send:
        _fits(offset, len(data), await send(p.Size()), "write")
        await _write_chunks(send, offset, data)


async def read_string(instance: Instance, offset: int) -> bytes:
    """The bytes from ``offset`` to the first NUL, found by the worker."""
    try:
        return await instance.request(p.ReadString(offset))
    except TooLargeForAFrame as exc:  # longer than one frame: read it as bytes
        return await read(instance, offset, exc.size)


async def snapshot(instance: Instance) -> bytes:
    """The whole linear memory."""
    if instance.bulk:
        data = await _bulk_read(instance, 0, -1)
        if data is not None:
            return data
    async with instance.session() as send:
        length = await send(p.Size())
        if length > instance.memory_bound:
            await instance.violation(f"a memory of {length} bytes")
        parts = [
            await send(p.Read(at, min(p.INLINE_CHUNK, length - at)))
            for at in range(0, length, p.INLINE_CHUNK)
        ]
    return b"".join(parts)


async def restore(instance: Instance, data: bytes) -> None:
    """Write a snapshot back at offset 0; OutOfBounds (nothing changed) if it does
    not fit."""
    if instance.bulk and await _bulk_write(instance, 0, data, snapshot=True):
        return
    async with instance.session() as send:
        _fits(0, len(data), await send(p.Size()), "snapshot")
        await _write_chunks(send, 0, data)


def _fits(offset: int, count: int, length: int, what: str) -> None:
    if offset + count <= length:
        return
    if what == "snapshot":
        raise OutOfBounds(f"snapshot of {count} bytes does not fit the memory of {length} bytes")
    raise OutOfBounds(
        f"{what} of {count} bytes at {offset} is outside the memory of {length} bytes"
    )


async def _write_chunks(send: Send[Any], offset: int, data: bytes) -> None:
    view = memoryview(data)
    for at in range(0, len(data), p.INLINE_CHUNK):
        await send(p.Write(offset + at, bytes(view[at : at + p.INLINE_CHUNK])))


async def _bulk_read(instance: Instance, offset: int, count: int) -> bytes | None:
    """Read through the bulk path; None: use frames. ``count == -1``: to the end."""
    out: list[bytes] = []

    async def copy(location: tuple[int, int]) -> None:
        address, length = location
        wanted = length - offset if count == -1 else count
        if not 0 <= wanted <= instance.memory_bound:  # the worker's word, bounded
            await instance.violation(f"locate: a memory of {length} bytes")
        data = await instance.bulk_copy(lambda pid: _bulk.read(pid, address, wanted))
        if data is not None:
            out.append(data)

    await instance.request(p.Locate(offset, max(count, 0), "read"), then=copy)
    return out[0] if out else None


async def _bulk_write(
    instance: Instance, offset: int, data: bytes, *, snapshot: bool = False
) -> bool:
    """Write through the bulk path; False: use frames. ``snapshot``: the data must fit
    the whole memory (``deserialize``)."""
    done: list[bool] = []

    async def copy(location: tuple[int, int]) -> None:
        address, length = location
        if snapshot:
            _fits(0, len(data), length, "snapshot")
        if await instance.bulk_copy(lambda pid: _bulk.write(pid, address, data)) is not None:
            done.append(True)

    await instance.request(p.Locate(offset, 0 if snapshot else len(data), "write"), then=copy)
    return bool(done)
