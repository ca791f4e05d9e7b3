"""Run wasm under wasmtime's WASI or under :mod:`workers.wasi_preview1`, alike.

Two ways in:

- :func:`run_wasmtime` / :func:`run_ours` run a WASI command (``_start``) with the
  same arguments, environment, preopened directories and stdin, and return a
  :class:`Run`: stdout, stderr, the interleaved output, the exit status or trap.
- :func:`make_sandbox` makes the tree the tests work in (a ``sandbox`` to preopen,
  ``outside.txt`` beside it).
- :class:`Trampolines` instantiates a module that imports every preview1 function
  and re-exports it (``wasi_<name>``), with its memory: a test calls any function
  with any arguments, through wasmtime's WASI or through ours, and reads memory.

The harness may import wasmtime; :mod:`workers.wasi_preview1` does not.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import wasmtime

from workers.wasi_preview1 import (
    Config,
    Exit,
    Interrupted,
    Preview1,
    Trap,
    close_preopens,
    open_preopens,
    signatures,
)

WASI = "wasi_snapshot_preview1"
FIXTURES = Path(__file__).resolve().parent.parent / "wasm_fixtures"
_ENGINES: dict[bool, wasmtime.Engine] = {}


def engine(wasm64: bool = False) -> wasmtime.Engine:
    if wasm64 not in _ENGINES:
        config = wasmtime.Config()
        config.wasm_memory64 = wasm64
        config.memory_init_cow = False  # as the worker: no memfd (its seccomp refuses it)
        _ENGINES[wasm64] = wasmtime.Engine(config)
    return _ENGINES[wasm64]


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.wasm").read_bytes()


class WasmMemory:
    """:class:`workers.wasi_preview1.Memory` over an instance's exported memory."""

    def __init__(self, store: wasmtime.Store) -> None:
        self.store = store
        self.memory: wasmtime.Memory | None = None

    def size(self) -> int:
        return 0 if self.memory is None else int(self.memory.data_len(self.store))

    def read(self, offset: int, size: int) -> bytes:
        assert self.memory is not None
        return bytes(self.memory.read(self.store, offset, offset + size))

    def write(self, offset: int, data: bytes) -> None:
        assert self.memory is not None
        self.memory.write(self.store, data, offset)


def function(instance: wasmtime.Instance, store: wasmtime.Store, name: str) -> wasmtime.Func:
    """The exported function ``name``."""
    func = instance.exports(store)[name]
    assert isinstance(func, wasmtime.Func), name
    return func


def _valtype(name: str) -> wasmtime.ValType:
    return wasmtime.ValType.i64() if name == "i64" else wasmtime.ValType.i32()


def link_ours(linker: wasmtime.Linker, wasi: Preview1) -> None:
    """Define every function of ``wasi`` in ``linker`` as host functions."""
    for name, (params, results, func) in wasi.functions().items():
        ty = wasmtime.FuncType([_valtype(p) for p in params], [_valtype(r) for r in results])
        linker.define_func(WASI, name, ty, func)


# -- whole programs ----------------------------------------------------------------------
@dataclass
class Run:
    stdout: bytes = b""
    stderr: bytes = b""
    #: every write, in order: (1 or 2, bytes)
    output: list[tuple[int, bytes]] = field(default_factory=list)
    status: int | None = None  # proc_exit's status, or 0 when _start returned
    trap: str | None = None

    def merged(self) -> list[tuple[int, bytes]]:
        """The output with consecutive writes to one stream joined (how writes are
        split is libc's business; their order is not)."""
        out: list[tuple[int, bytes]] = []
        for stream, data in self.output:
            if out and out[-1][0] == stream:
                out[-1] = (stream, out[-1][1] + data)
            else:
                out.append((stream, data))
        return out


@contextmanager
def _stdin_file(stdin: bytes | None) -> Iterator[str | None]:
    if stdin is None:
        yield None
        return
    fd, path = tempfile.mkstemp(prefix="wasi-stdin-")
    try:
        os.write(fd, stdin)
        os.close(fd)
        yield path
    finally:
        os.unlink(path)


