"""The module-level calls of the public API: ``beamr.start``, ``call``, ``stop``,
``serialize``, ``deserialize``."""

from __future__ import annotations

import errno
import hashlib
import os
from collections.abc import Mapping, Sequence
from typing import Any

import anyio

from beamr import _forkserver, _handlers, _memory
from beamr import protocol as p
from beamr._channel import open_channel
from beamr._handlers import ImportMap
from beamr.errors import InvalidModule
from beamr.instance import STOP_GRACE, Instance
from beamr.types import Limits, WasiConfig

__all__ = ["call", "deserialize", "serialize", "start", "stop"]


async def start(
    binary: bytes | bytearray | memoryview,
    *,
    imports: ImportMap | None = None,
    wasi: bool | WasiConfig | None = None,
    limits: Limits | None = None,
    sandbox: bool = True,
) -> Instance:
    """Start a worker process running ``binary`` and return its :class:`Instance`.

    ``imports`` maps module name -> import name -> handler ``(instance, *args)``,
    sync or async, returning None, a number or a sequence of numbers. ``wasi=True``
    (or a :class:`WasiConfig`) provides WASI preview1 from wasmtime, default-deny.
    ``sandbox=False`` runs the worker without its sandbox (no seccomp filter, no
    Landlock, capabilities kept): an explicit choice for platforms where it cannot
    be had; by default a worker that cannot be confined raises
    :class:`~beamr.SandboxError` and never runs the module.
    """
    if isinstance(binary, str) or not isinstance(binary, bytes | bytearray | memoryview):
        raise TypeError(f"the module must be bytes-like, got {type(binary).__name__}")
    handlers = _handlers.check_imports(imports)
    if wasi is not None and not isinstance(wasi, bool | WasiConfig):
        raise TypeError("wasi must be True, False, None or a beamr.WasiConfig")
    if limits is None:
        limits = Limits()
    elif not isinstance(limits, Limits):
        raise TypeError("limits must be a beamr.Limits")
    if type(sandbox) is not bool:
        raise TypeError("sandbox must be True or False")
    data = bytes(binary)
    if data[:4] != p.WASM_MAGIC:
        raise InvalidModule("not a wasm binary (it does not start with the \\0asm magic)")

    wasi_wire: dict[str, Any] | None = None
    if isinstance(wasi, WasiConfig):
        wasi_wire = wasi.to_wire()
        wasi_wire["dirs"] = resolve_dirs(wasi.dirs)
    elif wasi:
        wasi_wire = WasiConfig().to_wire()
    wire_limits, cache_dir = limits.to_wire(), module_cache_dir()
    options = {
        "handled_imports": [list(key) for key in handlers],
        "wasi": wasi_wire,
        "limits": wire_limits,
        "cache_dir": cache_dir,
        "cache_max_bytes": module_cache_max_bytes(),
        "sandbox": sandbox,
    }
    hint = p.encode_hint(hashlib.sha256(data).digest(), wire_limits, cache_dir)
    process = await _forkserver.start_worker(hint)
    instance: Instance | None = None
    try:
        assert process.sock is not None
        channel = await open_channel(process.sock)
        process.sock = None  # the channel owns it now
        instance = Instance(process, channel, handlers, limits)
        instance.describe(await instance.request(p.Init(data, options)))
        return instance
    except BaseException:
        if instance is not None:
            await instance.aclose()
        else:
            with anyio.CancelScope(shield=True):
                await process.end(STOP_GRACE)
            process.release()
        raise


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
    return await _memory.snapshot(_instance(wasm))


async def deserialize(wasm: Instance, snapshot: bytes | bytearray | memoryview) -> None:
    """Write a :func:`serialize` snapshot back at offset 0.

    A snapshot larger than the memory raises :class:`OutOfBounds` and changes
    nothing; memory past a smaller snapshot's end is left as it is (as HyperBEAM).
    Only linear memory is restored, not globals.
    """
    instance = _instance(wasm)
    if isinstance(snapshot, str) or not isinstance(snapshot, bytes | bytearray | memoryview):
        raise TypeError(f"the snapshot must be bytes-like, got {type(snapshot).__name__}")
    await _memory.restore(instance, bytes(snapshot))


def module_cache_dir() -> str | None:
    """Where workers keep compiled modules: ``$BEAMR_CACHE_DIR`` (empty: no cache),
    else ``$XDG_CACHE_HOME/beamr``, else ``~/.cache/beamr``."""
    value = os.environ.get("BEAMR_CACHE_DIR")
    if value is not None:
        return os.path.abspath(value) if value else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.abspath(os.path.join(base, "beamr"))


def module_cache_max_bytes() -> int | None:
    """The bound of the compiled-module cache: ``$BEAMR_CACHE_MAX_BYTES`` (bytes), or
    None for the worker's default (1 GiB)."""
    value = os.environ.get("BEAMR_CACHE_MAX_BYTES", "").strip()
    if not value:
        return None
    try:
        bound = int(value)
    except ValueError:
        raise ValueError(
            f"BEAMR_CACHE_MAX_BYTES must be a number of bytes, got {value!r}"
        ) from None
    if bound < 0:
        raise ValueError(f"BEAMR_CACHE_MAX_BYTES must not be negative, got {bound}")
    return bound


def resolve_dirs(dirs: Mapping[str, str]) -> dict[str, str]:
    """WASI dirs with their host paths made absolute against this process's working
    directory (workers run elsewhere); each must be an existing directory."""
    resolved: dict[str, str] = {}
    for host, guest in dirs.items():
        path = os.path.abspath(host)
        if not os.path.exists(path):
            raise FileNotFoundError(errno.ENOENT, "WasiConfig.dirs: no such directory", host)
        if not os.path.isdir(path):
            raise NotADirectoryError(errno.ENOTDIR, "WasiConfig.dirs: not a directory", host)
        resolved[path] = guest
    return resolved
