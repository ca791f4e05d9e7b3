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
from beamr._handlers import ImportMap, Resolver
from beamr._remote import Remote
from beamr.errors import InvalidModule
from beamr.instance import STOP_GRACE, Instance
from beamr.types import DEFAULT_OUTPUT_LIMIT, Limits, WasiConfig, check_call_arguments

__all__ = ["call", "deserialize", "get_global", "serialize", "set_global", "start", "stop"]


async def start(
    binary: bytes | bytearray | memoryview,
    *,
    imports: ImportMap | Resolver | None = None,
    wasi: bool | WasiConfig | None = None,
    limits: Limits | None = None,
    sandbox: bool = True,
) -> Instance:
    """Start a worker process running ``binary`` and return its :class:`Instance`.

    ``imports`` maps module name -> import name -> handler ``(instance, *args)``,
    sync or async, returning None, a number or a sequence of numbers; a handler given
    as ``"package.module:function"`` runs inside the worker as ``function(ctx, *args)``
    (:class:`beamr.HostContext`). ``imports`` may instead be one callable, a resolver
    ``(instance, module, name, args, signature)`` answering every import (WASI's own
    functions excepted when ``wasi`` is given). ``wasi=True`` (or a
    :class:`WasiConfig`) provides WASI preview1, default-deny. ``sandbox=False`` runs
    the worker without its sandbox (no seccomp filter, no Landlock, capabilities
    kept): an explicit choice for platforms where it cannot be had; by default a
    worker that cannot be confined raises :class:`~beamr.SandboxError` and never runs
    the module.
    """
    return await start_instance(binary, imports=imports, wasi=wasi, limits=limits, sandbox=sandbox)


async def start_instance(
    binary: bytes | bytearray | memoryview,
    *,
    imports: ImportMap | Resolver | None = None,
    wasi: bool | WasiConfig | None = None,
    limits: Limits | None = None,
    sandbox: bool = True,
    instantiate: bool = True,
) -> Instance:
    """:func:`start`; with ``instantiate=False`` the module is only loaded, and
    :meth:`Instance.instantiate` (with the WASI settings of :func:`wasi_options`)
    instantiates it later (a pool's instances)."""
    if isinstance(binary, str) or not isinstance(binary, bytes | bytearray | memoryview):
        raise TypeError(f"the module must be bytes-like, got {type(binary).__name__}")
    plan = _handlers.check_imports(imports)
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
    config = WasiConfig() if wasi is True else wasi or None
    wire_limits, cache_dir = limits.to_wire(), module_cache_dir()
    options = {
        **plan.wire(),
        "wasi": wasi_options(config) if config is not None and instantiate else bool(config),
        "limits": wire_limits,
        "cache_dir": cache_dir,
        "cache_max_bytes": module_cache_max_bytes(),
        "sandbox": sandbox,
        "instantiate": instantiate,
    }
    hint = p.encode_hint(hashlib.sha256(data).digest(), wire_limits, cache_dir)
    process = await _forkserver.start_worker(hint)
    instance: Instance | None = None
    try:
        assert process.sock is not None
        channel = await open_channel(process.sock)
        process.sock = None  # the channel owns it now
        instance = Instance(
            process,
            channel,
            plan,
            limits,
            output_limit=DEFAULT_OUTPUT_LIMIT if config is None else config.output_limit,
        )
        instance.instantiated = instantiate
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


def wasi_options(config: WasiConfig) -> dict[str, Any]:
    """The worker's WASI settings: host dirs resolved against the working directory now."""
    wire = config.to_wire()
    wire["dirs"] = resolve_dirs(config.dirs)
    return wire


def _instance(wasm: object) -> Instance | Remote:
    """The instance, local or remote (:mod:`beamr.cluster`: the function then runs on
    the node, with the same checks and errors); TypeError for anything else."""
    if not isinstance(wasm, Instance | Remote):
        raise TypeError(f"expected a beamr.Instance, got {type(wasm).__name__}")
    return wasm


async def call(
    wasm: Instance | Remote, name: str, args: Sequence[int | float] = ()
) -> list[int | float]:
    """Call the exported function ``name`` with ``args``; its results as a list.

    Arguments are checked against the export's signature before anything is sent:
    a wrong count or a non-number is a ``TypeError`` (``bool`` is not a number), a
    float for an i32/i64 a ``TypeError``, an int out of range a ``ValueError``; an
    int for an f32/f64 is converted. i32/i64 results come back signed; ``[]`` for void.
    """
    instance = _instance(wasm)
    if isinstance(instance, Remote):
        check_call_arguments(name, args)
        return list(await instance.invoke("call", (name, list(args))))
    return await instance.call(name, args)


async def get_global(wasm: Instance | Remote, name: str) -> int | float:
    """The value of the exported global ``name`` (i32/i64 signed); ExportNotFound if the
    module exports no global of that name, TypeError if it is not a number."""
    instance = _instance(wasm)
    if isinstance(instance, Remote):
        value: int | float = await instance.invoke("get_global", (name,))
        return value
    return await instance.get_global(name)


async def set_global(wasm: Instance | Remote, name: str, value: int | float) -> None:
    """Set the exported mutable global ``name``. The value is checked by the global's
    type as call arguments are; an immutable global is a TypeError."""
    instance = _instance(wasm)
    if isinstance(instance, Remote):
        await instance.invoke("set_global", (name, value))
        return
    await instance.set_global(name, value)


async def stop(wasm: Instance | Remote) -> None:
    """Stop the instance's worker. Idempotent; never raises."""
    await _instance(wasm).aclose()


async def serialize(wasm: Instance | Remote) -> bytes:
    """The whole linear memory as bytes (HyperBEAM's ``serialize``)."""
    instance = _instance(wasm)
    if isinstance(instance, Remote):
        return bytes(await instance.invoke("serialize", ()))
    return await _memory.snapshot(instance)


async def deserialize(wasm: Instance | Remote, snapshot: bytes | bytearray | memoryview) -> None:
    """Write a :func:`serialize` snapshot back at offset 0.

    A snapshot larger than the memory raises :class:`OutOfBounds` and changes
    nothing; memory past a smaller snapshot's end is left as it is (as HyperBEAM).
    Only linear memory is restored, not globals.
    """
    instance = _instance(wasm)
    if isinstance(snapshot, str) or not isinstance(snapshot, bytes | bytearray | memoryview):
        raise TypeError(f"the snapshot must be bytes-like, got {type(snapshot).__name__}")
    if isinstance(instance, Remote):
        await instance.invoke("deserialize", (bytes(snapshot),))
        return
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