def run_wasmtime(
    wasm: bytes,
    *,
    args: list[str] | None = None,
    env: Mapping[str, str] | None = None,
    dirs: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
) -> Run:
    """``_start`` under wasmtime's own WASI (wasm32 only)."""
    run = Run()
    store = wasmtime.Store(engine())
    cfg = wasmtime.WasiConfig()
    cfg.argv = list(args or [])
    cfg.env = list((env or {}).items())
    for host, guest in (dirs or {}).items():
        cfg.preopen_dir(host, guest)

    def sink(stream: int) -> Callable[[bytes], None]:
        return lambda data: run.output.append((stream, bytes(data)))

    cfg.stdout_custom = sink(1)
    cfg.stderr_custom = sink(2)
    with _stdin_file(stdin) as path:
        if path is not None:
            cfg.stdin_file = path
        store.set_wasi(cfg)
        linker = wasmtime.Linker(engine())
        linker.define_wasi()
        try:
            instance = linker.instantiate(store, compiled(wasm))
            function(instance, store, "_start")(store)
            run.status = 0
        except wasmtime.ExitTrap as exc:
            run.status = exc.code
        except (wasmtime.Trap, wasmtime.WasmtimeError) as exc:
            run.trap = str(exc)
        finally:
            # a store with Python output callbacks must go before the interpreter does
            del linker, store, cfg
    return _finish(run)


def _finish(run: Run) -> Run:
    run.stdout = b"".join(data for stream, data in run.output if stream == 1)
    run.stderr = b"".join(data for stream, data in run.output if stream == 2)
    return run


def run_ours(
    wasm: bytes,
    *,
    args: list[str] | None = None,
    env: Mapping[str, str] | None = None,
    dirs: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
    wasm64: bool = False,
    wake: threading.Event | None = None,
) -> Run:
    """``_start`` under :class:`Preview1`."""
    run = Run()
    store = wasmtime.Store(engine(wasm64))
    memory = WasmMemory(store)
    preopens = open_preopens(dict(dirs or {}))
    config = Config(
        args=list(args or []),
        env=dict(env or {}),
        preopens=preopens,
        stdin=stdin,
        output=lambda stream, data: run.output.append((stream, data)),
        wake=wake or threading.Event(),
    )
    wasi = Preview1(config, memory, wasm64=wasm64)
    try:
        linker = wasmtime.Linker(engine(wasm64))
        link_ours(linker, wasi)
        instance = linker.instantiate(store, compiled(wasm, wasm64))
        exported = instance.exports(store)["memory"]
        assert isinstance(exported, wasmtime.Memory)
        memory.memory = exported
        try:
            function(instance, store, "_start")(store)
            run.status = 0
        except Exit as exc:
            run.status = exc.status
        except Trap as exc:
            run.trap = str(exc)
        except wasmtime.Trap as exc:
            run.trap = str(exc)
        assert wasi.unexpected is None, repr(wasi.unexpected)
    finally:
        wasi.close()
        close_preopens(preopens)
    return _finish(run)


# -- directory trees -----------------------------------------------------------------------
def tree(root: str | Path) -> dict[str, Any]:
    """What is under ``root``: relative path -> file bytes, ``"<dir>"`` or
    ``("->", symlink target)``."""
    out: dict[str, Any] = {}
    root = str(root)
    for here, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(here, name)
            rel = os.path.relpath(path, root)
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("->", os.readlink(path))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = "<dir>"
            else:
                with open(path, "rb") as f:
                    out[rel] = f.read()
    return out


def copy_tree(source: str | Path, into: str | Path) -> str:
    """A copy of ``source`` (symlinks as symlinks) at ``into``."""
    shutil.copytree(source, into, symlinks=True)
    return str(into)


def make_sandbox(base: Path) -> Path:
    """``base/sandbox`` (what the guest gets as ``/sandbox``) and ``base/outside.txt``."""
    box = base / "sandbox"
    box.mkdir()
    (base / "outside.txt").write_text("SECRET")
    (box / "data.txt").write_text("0123456789")
    (box / "dir").mkdir()
    (box / "dir" / "inner.txt").write_text("inner")
    (box / "empty").mkdir()
    os.symlink("data.txt", box / "link_in")
    os.symlink("dir", box / "link_dir")
    os.symlink("../outside.txt", box / "link_out")
    os.symlink("/etc/passwd", box / "link_abs")
    return box


def outside_untouched(base: Path) -> None:
    assert (base / "outside.txt").read_text() == "SECRET"
    assert sorted(p.name for p in base.iterdir()) == ["outside.txt", "sandbox"]


# -- one function at a time -------------------------------------------------------------------
def trampoline_wat(wasm64: bool) -> str:
    """A module that imports every preview1 function and exports it as ``wasi_NAME``,
    with one exported memory of 2 pages."""
    lines = ["(module"]
    sigs = signatures(wasm64)
    for name, (params, results) in sigs.items():
        result = f"(result {' '.join(results)})" if results else ""
        lines.append(
            f'(import "{WASI}" "{name}" (func ${name} (param {" ".join(params)}) {result}))'
        )
    lines.append(f'(memory (export "memory") {"i64 " if wasm64 else ""}2)')
    for name, (params, results) in sigs.items():
        result = f"(result {' '.join(results)})" if results else ""
        gets = " ".join(f"(local.get {i})" for i in range(len(params)))
        lines.append(
            f'(func (export "wasi_{name}") (param {" ".join(params)}) {result} '
            f"(call ${name} {gets}))"
        )
    lines.append(")")
    return "\n".join(lines)


