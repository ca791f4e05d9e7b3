"""The wasmtime backend: one engine, one store, one instance.

It is built in two steps. :class:`WasmtimeBackend` loads the module (from the
fork-server, the compiled-module cache, or a compile), makes the store and links the
imports; nothing of the module runs yet. The command loop then hardens the process
(:mod:`workers.sandbox`) and calls :meth:`WasmtimeBackend.instantiate`, which runs the
start function and ``_initialize`` under the same limits as any call.

The raw wasmtime calls and the mapping of wasmtime's errors live in
:mod:`workers.wasmtime_raw`; memory io in :mod:`workers.linear_memory`; the WASI
functions the worker answers itself in :mod:`workers.wasi`.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Mapping
from typing import Any, Final

import wasmtime

from beamr import protocol as p
from workers import module_cache, wasm_binary
from workers import wasmtime_raw as raw
from workers.backend import CommandFailed, HostCall, Number
from workers.budget import BUDGET
from workers.linear_memory import LinearMemory
from workers.wasi import Sleeper

WASI_MODULE: Final = "wasi_snapshot_preview1"
OUTPUT_LIMIT: Final = 16 << 20  # bytes of WASI stdout (and of stderr) kept for the parent
#: table elements cost this many bytes of the memory budget
TABLE_ELEMENT_BYTES: Final = 8
#: table space every instance gets beyond its budget: a module's usual small
#: function table does not cost it a page of linear memory (64 KiB)
FREE_TABLE_ELEMENTS: Final = 8192

#: (cache key, engine, module) prepared by the fork-server before it forked this
#: worker: used when the worker's own module has that key (see workers/zygote.py)
PRELOADED: tuple[str, wasmtime.Engine, wasmtime.Module] | None = None
FuncType = tuple[list[str], list[str]]


def signature(params: list[str], results: list[str]) -> str:
    """HyperBEAM's signature string: ``(ii)i`` for (i32, i32) -> i32."""

    def chars(types: list[str]) -> str:
        return "".join(p.SIGNATURE_CHARS.get(t, p.OTHER_TYPE_CHAR) for t in types)

    return f"({chars(params)}){chars(results)}"


def engine_flags(options: Mapping[str, Any]) -> dict[str, Any]:
    """The engine settings that change compiled code, from the ``init`` options."""
    limits = options.get("limits") or {}
    return {
        "memory64": True,
        "epoch_interruption": True,
        "consume_fuel": limits.get("fuel") is not None,
    }


def make_engine(flags: Mapping[str, Any]) -> wasmtime.Engine:
    config = wasmtime.Config()
    config.wasm_memory64 = bool(flags["memory64"])
    config.epoch_interruption = bool(flags["epoch_interruption"])
    config.consume_fuel = bool(flags["consume_fuel"])
    # One thread: a compile on many leaves a pool of threads behind, and every thread
    # of a worker must confine itself (workers.sandbox); the fork-server must not fork
    # with a thread around.
    config.parallel_compilation = False
    # Memories come from the budget's creator (workers.budget), not from memory
    # images: no copy-on-write image to build, and so no memfd (which the sandbox denies).
    config.memory_init_cow = False
    BUDGET.attach(config)
    return wasmtime.Engine(config)


