"""How an instance gets WASI preview1: which implementation, configured how.

A module's ``wasi_snapshot_preview1`` imports say which flavour it speaks: the
standard one (32-bit pointers and sizes), which wasmtime implements, or HyperBEAM's
WASI-64 (memory64 modules whose pointers and sizes are i64), which
:mod:`workers.wasi_preview1` implements in Python. Either way the instance gets the
same settings: argv, environment, preopened directories, stdin from bytes (EOF at once
without), and stdout/stderr handed to the command loop as they are written.

Everything here runs before the sandbox closes: directories are opened now, which
could not be done afterwards.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any, Final

import wasmtime

from workers.backend import CommandFailed
from workers.linear_memory import LinearMemory
from workers.wasi_preview1 import (
    Config,
    ConfigError,
    Exit,
    Interrupted,
    Preview1,
    close_preopens,
    open_preopens,
    signatures,
)
from workers.wasi_preview1 import Trap as WasiTrap
from workers.wasmtime_raw import set_stdin_bytes, trap_message

__all__ = ["WASI_MODULE", "flavour", "python_wasi", "wasmtime_config"]

WASI_MODULE: Final = "wasi_snapshot_preview1"
FuncType = tuple[list[str], list[str]]


def flavour(imports: list[tuple[str, str, FuncType | None]]) -> str | None:
    """``"wasm32"`` or ``"wasm64"`` by the module's WASI imports' signatures (None: it
    imports no WASI function). A WASI import of neither shape is ``invalid_module``."""
    standard, wide = signatures(wasm64=False), signatures(wasm64=True)
    found: set[str] = set()
    for module, name, types in imports:
        if module != WASI_MODULE or types is None:
            continue
        if name not in standard:
            raise CommandFailed(
                "invalid_module", f"{WASI_MODULE}.{name} is not a WASI preview1 function"
            )
        if standard[name] == wide[name] == types:
            continue  # no pointer or size: the same in both flavours
        if types == standard[name]:
            found.add("wasm32")
        elif types == wide[name]:
            found.add("wasm64")
        else:
            raise CommandFailed(
                "invalid_module",
                f"{WASI_MODULE}.{name} is imported as {types}, which is neither its standard "
                f"signature {standard[name]} nor the 64-bit one {wide[name]}",
            )
    if len(found) > 1:
        raise CommandFailed(
            "invalid_module", "the module mixes 32-bit and 64-bit WASI pointer signatures"
        )
    return found.pop() if found else None


def wasmtime_config(
    options: Mapping[str, Any], output: Callable[[int, bytes], None]
) -> wasmtime.WasiConfig:
    """wasmtime's WASI settings from the ``wasi`` options; output goes to ``output``."""
    cfg = wasmtime.WasiConfig()
    cfg.argv = [str(a) for a in options.get("args", [])]
    cfg.env = [(str(k), str(v)) for k, v in options.get("env", {}).items()]
    for host, guest in options.get("dirs", {}).items():
        try:
            cfg.preopen_dir(str(host), str(guest))
        except wasmtime.WasmtimeError as exc:
            raise CommandFailed("bad_config", f"WASI dir {host!r}: {trap_message(exc)}") from None
    stdin = options.get("stdin")
    if stdin is not None:
        set_stdin_bytes(cfg, stdin)  # without: wasmtime's stdin reads EOF at once
    cfg.stdout_custom = _stream(output, 1)
    cfg.stderr_custom = _stream(output, 2)
    return cfg


def _stream(output: Callable[[int, bytes], None], stream: int) -> Callable[[bytes], int]:
    def write(data: bytes) -> int:
        output(stream, data)
        return len(data)

    return write


def python_wasi(
    options: Mapping[str, Any],
    memory: LinearMemory,
    output: Callable[[int, bytes], None],
    wake: threading.Event,
) -> dict[str, Callable[..., Any]]:
    """WASI for a memory64 guest from :mod:`workers.wasi_preview1`: each function, by
    name, ready to link; its ends (``proc_exit``, a trap, an interrupt) raised as the
    worker's errors."""
    try:
        preopens = open_preopens(options.get("dirs", {}))
    except ConfigError as exc:
        raise CommandFailed("bad_config", str(exc)) from None
    config = Config(
        args=[str(a) for a in options.get("args", [])],
        env={str(k): str(v) for k, v in options.get("env", {}).items()},
        preopens=preopens,
        stdin=options.get("stdin"),
        output=output,
        wake=wake,
    )
    try:
        preview1 = Preview1(config, memory, wasm64=True)
    finally:
        close_preopens(preopens)  # Preview1 keeps copies of its own
    return {name: _ended(name, func, memory) for name, (_, _, func) in preview1.functions().items()}


def _ended(name: str, func: Callable[..., Any], memory: LinearMemory) -> Callable[..., Any]:
    def call(*args: int) -> Any:
        memory.forget_view()  # the wasm may have grown its memory since the last look
        try:
            return func(*args)
        except Exit as exc:
            raise CommandFailed(
                "trap", f"exited with status {exc.status}", "exit", [exc.status]
            ) from None
        except Interrupted:
            raise CommandFailed("trap", f"interrupted in {name}", "interrupt") from None
        except WasiTrap as exc:
            raise CommandFailed("trap", f"{WASI_MODULE}.{name}: {exc}") from None

    return call