_MODULES: dict[tuple[bool, bytes], wasmtime.Module] = {}


def compiled(wasm: bytes, wasm64: bool = False) -> wasmtime.Module:
    """``wasm`` compiled once per engine."""
    key = (wasm64, wasm)
    if key not in _MODULES:
        _MODULES[key] = wasmtime.Module(engine(wasm64), wasm)
    return _MODULES[key]


def trampoline_module(wasm64: bool) -> wasmtime.Module:
    """wasm32: made from :func:`trampoline_wat`; wasm64: the committed fixture
    ``wasi64_calls.wasm`` (the same module, checked against the table by a test)."""
    if wasm64:
        return compiled(fixture("wasi64_calls"), True)
    return compiled(bytes(wasmtime.wat2wasm(trampoline_wat(False))))


class TrapResult(str):
    """What a call answered when it trapped: the trap's message."""


class Trampolines:
    """Every preview1 function callable from Python, through ``backend``:
    ``"wasmtime"`` (its WASI; wasm32 only) or ``"ours"`` (:class:`Preview1`)."""

    def __init__(
        self,
        backend: str,
        *,
        wasm64: bool = False,
        args: list[str] | None = None,
        env: Mapping[str, str] | None = None,
        dirs: Mapping[str, str] | None = None,
        stdin: bytes | None = None,
        traps: bool = True,
    ) -> None:
        self.backend = backend
        self.output: list[tuple[int, bytes]] = []
        self.store = wasmtime.Store(engine(wasm64))
        self.preopens: list[Any] = []
        self.wasi: Preview1 | None = None
        self._stdin: Any = None
        linker = wasmtime.Linker(engine(wasm64))
        if backend == "wasmtime":
            assert not wasm64
            cfg = wasmtime.WasiConfig()
            cfg.argv = list(args or [])
            cfg.env = list((env or {}).items())
            for host, guest in (dirs or {}).items():
                cfg.preopen_dir(host, guest)
            cfg.stdout_custom = lambda data: self.output.append((1, bytes(data)))
            cfg.stderr_custom = lambda data: self.output.append((2, bytes(data)))
            if stdin is not None:
                self._stdin = _stdin_file(stdin)
                cfg.stdin_file = self._stdin.__enter__()
            self.store.set_wasi(cfg)
            linker.define_wasi()
        else:
            self.memory_view = WasmMemory(self.store)
            self.preopens = open_preopens(dict(dirs or {}))
            self.wake = threading.Event()
            config = Config(
                args=list(args or []),
                env=dict(env or {}),
                preopens=self.preopens,
                stdin=stdin,
                output=lambda stream, data: self.output.append((stream, data)),
                wake=self.wake,
            )
            self.wasi = Preview1(config, self.memory_view, wasm64=wasm64, traps=traps)
            link_ours(linker, self.wasi)
        self.instance = linker.instantiate(self.store, trampoline_module(wasm64))
        exports = self.instance.exports(self.store)
        memory = exports["memory"]
        assert isinstance(memory, wasmtime.Memory)
        self.memory = memory
        if self.wasi is not None:
            self.memory_view.memory = memory
        self.exports = exports

    def close(self) -> None:
        if self.wasi is not None:
            assert self.wasi.unexpected is None, repr(self.wasi.unexpected)
            self.wasi.close()
            close_preopens(self.preopens)
        if self._stdin is not None:
            self._stdin.__exit__(None, None, None)
            self._stdin = None
        # a store with Python output callbacks must go before the interpreter does
        for name in ("exports", "memory", "instance", "store"):
            self.__dict__.pop(name, None)

    def __enter__(self) -> Trampolines:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, name: str, *args: int) -> int | TrapResult | None:
        """The errno, or a :class:`TrapResult`; :class:`Exit` and
        :class:`Interrupted` propagate."""
        func = function(self.instance, self.store, f"wasi_{name}")
        try:
            result = func(self.store, *args)
        except wasmtime.ExitTrap:
            raise
        except (Exit, Interrupted):
            raise
        except Trap as exc:
            return TrapResult(str(exc))
        except (wasmtime.Trap, wasmtime.WasmtimeError) as exc:
            return TrapResult(str(exc))
        return None if result is None else int(result)

    def read(self, offset: int, size: int) -> bytes:
        return bytes(self.memory.read(self.store, offset, offset + size))

    def write(self, offset: int, data: bytes) -> None:
        self.memory.write(self.store, data, offset)

    def size(self) -> int:
        return int(self.memory.data_len(self.store))
