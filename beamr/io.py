"""Memory io on an instance: the Python counterpart of HyperBEAM's ``hb_beamr_io``.

Every function validates its arguments before anything is sent (HyperBEAM's
"defensive, caller-side" checking): a wrong type is a ``TypeError``, a negative
offset, size or pointer a ``ValueError``. The worker checks every bound again before
any byte moves; an access past the memory raises :class:`~beamr.OutOfBounds` and
changes nothing.

Reads and writes from ``beamr._memory.BULK_THRESHOLD`` bytes up skip the socket: the
worker checks the range (the same check) and the parent copies straight from or into
its linear memory (:mod:`beamr._bulk`). Where the system does not allow that, they
travel inline, in frames of at most ``beamr.protocol.INLINE_CHUNK`` bytes.

==================================  =============================================
HyperBEAM ``hb_beamr_io``           beamr
==================================  =============================================
``size(WASM)``                      ``await io.size(wasm)``
``read(WASM, Offset, Size)``        ``await io.read(wasm, offset, size)``
``write(WASM, Offset, Data)``       ``await io.write(wasm, offset, data)``
``read_string(WASM, Offset[, C])``  ``await io.read_string(wasm, offset)`` (one round trip)
``write_string(WASM, Data)``        ``await io.write_string(wasm, data)``
``malloc(WASM, Size)``              ``await io.malloc(wasm, size)``
``free(WASM, Ptr)``                 ``await io.free(wasm, ptr)``
==================================  =============================================

Several of these (and calls) travel in one round trip with :func:`batch`: see
:mod:`beamr._batch`.
"""

from __future__ import annotations

import array
from typing import TYPE_CHECKING, Any

import anyio

from beamr import _memory
from beamr._batch import Op, batch
from beamr._remote import Remote
from beamr.errors import ExportNotFound, MallocFailed, OutOfBounds
from beamr.instance import Instance

__all__ = [
    "Op",
    "batch",
    "free",
    "malloc",
    "read",
    "read_string",
    "size",
    "write",
    "write_string",
]

if TYPE_CHECKING:
    BytesLike = bytes | bytearray | memoryview | array.array[Any]
else:  # array.array is generic for type checkers only
    BytesLike = bytes | bytearray | memoryview | array.array


def _instance(wasm: Any) -> Instance | Remote:
    """The instance, local or remote (:mod:`beamr.cluster`); TypeError for anything else.
    A remote one gets the same checks of the arguments, then the function runs there."""
    if not isinstance(wasm, Instance | Remote):
        raise TypeError(f"expected a beamr.Instance, got {type(wasm).__name__}")
    return wasm


def _non_negative(value: Any, what: str) -> int:
    if type(value) is bool or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{what} must not be negative, got {value}")
    return int(value)


def _bytes(data: Any, what: str = "data") -> bytes:
    """Any C-contiguous buffer (bytes, bytearray, memoryview, array.array, ...)."""
    if type(data) is bytes:
        return data
    if isinstance(data, str):
        raise TypeError(f"{what} must be bytes-like, got str")
    try:
        view = memoryview(data)
    except TypeError:
        raise TypeError(f"{what} must be bytes-like, got {type(data).__name__}") from None
    with view:
        if not view.c_contiguous:
            raise TypeError(f"{what} must be a C-contiguous buffer")
        return view.tobytes()


#: No linear memory reaches this far (offsets travel as u64).
_ADDRESS_LIMIT = 1 << 64


def _check_reach(offset: int, size: int) -> None:
    if offset + size >= _ADDRESS_LIMIT:
        raise OutOfBounds(f"{size} bytes at {offset} lie beyond any possible memory")


async def size(wasm: Instance | Remote) -> int:
    """The size of the linear memory in bytes (pages * 65536); 0 without memory."""
    instance = _instance(wasm)
    if isinstance(instance, Remote):
        return int(await instance.invoke("io.size", ()))
    return await _memory.size(instance)


async def read(wasm: Instance | Remote, offset: int, size: int) -> bytes:
    """``size`` bytes of memory from ``offset``."""
    instance = _instance(wasm)
    offset = _non_negative(offset, "offset")
    size = _non_negative(size, "size")
    _check_reach(offset, size)
    if isinstance(instance, Remote):
        return bytes(await instance.invoke("io.read", (offset, size)))
    return await _memory.read(instance, offset, size)


