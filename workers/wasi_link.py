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

from collections.abc import Callable, Mapping
from typing import Any, Final

import wasmtime

from workers.backend import CommandFailed
from workers.wasmtime_raw import set_stdin_bytes, trap_message

__all__ = ["WASI_MODULE", "flavour", "wasmtime_config"]

WASI_MODULE: Final = "wasi_snapshot_preview1"
FuncType = tuple[list[str], list[str]]
#: the standard preview1 signatures (wasm32): pointers and sizes are i32
_I, _L = "i32", "i64"
STANDARD: Final[dict[str, FuncType]] = {
    "args_get": ([_I, _I], [_I]),
    "args_sizes_get": ([_I, _I], [_I]),
    "environ_get": ([_I, _I], [_I]),
    "environ_sizes_get": ([_I, _I], [_I]),
    "clock_res_get": ([_I, _I], [_I]),
    "clock_time_get": ([_I, _L, _I], [_I]),
    "fd_advise": ([_I, _L, _L, _I], [_I]),
    "fd_allocate": ([_I, _L, _L], [_I]),
    "fd_close": ([_I], [_I]),
    "fd_datasync": ([_I], [_I]),
    "fd_fdstat_get": ([_I, _I], [_I]),
    "fd_fdstat_set_flags": ([_I, _I], [_I]),
    "fd_fdstat_set_rights": ([_I, _L, _L], [_I]),
    "fd_filestat_get": ([_I, _I], [_I]),
    "fd_filestat_set_size": ([_I, _L], [_I]),
    "fd_filestat_set_times": ([_I, _L, _L, _I], [_I]),
    "fd_pread": ([_I, _I, _I, _L, _I], [_I]),
    "fd_prestat_get": ([_I, _I], [_I]),
    "fd_prestat_dir_name": ([_I, _I, _I], [_I]),
    "fd_pwrite": ([_I, _I, _I, _L, _I], [_I]),
    "fd_read": ([_I, _I, _I, _I], [_I]),
    "fd_readdir": ([_I, _I, _I, _L, _I], [_I]),
    "fd_renumber": ([_I, _I], [_I]),
    "fd_seek": ([_I, _L, _I, _I], [_I]),
    "fd_sync": ([_I], [_I]),
    "fd_tell": ([_I, _I], [_I]),
    "fd_write": ([_I, _I, _I, _I], [_I]),
    "path_create_directory": ([_I, _I, _I], [_I]),
    "path_filestat_get": ([_I, _I, _I, _I, _I], [_I]),
    "path_filestat_set_times": ([_I, _I, _I, _I, _L, _L, _I], [_I]),
    "path_link": ([_I, _I, _I, _I, _I, _I, _I], [_I]),
    "path_open": ([_I, _I, _I, _I, _I, _L, _L, _I, _I], [_I]),
    "path_readlink": ([_I, _I, _I, _I, _I, _I], [_I]),
    "path_remove_directory": ([_I, _I, _I], [_I]),
    "path_rename": ([_I, _I, _I, _I, _I, _I], [_I]),
    "path_symlink": ([_I, _I, _I, _I, _I], [_I]),
    "path_unlink_file": ([_I, _I, _I], [_I]),
    "poll_oneoff": ([_I, _I, _I, _I], [_I]),
    "proc_exit": ([_I], []),
    "proc_raise": ([_I], [_I]),
    "sched_yield": ([], [_I]),
    "random_get": ([_I, _I], [_I]),
    "sock_accept": ([_I, _I, _I], [_I]),
    "sock_recv": ([_I, _I, _I, _I, _I, _I], [_I]),
    "sock_send": ([_I, _I, _I, _I, _I], [_I]),
    "sock_shutdown": ([_I, _I], [_I]),
}


def flavour(imports: list[tuple[str, str, FuncType | None]]) -> str | None:
    """``"wasm32"`` or ``"wasm64"`` by the module's WASI imports' signatures (None: it
    imports no WASI function). A WASI import of neither shape is ``invalid_module``."""
    found: set[str] = set()
    for module, name, types in imports:
        if module != WASI_MODULE or types is None:
            continue
        standard = STANDARD.get(name)
        if standard is None:
            raise CommandFailed(
                "invalid_module", f"{WASI_MODULE}.{name} is not a WASI preview1 function"
            )
        if types == standard:
            found.add("wasm32")
        elif _widened(standard, types):
            found.add("wasm64")
        else:
            raise CommandFailed(
                "invalid_module",
                f"{WASI_MODULE}.{name} is imported as {types}, which is neither the "
                f"standard signature {standard} nor its 64-bit-pointer form",
            )
    if len(found) > 1:
        raise CommandFailed(
            "invalid_module", "the module mixes 32-bit and 64-bit WASI pointer signatures"
        )
    return found.pop() if found else None


def _widened(standard: FuncType, types: FuncType) -> bool:
    """Whether ``types`` is ``standard`` with some i32 parameters (its pointers and
    sizes) widened to i64, and the same results."""
    params, results = types
    return (
        results == standard[1]
        and len(params) == len(standard[0])
        and all(p == s or (s == _I and p == _L) for p, s in zip(params, standard[0], strict=True))
        and params != standard[0]
    )


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
