"""The module-level calls of the public API (``beamr.call``, ``beamr.stop``, ...)."""

from __future__ import annotations

from collections.abc import Sequence

from beamr.instance import Instance

__all__ = ["call", "deserialize", "serialize", "stop"]


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
    return await _instance(wasm).snapshot()


async def deserialize(wasm: Instance, snapshot: bytes | bytearray | memoryview) -> None:
    """Write a :func:`serialize` snapshot back at offset 0.

    A snapshot larger than the memory raises :class:`OutOfBounds` and changes
    nothing; memory past a smaller snapshot's end is left as it is (as HyperBEAM).
    Only linear memory is restored, not globals.
    """
    instance = _instance(wasm)
    if isinstance(snapshot, str) or not isinstance(snapshot, bytes | bytearray | memoryview):
        raise TypeError(f"the snapshot must be bytes-like, got {type(snapshot).__name__}")
    await instance.restore(bytes(snapshot))