async def write(wasm: Instance | Remote, offset: int, data: BytesLike) -> None:
    """Write ``data`` at ``offset``; all or nothing."""
    instance = _instance(wasm)
    offset = _non_negative(offset, "offset")
    payload = _bytes(data)
    _check_reach(offset, len(payload))
    if isinstance(instance, Remote):
        await instance.invoke("io.write", (offset, payload))
        return
    await _memory.write(instance, offset, payload)


async def read_string(wasm: Instance | Remote, offset: int, chunk_size: int | None = None) -> bytes:
    """The bytes from ``offset`` up to (not including) the first NUL.

    The worker finds the NUL in one pass: one round trip whatever the length.
    ``chunk_size`` is accepted for HyperBEAM's ``read_string/3`` and only validated.
    No NUL before the end of memory raises :class:`~beamr.OutOfBounds`.
    """
    instance = _instance(wasm)
    offset = _non_negative(offset, "offset")
    if chunk_size is not None and _non_negative(chunk_size, "chunk_size") == 0:
        raise ValueError("chunk_size must be positive")
    _check_reach(offset, 0)
    if isinstance(instance, Remote):
        return bytes(await instance.invoke("io.read_string", (offset,)))
    return await _memory.read_string(instance, offset)


async def write_string(wasm: Instance | Remote, data: str | BytesLike) -> int:
    """Copy ``data`` plus a NUL into a fresh ``malloc`` block; its pointer.

    ``str`` is encoded as UTF-8. Data containing a NUL is refused (it could not be
    read back). If the write fails, the block is freed before the error is raised.
    """
    instance = _instance(wasm)
    payload = data.encode("utf-8") if isinstance(data, str) else _bytes(data)
    if b"\0" in payload:
        raise ValueError("a string written with write_string cannot contain a NUL byte")
    if isinstance(instance, Remote):
        return int(await instance.invoke("io.write_string", (payload,)))
    ptr = await malloc(instance, len(payload) + 1)
    try:
        await write(instance, ptr, payload + b"\0")
    except BaseException:
        with anyio.CancelScope(shield=True), anyio.move_on_after(5):
            await free(instance, ptr)
        raise
    return ptr


async def malloc(wasm: Instance | Remote, size: int) -> int:
    """Allocate ``size`` bytes with the module's exported ``malloc``; never 0.

    A result of 0 raises :class:`~beamr.MallocFailed`; a module without ``malloc``
    raises :class:`~beamr.ExportNotFound`. wasm64 modules take and return i64.
    """
    instance = _instance(wasm)
    size = _non_negative(size, "size")
    if isinstance(instance, Remote):
        return int(await instance.invoke("io.malloc", (size,)))
    bits = _allocator_bits(instance, "malloc", ("(i)i", "(I)I"))
    if size >= 1 << bits:
        raise MallocFailed(f"malloc({size}): more than a {bits}-bit memory can hold")
    (ptr,) = await instance.call("malloc", [size])
    if ptr == 0:
        raise MallocFailed(f"malloc({size}) returned 0")
    # i32/i64 results come back signed; a pointer is an address.
    return int(ptr) % (1 << bits)


async def free(wasm: Instance | Remote, ptr: int) -> None:
    """Release a block from :func:`malloc` with the module's exported ``free``."""
    instance = _instance(wasm)
    ptr = _non_negative(ptr, "ptr")
    if isinstance(instance, Remote):
        await instance.invoke("io.free", (ptr,))
        return
    bits = _allocator_bits(instance, "free", ("(i)", "(I)"))
    if ptr >= 1 << bits:
        raise ValueError(f"ptr {ptr} is not a {bits}-bit address")
    await instance.call("free", [ptr])


def _allocator_bits(instance: Instance, name: str, expected: tuple[str, str]) -> int:
    """32 or 64: the pointer width of the module's ``malloc``/``free``; a clear error
    if the export has another signature."""
    signature = instance.signature(name)
    if signature not in expected:
        raise ExportNotFound(
            f"the module's {name} has the signature {signature}; io.{name} needs "
            f"{expected[0]} (wasm32) or {expected[1]} (wasm64)"
        )
    return 64 if "I" in signature else 32