class WasmtimeBackend:
    """One wasm instance in wasmtime, as the command loop sees it."""

    def __init__(self, binary: bytes, options: Mapping[str, Any], host_call: HostCall) -> None:
        if binary[:4] != p.WASM_MAGIC:
            # wasmtime would also accept WAT text; we take binaries only.
            raise CommandFailed("invalid_module", "not a wasm binary (no \\0asm magic)")
        limits = options.get("limits") or {}
        self._fuel: int | None = limits.get("fuel")
        self._host_call = host_call
        #: where the compiled module came from: "fork-server", "cache" or "compiled"
        self.module_source = "compiled"
        self._module = self._load(binary, options)
        self._read_types(binary)
        self._store = wasmtime.Store(self._engine)
        self._context = self._store._context()
        self._callbacks: list[Any] = []
        self.memory = LinearMemory(self._store)
        self._sleeper = Sleeper(self.memory)
        self._stdout = bytearray()
        self._stderr = bytearray()
        self._apply_budget(binary, limits.get("memory_bytes"))
        self._store.set_epoch_deadline(1)  # nothing runs yet; armed before each entry
        self.imports: list[tuple[str, str, str]] = []
        self._linker = self._link(options)
        self.exports: list[tuple[str, str, str]] = []
        self._funcs: dict[str, tuple[wasmtime.Func, list[str], list[str]]] = {}
        #: per export: its raw call, resolved on first use
        self._raw: dict[str, Callable[[list[Number]], list[Number]]] = {}

    # ----------------------------------------------------------------------- loading

    def _load(self, binary: bytes, options: Mapping[str, Any]) -> wasmtime.Module:
        """The compiled module: the fork-server's, the cache's, or compiled (and cached)."""
        flags = engine_flags(options)
        key = module_cache.cache_key(hashlib.sha256(binary).digest(), flags)
        if PRELOADED is not None and PRELOADED[0] == key:  # shared copy-on-write
            _, self._engine, module = PRELOADED
            self.module_source = "fork-server"
            return module
        self._engine = make_engine(flags)
        cache_dir = options.get("cache_dir")
        if cache_dir:
            cached = module_cache.load(self._engine, cache_dir, key)
            if cached is not None:
                self.module_source = "cache"
                return cached
        try:
            module = wasmtime.Module(self._engine, binary)
        except wasmtime.WasmtimeError as exc:
            raise CommandFailed("invalid_module", raw.trap_message(exc)) from None
        if cache_dir:
            max_bytes = options.get("cache_max_bytes") or module_cache.DEFAULT_MAX_BYTES
            module_cache.store(cache_dir, key, module, max_bytes)
        return module

    def _read_types(self, binary: bytes) -> None:
        """Value types of imports and exports, from the binary itself: wasmtime's C API
        aborts the process when asked the kind of a v128 (see workers.wasm_binary)."""
        try:
            shape = wasm_binary.shape(binary)
            self._import_types: list[FuncType | None] = [
                shape.function_type(index) if kind == "func" else None
                for _, _, kind, index in shape.imports
            ]
            self._export_types: list[tuple[str, str, FuncType]] = [
                (name, kind, shape.function_type(index) if kind == "func" else ([], []))
                for name, kind, index in shape.exports
            ]
        except wasm_binary.Malformed as exc:
            raise CommandFailed(
                "invalid_module", f"cannot read the module's types: {exc}"
            ) from None
        memories = [name for name, kind, _ in self._export_types if kind == "memory"]
        #: where io finds the memory while the start function runs (a host call during
        #: instantiation): the export "memory", else the first exported memory
        self._memory_name = (
            "memory" if "memory" in memories else next(iter(memories), "")
        ).encode()

    def _apply_budget(self, binary: bytes, memory_bytes: int | None) -> None:
        """One budget for the memories and tables (see :mod:`workers.budget`).

        Tables count ``TABLE_ELEMENT_BYTES`` an element beyond a free allowance; each
        may hold at most ``cap`` elements, which the budget pays for up front
        (wasmtime limits tables one by one and does not say how full they are)."""
        if memory_bytes is None:
            BUDGET.limit = None
            return
        try:
            tables = wasm_binary.table_minimums(binary)
        except wasm_binary.Malformed as exc:
            raise CommandFailed(
                "invalid_module", f"cannot read the module's tables: {exc}"
            ) from None
        cap = max([*tables, FREE_TABLE_ELEMENTS // max(len(tables), 1)])
        charged = max(0, (cap * len(tables) - FREE_TABLE_ELEMENTS) * TABLE_ELEMENT_BYTES)
        if charged > memory_bytes:
            raise CommandFailed(
                "invalid_module",
                f"the module's tables need {charged} bytes, more than Limits.memory_bytes "
                f"({memory_bytes})",
            )
        BUDGET.limit = memory_bytes - charged
        self._store.set_limits(memory_size=memory_bytes, table_elements=cap)

    # --------------------------------------------------------------------- imports

    def _link(self, options: Mapping[str, Any]) -> wasmtime.Linker:
        handled = {(m, n) for m, n in options.get("handled_imports", [])}
        wasi = options.get("wasi")
        linker = wasmtime.Linker(self._engine)
        linker.allow_shadowing = True
        if wasi:
            self._store.set_wasi(self._wasi_config(wasi if isinstance(wasi, dict) else {}))
            linker.define_wasi()
        described = self._module.imports
        if len(described) != len(self._import_types):  # pragma: no cover - one module
            raise CommandFailed("invalid_module", "the module's imports could not be read")
        for imp, types in zip(described, self._import_types, strict=True):
            self._link_one(linker, imp, types, handled, bool(wasi))
        return linker

    def _link_one(
        self,
        linker: wasmtime.Linker,
        imp: Any,
        types: FuncType | None,
        handled: set[tuple[str, str]],
        wasi: bool,
    ) -> None:
        name = imp.name or ""
        qualified = f"{imp.module}.{name}"
        if isinstance(imp.type, wasmtime.MemoryType):
            try:
                memory = wasmtime.Memory(self._store, imp.type)
            except wasmtime.WasmtimeError as exc:
                raise CommandFailed(
                    "invalid_module", f"imported memory {qualified}: {raw.trap_message(exc)}"
                ) from None
            linker.define(self._store, imp.module, name, memory)
            return
        if not isinstance(imp.type, wasmtime.FuncType) or types is None:
            kind = type(imp.type).__name__.removesuffix("Type").lower()
            raise CommandFailed(
                "invalid_module", f"import {qualified}: {kind} imports are not supported"
            )
        params, results = types
        sig = signature(params, results)
        self.imports.append((imp.module, name, sig))
        func: Callable[..., Any]
        if (imp.module, name) in handled:
            if not raw.numeric(params + results):
                raise CommandFailed(
                    "invalid_module",
                    f"import {qualified}{sig} takes or returns values that cannot cross to "
                    "Python (only i32, i64, f32 and f64 can)",
                )
            func = self._handled(imp.module, name, sig, results)
        elif wasi and imp.module == WASI_MODULE:
            if name != "poll_oneoff" or sig != "(iiii)i":
                return  # wasmtime's own WASI answers it
            func = self._sleeper.poll_oneoff  # wasmtime's sleeps where no interrupt reaches
        else:
            func = self._missing(imp.module, name)
        host = raw.host_function(
            self._store, imp.type, params, results, func, self._on_host_call, self._callbacks
        )
        linker.define(self._store, imp.module, name, host)

    def _on_host_call(self, caller: Any) -> None:
        if self.memory.memory is None:  # the start function is running: find the memory
            self.memory.use(raw.caller_memory(caller, self._memory_name))

    def _missing(self, module: str, name: str) -> Callable[..., Any]:
        def missing(*args: Any) -> Any:
            raise CommandFailed(
                "missing_import",
                f"{module}.{name} was called but no handler is registered",
                detail=[module, name],
            )

        return missing

    def _handled(self, module: str, name: str, sig: str, results: list[str]) -> Callable[..., Any]:
        host_call = self._host_call
        what = f"{module}.{name} result"

        def handled(*args: Any) -> Any:
            values = host_call(module, name, list(args), sig)
            if len(values) != len(results):
                raise CommandFailed(
                    "import_handler_error",
                    f"{module}.{name} returned {len(values)} values, expected {len(results)}",
                )
            converted = [raw.to_wasm(k, v, what) for k, v in zip(results, values, strict=True)]
            if not converted:
                return None
            return converted[0] if len(converted) == 1 else converted

        return handled

    # ----------------------------------------------------------------------- WASI

    def _wasi_config(self, options: Mapping[str, Any]) -> wasmtime.WasiConfig:
        cfg = wasmtime.WasiConfig()
        cfg.argv = [str(a) for a in options.get("args", [])]
        cfg.env = [(str(k), str(v)) for k, v in options.get("env", {}).items()]
        for host, guest in options.get("dirs", {}).items():
            try:
                cfg.preopen_dir(str(host), str(guest))
            except wasmtime.WasmtimeError as exc:
                raise CommandFailed(
                    "bad_config", f"WASI dir {host!r}: {raw.trap_message(exc)}"
                ) from None
        cfg.stdout_custom = self._capture(self._stdout)
        cfg.stderr_custom = self._capture(self._stderr)
        return cfg

    @staticmethod
    def _capture(buffer: bytearray) -> Callable[[bytes], int]:
        def write(data: bytes) -> int:
            buffer.extend(data)
            if len(buffer) > OUTPUT_LIMIT:  # keep the newest output
                del buffer[: len(buffer) - OUTPUT_LIMIT]
            return len(data)

        return write

    def take_output(self, limit: int) -> tuple[bytes, bytes]:
        out, err = bytes(self._stdout[:limit]), bytes(self._stderr[:limit])
        del self._stdout[:limit]
        del self._stderr[:limit]
        return out, err

    # ---------------------------------------------------------------- instantiation

    def instantiate(self) -> None:
        """Instantiate (the start function runs), then ``_initialize`` if exported.

        The command loop has armed the deadline and the fuel, and hardened the
        process, before this is called."""
        try:
            with raw.mapped_errors():
                instance = self._linker.instantiate(self._store, self._module)
        except CommandFailed as exc:
            raise self._start_failed("instantiation failed", exc) from None
        self._describe_exports(instance)
        if "_initialize" in self._funcs:  # WASI reactor ABI: run constructors once
            self.arm(fresh_fuel=True)
            try:
                self.prepare_call("_initialize", [])()
            except CommandFailed as exc:
                raise self._start_failed("_initialize failed", exc) from None

    @staticmethod
    def _start_failed(what: str, exc: CommandFailed) -> CommandFailed:
        """A module that cannot start is an invalid module; the trap code stays (the
        command loop tells a timeout from other interrupts by it)."""
        if exc.kind != "trap":
            return exc  # an import handler's error, a missing import: as they are
        code = f" ({exc.code})" if exc.code else ""
        return CommandFailed("invalid_module", f"{what}{code}: {exc.text}", exc.code)

    def _describe_exports(self, instance: wasmtime.Instance) -> None:
        memory: wasmtime.Memory | None = None
        for name, kind, (params, results) in self._export_types:
            item = raw.export(self._store, instance, name)
            if item is None:  # pragma: no cover - the module's own export list
                continue
            self.exports.append((kind, name, signature(params, results) if kind == "func" else ""))
            if kind == "func":
                self._funcs[name] = (wasmtime.Func._from_raw(item.of.func), params, results)
            elif kind == "memory" and (memory is None or name == "memory"):
                memory = wasmtime.Memory._from_raw(item.of.memory)
        self.memory.use(memory)

    # ------------------------------------------------------------------------ calls

    def prepare_call(self, name: str, args: list[Number]) -> Callable[[], list[Number]]:
        try:
            func, params, results = self._funcs[name]
        except KeyError:
            raise CommandFailed(
                "export_not_found", f"no exported function named {name!r}"
            ) from None
        if len(args) != len(params):
            raise CommandFailed(
                "bad_argument", f"{name} takes {len(params)} arguments, got {len(args)}"
            )
        values = (
            [
                raw.to_wasm(k, v, f"{name} argument {i}")
                for i, (k, v) in enumerate(zip(params, args, strict=True))
            ]
            if args
            else []
        )
        call = self._raw.get(name)
        if call is None:  # the first call: its value layout resolved once
            if not raw.numeric(params + results):
                raise CommandFailed(
                    "bad_argument",
                    f"{name} takes or returns values that cannot cross to Python "
                    "(only i32, i64, f32 and f64 can)",
                )
            call = self._raw[name] = raw.raw_call(self._store, func, params, results)
        return functools.partial(call, values)

    def arm(self, *, fresh_fuel: bool) -> None:
        """Set the deadline (one epoch from now) and, for an outermost entry, the fuel."""
        if fresh_fuel and self._fuel is not None:
            self._store.set_fuel(self._fuel)
        raw.set_deadline(self._context, 1)
        if self._sleeper.wake.is_set():  # (clear() takes a lock: only when needed)
            self._sleeper.wake.clear()
        self.memory.forget_view()  # the wasm is about to run: it may grow its memory

    def interrupt(self) -> None:
        """Thread-safe: make the running wasm trap with ``interrupt``."""
        self._engine.increment_epoch()
        self._sleeper.wake.set()
