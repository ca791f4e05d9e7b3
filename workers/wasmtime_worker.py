"""The wasmtime backend: one engine, one store, one instance.

It is built in three steps. :class:`WasmtimeBackend` loads the module (from the
fork-server, the compiled-module cache, or a compile: :mod:`workers.compiled`) and
makes the store; :meth:`~WasmtimeBackend.link` links the imports and sets up WASI,
opening what must be opened before the sandbox closes; the command loop then hardens
the process (:mod:`workers.sandbox`) and calls :meth:`~WasmtimeBackend.instantiate`,
which runs the start function and ``_initialize`` under the same limits as any call.

The raw wasmtime calls and the mapping of wasmtime's errors live in
:mod:`workers.wasmtime_raw`; memory io in :mod:`workers.linear_memory`; WASI in
:mod:`workers.wasi_link`; handlers that run in the worker in :mod:`workers.host_context`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, Final

import wasmtime

from beamr import protocol as p
from workers import compiled, host_context, wasi_link, wasm_binary
from workers import wasmtime_raw as raw
from workers.backend import CommandFailed, Host, Number
from workers.budget import BUDGET
from workers.compiled import signature
from workers.linear_memory import LinearMemory
from workers.wasi import Sleeper

#: table elements cost this many bytes of the memory budget
TABLE_ELEMENT_BYTES: Final = 8
#: table space every instance gets beyond its budget: a module's usual small
#: function table does not cost it a page of linear memory (64 KiB)
FREE_TABLE_ELEMENTS: Final = 8192

FuncType = tuple[list[str], list[str]]
_GLOBAL_KINDS: Final = {"i32": int, "i64": int, "f32": float, "f64": float}


class WasmtimeBackend:
    """One wasm instance in wasmtime, as the command loop sees it."""

    def __init__(self, binary: bytes, options: Mapping[str, Any], host: Host) -> None:
        if binary[:4] != p.WASM_MAGIC:
            # wasmtime would also accept WAT text; we take binaries only.
            raise CommandFailed("invalid_module", "not a wasm binary (no \\0asm magic)")
        limits = options.get("limits") or {}
        self._fuel: int | None = limits.get("fuel")
        self._host = host
        #: where the compiled module came from: "fork-server", "cache" or "compiled"
        self._engine, self._module, self.module_source = compiled.load(binary, options)
        self._read_types(binary)
        self._store = wasmtime.Store(self._engine)
        self._context = self._store._context()
        self._callbacks: list[Any] = []
        self.memory = LinearMemory(self._store)
        self._sleeper = Sleeper(self.memory)
        self._apply_budget(binary, limits.get("memory_bytes"))
        self._store.set_epoch_deadline(1)  # nothing runs yet; armed before each entry
        self._linker: wasmtime.Linker | None = None
        self._instance: wasmtime.Instance | None = None
        self._funcs: dict[str, tuple[wasmtime.Func, list[str], list[str]]] = {}
        #: per export: its raw call, resolved on first use
        self._raw: dict[str, Callable[[list[Number]], list[Number]]] = {}

    # ----------------------------------------------------------------------- loading

    def _read_types(self, binary: bytes) -> None:
        """Imports, exports and globals, by value type, from the binary itself:
        wasmtime's C API aborts the process when asked the kind of a v128 (see
        workers.wasm_binary)."""
        try:
            shape = wasm_binary.shape(binary)
            self._import_types: list[tuple[str, str, FuncType | None]] = [
                (module, name, shape.function_type(index) if kind == "func" else None)
                for module, name, kind, index in shape.imports
            ]
            self._export_types: list[tuple[str, str, FuncType]] = [
                (name, kind, shape.function_type(index) if kind == "func" else ([], []))
                for name, kind, index in shape.exports
            ]
            #: exported functions: name -> (params, results); resolved on first call
            self._func_types = {
                name: types for name, kind, types in self._export_types if kind == "func"
            }
            #: exported globals: name -> (value type, mutable)
            self._globals = {
                name: shape.global_type(index)
                for name, kind, index in shape.exports
                if kind == "global"
            }
        except wasm_binary.Malformed as exc:
            raise CommandFailed(
                "invalid_module", f"cannot read the module's types: {exc}"
            ) from None
        self.imports = [
            (module, name, signature(*types))
            for module, name, types in self._import_types
            if types is not None
        ]
        self.exports = [
            (kind, name, signature(params, results) if kind == "func" else "")
            for name, kind, (params, results) in self._export_types
        ]
        self.globals = [
            (name, p.SIGNATURE_CHARS.get(kind, p.OTHER_TYPE_CHAR), "mut" if mutable else "const")
            for name, (kind, mutable) in self._globals.items()
        ]
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

    def link(self, options: Mapping[str, Any]) -> None:
        """Link every import; set up WASI (``options["wasi"]``). Runs before the
        sandbox closes: it opens the WASI dirs and loads in-worker handlers."""
        if self._linker is not None:
            raise CommandFailed("bad_command", "already linked")
        wasi = options.get("wasi")
        wasi_options: Mapping[str, Any] | None = (
            (wasi if isinstance(wasi, dict) else {}) if wasi else None
        )
        linker = wasmtime.Linker(self._engine)
        linker.allow_shadowing = True
        #: WASI answered in Python (memory64 guests), by function name
        python_wasi: dict[str, Callable[..., Any]] = {}
        if wasi_options is not None:
            if wasi_link.flavour(self._import_types) == "wasm64":
                python_wasi = wasi_link.python_wasi(
                    wasi_options, self.memory, self._host.write_output, self._sleeper.wake
                )
            else:
                output = self._host.write_output
                self._store.set_wasi(wasi_link.wasmtime_config(wasi_options, output))
                linker.define_wasi()
        handled = {(m, n) for m, n in options.get("handled_imports", [])}
        in_worker = {(m, n): spec for m, n, spec in options.get("worker_handlers", [])}
        paths = [str(path) for path in options.get("handler_paths", [])]
        everything = bool(options.get("handle_all"))
        context = host_context.HostContext(self.memory, self._nested_call)
        described = self._module.imports
        if len(described) != len(self._import_types):  # pragma: no cover - one module
            raise CommandFailed("invalid_module", "the module's imports could not be read")
        for imp, (_, _, types) in zip(described, self._import_types, strict=True):
            module, name = imp.module, imp.name or ""
            qualified = f"{module}.{name}"
            if isinstance(imp.type, wasmtime.MemoryType):
                self._import_memory(linker, imp.type, module, name)
                continue
            if not isinstance(imp.type, wasmtime.FuncType) or types is None:
                kind = type(imp.type).__name__.removesuffix("Type").lower()
                raise CommandFailed(
                    "invalid_module", f"import {qualified}: {kind} imports are not supported"
                )
            params, results = types
            sig = signature(params, results)
            wasi_serves = wasi_options is not None and module == wasi_link.WASI_MODULE
            func: Callable[..., Any]
            if (module, name) in in_worker:
                self._crossing(qualified, sig, params + results)
                handler = host_context.load(in_worker[(module, name)], paths, qualified)
                func = host_context.in_worker(handler, context, qualified, sig, results)
            elif (module, name) in handled or (everything and not wasi_serves):
                self._crossing(qualified, sig, params + results)
                func = self._handled(module, name, sig, results)
            elif wasi_serves and python_wasi:
                func = python_wasi[name]
            elif wasi_serves:
                if name != "poll_oneoff":
                    continue  # wasmtime's own WASI answers it
                func = self._sleeper.poll_oneoff  # wasmtime's sleeps where no interrupt reaches
            else:
                func = self._missing(module, name)
            host = raw.host_function(
                self._store, imp.type, params, results, func, self._on_host_call, self._callbacks
            )
            linker.define(self._store, module, name, host)
        self._linker = linker

    def _import_memory(
        self, linker: wasmtime.Linker, ty: wasmtime.MemoryType, module: str, name: str
    ) -> None:
        try:
            memory = wasmtime.Memory(self._store, ty)
        except wasmtime.WasmtimeError as exc:
            raise CommandFailed(
                "invalid_module", f"imported memory {module}.{name}: {raw.trap_message(exc)}"
            ) from None
        linker.define(self._store, module, name, memory)

    @staticmethod
    def _crossing(qualified: str, sig: str, kinds: list[str]) -> None:
        if not raw.numeric(kinds):
            raise CommandFailed(
                "invalid_module",
                f"import {qualified}{sig} takes or returns values that cannot cross to "
                "Python (only i32, i64, f32 and f64 can)",
            )

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
        host_call = self._host.host_call
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

    def _nested_call(self, name: str, args: list[Number]) -> list[Number]:
        """An in-worker handler calling an export: inside the running call, under its
        deadline and fuel."""
        return self.prepare_call(name, args)()

    # ---------------------------------------------------------------- instantiation

    def instantiate(self) -> None:
        """Instantiate (the start function runs), then ``_initialize`` if exported.

        The command loop has armed the deadline and the fuel, and hardened the
        process, before this is called."""
        if self._linker is None or self._instance is not None:
            raise CommandFailed("bad_command", "instantiate: not linked, or instantiated")
        try:
            with raw.mapped_errors():
                instance = self._linker.instantiate(self._store, self._module)
        except CommandFailed as exc:
            raise self._start_failed("instantiation failed", exc) from None
        self._instance = instance
        self._find_memory(instance)
        if "_initialize" in self._func_types:  # WASI reactor ABI: run constructors once
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
        return CommandFailed("invalid_module", f"{what}{code}: {exc.text}", exc.code, exc.detail)

    def _find_memory(self, instance: wasmtime.Instance) -> None:
        """The memory io works on: the export "memory", else the first exported one.
        (Functions are looked up when first called: a module may export thousands.)"""
        name = self._memory_name.decode()
        item = raw.export(self._store, instance, name) if name else None
        self.memory.use(wasmtime.Memory._from_raw(item.of.memory) if item is not None else None)

    def _function(self, name: str) -> tuple[wasmtime.Func, list[str], list[str]]:
        """The exported function ``name`` (looked up once)."""
        types = self._func_types.get(name)
        item = (
            raw.export(self._store, self._instance, name)
            if types is not None and self._instance is not None
            else None
        )
        if types is None or item is None:
            raise CommandFailed("export_not_found", f"no exported function named {name!r}")
        entry = self._funcs[name] = (wasmtime.Func._from_raw(item.of.func), *types)
        return entry

    # ---------------------------------------------------------------------- globals

    def _global(self, name: str) -> tuple[wasmtime.Global, str, bool]:
        if self._instance is None:
            raise CommandFailed("bad_command", "not instantiated")
        found = self._globals.get(name)
        item = raw.export(self._store, self._instance, name) if found else None
        if found is None or item is None:
            raise CommandFailed("export_not_found", f"no exported global named {name!r}")
        kind, mutable = found
        if kind not in _GLOBAL_KINDS:
            raise CommandFailed(
                "type_error", f"global {name!r} is a {kind}: only numbers cross to Python"
            )
        return wasmtime.Global._from_raw(item.of.global_), kind, mutable

    def export_signature(self, name: str) -> str | None:
        types = self._func_types.get(name)
        return None if types is None else signature(*types)

    def get_global(self, name: str) -> Number:
        handle, kind, _ = self._global(name)
        return _GLOBAL_KINDS[kind](handle.value(self._store))  # type: ignore[no-any-return]

    def set_global(self, name: str, value: Number) -> None:
        handle, kind, mutable = self._global(name)
        if not mutable:
            raise CommandFailed("type_error", f"global {name!r} is immutable")
        if kind in ("i32", "i64") and type(value) is not int:
            raise CommandFailed("type_error", f"global {name!r} is {kind}: an int is needed")
        checked = raw.to_wasm(kind, value, f"global {name!r}")
        handle.set_value(self._store, getattr(wasmtime.Val, kind)(checked))

    # ------------------------------------------------------------------------ calls

    def prepare_call(self, name: str, args: list[Number]) -> Callable[[], list[Number]]:
        entry = self._funcs.get(name)
        func, params, results = entry if entry is not None else self._function(name)
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
