"""beamr: WebAssembly memory and execution for async Python.

Every instance runs in its own worker process that owns the runtime (wasmtime); the
parent drives it with msgpack commands over a socket, as HyperBEAM's ``hb_beamr``
drives its port driver. :mod:`beamr.io` is the counterpart of ``hb_beamr_io``.

>>> wasm = await beamr.start(binary, imports={"env": {"log": log}})
>>> await beamr.call(wasm, "fac", [5.0])
[120.0]
>>> await beamr.stop(wasm)
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from beamr import io
from beamr import protocol as _protocol
from beamr.errors import (
    BeamrError,
    CallTimeout,
    ExportNotFound,
    ImportHandlerError,
    InstanceClosed,
    InvalidModule,
    MallocFailed,
    MissingImport,
    OutOfBounds,
    ProtocolViolation,
    Trap,
    WorkerCrashed,
)
from beamr.instance import Instance, start
from beamr.pool import Pool
from beamr.types import Export, Import, Limits, Output, WasiConfig

__all__ = [
    "BeamrError",
    "CallTimeout",
    "Export",
    "ExportNotFound",
    "Import",
    "ImportHandlerError",
    "Instance",
    "InstanceClosed",
    "InvalidModule",
    "Limits",
    "MallocFailed",
    "MissingImport",
    "OutOfBounds",
    "Output",
    "Pool",
    "ProtocolViolation",
    "Trap",
    "WasiConfig",
    "WorkerCrashed",
    "call",
    "deserialize",
    "io",
    "serialize",
    "start",
    "stop",
]

__version__ = "0.1.0"

# Silent by default: applications opt in with logging.getLogger("beamr").
logging.getLogger("beamr").addHandler(logging.NullHandler())


def _instance(wasm: object) -> Instance:
    if not isinstance(wasm, Instance):
        raise TypeError(f"expected a beamr.Instance, got {type(wasm).__name__}")
    return wasm


async def call(wasm: Instance, name: str, args: Sequence[int | float] = ()) -> list[int | float]:
    """Call the exported function ``name`` with ``args``; its results as a list.

    Arguments are checked against the export's signature before anything is sent:
    a wrong count or a non-number is a ``TypeError`` (``bool`` is not a number), a
    float for an i32/i64 a ``TypeError``, an int out of range a ``ValueError``; an
    int for an f32/f64 is converted. i32/i64 results come back signed; ``[]`` for void.
    """
    return await _instance(wasm).call(name, args)


async def stop(wasm: Instance) -> None:
    """Stop the instance's worker. Idempotent; never raises."""
    await _instance(wasm).aclose()


async def serialize(wasm: Instance) -> bytes:
    """The whole linear memory as bytes (HyperBEAM's ``serialize``)."""
    instance = _instance(wasm)
    if instance.bulk:
        data = await instance.bulk_read(0, -1)
        if data is not None:
            return data
    reply = await instance.request(_protocol.Serialize())
    assert isinstance(reply, _protocol.Result)
    return bytes(reply.values[0])


async def deserialize(wasm: Instance, snapshot: bytes | bytearray | memoryview) -> None:
    """Write a :func:`serialize` snapshot back at offset 0.

    A snapshot larger than the memory raises :class:`OutOfBounds` and changes
    nothing; memory past a smaller snapshot's end is left as it is (as HyperBEAM).
    Only linear memory is restored, not globals.
    """
    instance = _instance(wasm)
    if isinstance(snapshot, str) or not isinstance(snapshot, bytes | bytearray | memoryview):
        raise TypeError(f"the snapshot must be bytes-like, got {type(snapshot).__name__}")
    data = bytes(snapshot)
    if instance.bulk and await instance.bulk_write(0, data, snapshot=True):
        return
    await instance.request(_protocol.Deserialize(data))
