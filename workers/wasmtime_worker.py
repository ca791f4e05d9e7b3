"""The wasmtime backend: one engine, one store, one instance.

It is built in two steps. :class:`WasmtimeBackend` compiles (or loads) the module,
makes the store and links the imports; nothing of the module runs yet. The command
loop then hardens the process (:mod:`workers.sandbox`) and calls
:meth:`WasmtimeBackend.instantiate`, which runs the start function and
``_initialize`` under the same limits as any call.

It checks every memory bound itself (wasmtime-py's ``Memory.read`` clamps silently
and its ``write`` wraps negative offsets), converts values by signature, and maps
wasmtime's exceptions to :class:`~workers.backend.CommandFailed` at the boundary.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import struct
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Final

import wasmtime
from wasmtime import _bindings as _wbind
from wasmtime import _ffi as _wffi
from wasmtime import _func as _wfunc
from wasmtime._func import maybe_raise_last_exn as _raise_host_exception

from beamr import protocol as p
from workers import module_cache, wasm_binary
from workers.backend import CommandFailed, HostCall, Number
from workers.budget import BUDGET

WASI_MODULE: Final = "wasi_snapshot_preview1"
OUTPUT_LIMIT: Final = 16 << 20  # bytes of WASI stdout (and of stderr) kept for the parent
#: table elements cost this many bytes of the memory budget
TABLE_ELEMENT_BYTES: Final = 8
#: table space every instance gets beyond its budget: a module's usual small
#: function table does not cost it a page of linear memory (64 KiB)
FREE_TABLE_ELEMENTS: Final = 8192

# WASI preview1: a subscription (userdata, tag, clock id, timeout, precision, flags)
# and an event (userdata, errno, type, nbytes, flags), as laid out in linear memory
_SUBSCRIPTION: Final = struct.Struct("<QB7xIxxxxQQH6x")
_EVENT: Final = struct.Struct("<QHBxxxxxQH6x")
_EINVAL: Final = 28
_EFAULT: Final = 21

_INT_BITS: Final = {"i32": 32, "i64": 64}
#: wasmtime_val_raw_t fields of the value types that cross to Python
_RAW_FIELDS: Final = {"i32": "i32", "i64": "i64", "f32": "f32", "f64": "f64"}
_EXTERN_MEMORY: Final = _wffi.WASMTIME_EXTERN_MEMORY.value

#: the raw host functions own nothing to free (their callbacks live on the backend)
_NO_FINALIZER = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(lambda _: None)
_TRAP_MESSAGE: Final = b"host function failed"

_libc = ctypes.CDLL(None)
_memchr = _libc.memchr
_memchr.restype = ctypes.c_void_p
_memchr.argtypes = (ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t)
_trap_new = _wbind._wasmtime_trap_new
_set_deadline = _wbind._wasmtime_context_set_epoch_deadline
_call_unchecked = _wbind._wasmtime_func_call_unchecked
_export_get = _wbind._wasmtime_instance_export_get
_caller_export_get = _wbind._wasmtime_caller_export_get


#: (cache key, engine, module) prepared by the fork-server before it forked this
#: worker: used when the worker's own module has that key (see workers/zygote.py)
PRELOADED: tuple[str, wasmtime.Engine, wasmtime.Module] | None = None


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


def make_engine(flags: Mapping[str, Any], *, parallel: bool) -> wasmtime.Engine:
    config = wasmtime.Config()
    config.wasm_memory64 = bool(flags["memory64"])
    config.epoch_interruption = bool(flags["epoch_interruption"])
    config.consume_fuel = bool(flags["consume_fuel"])
    config.parallel_compilation = parallel
    # Memories come from the budget's creator (workers.budget), not from memory
    # images: no copy-on-write image to build, and so no memfd (which the sandbox denies).
    config.memory_init_cow = False
    BUDGET.attach(config)
    return wasmtime.Engine(config)


def to_wasm(kind: str, value: Any, what: str) -> Number:
    """Check one value against its wasm type and bring ints into signed range."""
    if kind in _INT_BITS:
        bits = _INT_BITS[kind]
        if type(value) is not int:
            raise CommandFailed("bad_argument", f"{what}: {kind} needs an int, got {value!r:.40}")
        if not -(1 << (bits - 1)) <= value < (1 << bits):
            raise CommandFailed("bad_argument", f"{what}: {value} out of range for {kind}")
        return value - (1 << bits) if value >= (1 << (bits - 1)) else value
    if kind in ("f32", "f64"):
        if type(value) is not int and type(value) is not float:
            raise CommandFailed("bad_argument", f"{what}: {kind} needs a number, got {value!r:.40}")
        return float(value)
    raise CommandFailed("bad_argument", f"{what}: values of type {kind} cannot cross to Python")


def trap_code(exc: wasmtime.Trap) -> str | None:
    code = exc.trap_code
    return code.name.lower() if code is not None else None


def _trap_message(exc: BaseException) -> str:
    """wasmtime's message without its backtrace: "what (cause)" in one line."""
    text = str(exc).strip()
    if not text:
        return type(exc).__name__
    head, _, cause = text.partition("Caused by:")
    causes = [line.strip() for line in cause.splitlines() if line.strip()]
    first = head.strip().splitlines()[0]
    if causes and first.startswith("error while executing"):
        return "; ".join(causes)  # the backtrace header says nothing: the cause does
    return f"{first} ({'; '.join(causes)})" if causes else first


def _as_failure(exc: BaseException) -> CommandFailed:
    """One mapping of wasmtime's exceptions to error replies."""
    if isinstance(exc, CommandFailed):
        return exc
    if isinstance(exc, wasmtime.Trap):
        return CommandFailed("trap", _trap_message(exc), trap_code(exc))
    text = _trap_message(exc)
    return CommandFailed("trap", text, "stack_overflow" if "stack overflow" in text else None)


@contextmanager
def _mapped_errors() -> Iterator[None]:
    try:
        yield
    except (wasmtime.Trap, wasmtime.WasmtimeError) as exc:
        raise _as_failure(exc) from None


def _numeric(kinds: list[str]) -> bool:
    return all(kind in _RAW_FIELDS for kind in kinds)


class WasmtimeBackend:
    """One wasm instance in wasmtime, as the command loop sees it."""

    def __init__(self, binary: bytes, options: Mapping[str, Any], host_call: HostCall) -> None:
        if binary[:4] != p.WASM_MAGIC:
            # wasmtime would also accept WAT text; we take binaries only.
            raise CommandFailed("invalid_module", "not a wasm binary (no \\0asm magic)")
        limits = options.get("limits") or {}
        handled = {(m, n) for m, n in options.get("handled_imports", [])}
        wasi = options.get("wasi")
        self._fuel: int | None = limits.get("fuel")
        self._host_call = host_call

        flags = engine_flags(options)
        key = module_cache.cache_key(hashlib.sha256(binary).digest(), flags)
        #: where the compiled module came from: "fork-server", "cache" or "compiled"
        self.module_source = "compiled"
        if PRELOADED is not None and PRELOADED[0] == key:
            # compiled in the fork-server, shared copy-on-write
            _, self._engine, module = PRELOADED
            self.module_source = "fork-server"
        else:
            # One thread: a compile on many would leave a pool of threads behind, and
            # every thread of a worker must confine itself (workers.sandbox).
            self._engine = make_engine(flags, parallel=False)
            module = self._compile(
                binary,
                key,
                options.get("cache_dir"),
                options.get("cache_max_bytes") or module_cache.DEFAULT_MAX_BYTES,
            )
        try:
            # the types by value type: wasmtime's own aborts on v128 (wasm_binary)
            self._shape = wasm_binary.shape(binary)
            import_types = [
                self._shape.function_type(index) if kind == "func" else None
                for _, _, kind, index in self._shape.imports
            ]
            export_types = [
                self._shape.function_type(index) if kind == "func" else ([], [])
                for _, kind, index in self._shape.exports
            ]
        except wasm_binary.Malformed as exc:
            raise CommandFailed(
                "invalid_module", f"cannot read the module's types: {exc}"
            ) from None
        self._export_types = export_types
        self._module = module
        self._store = wasmtime.Store(self._engine)
        self._context = self._store._context()
        self._callbacks: list[Any] = []
        #: (address, length) of the linear memory, valid until the wasm runs again
        self._memory_view: tuple[int, int] | None = None
        self._memory: wasmtime.Memory | None = None
        #: where io finds the memory while the start function runs (a host call
        #: during instantiation): the export's name
        self._memory_name = next(
            (
                n.encode()
                for n, kind, _ in self._shape.exports
                if kind == "memory" and n == "memory"
            ),
            next((n.encode() for n, kind, _ in self._shape.exports if kind == "memory"), None),
        )
        self._stdout = bytearray()
        self._stderr = bytearray()
        self._apply_budget(binary, limits.get("memory_bytes"))
        self._store.set_epoch_deadline(1)  # nothing runs yet; armed before each entry

        #: set by interrupt(): wakes a guest sleeping in poll_oneoff
        self._wake = threading.Event()
        #: the WASI monotonic clock's origin (wasmtime counts from its context's birth)
        self._clock_origin = time.monotonic_ns()
        linker = wasmtime.Linker(self._engine)
        linker.allow_shadowing = True
        if wasi:
            self._store.set_wasi(self._wasi_config(wasi if isinstance(wasi, dict) else {}))
            linker.define_wasi()
        self.imports: list[tuple[str, str, str]] = []
        described = module.imports
        if len(described) != len(self._shape.imports):  # pragma: no cover - one module
            raise CommandFailed("invalid_module", "the module's imports could not be read")
        for imp, types in zip(described, import_types, strict=True):
            self._link(linker, imp, types, handled, bool(wasi))
        self._linker = linker

        self.exports: list[tuple[str, str, str]] = []
        self._funcs: dict[str, tuple[wasmtime.Func, list[str], list[str]]] = {}
        #: per export: its raw call, resolved on first use
        self._raw: dict[str, Callable[[list[Number]], list[Number]]] = {}

    def _compile(
        self, binary: bytes, key: str, cache_dir: str | None, cache_max_bytes: int
    ) -> wasmtime.Module:
        """Load the module from the compiled-module cache, or compile (and cache) it."""
        if cache_dir:
            cached = module_cache.load(self._engine, cache_dir, key)
            if cached is not None:
                self.module_source = "cache"
                return cached
        try:
            module = wasmtime.Module(self._engine, binary)
        except wasmtime.WasmtimeError as exc:
            raise CommandFailed("invalid_module", _trap_message(exc)) from None
        if cache_dir:
            module_cache.store(cache_dir, key, module, cache_max_bytes)
        return module

    def _apply_budget(self, binary: bytes, memory_bytes: int | None) -> None:
        """One budget for the memories and tables (see :mod:`workers.budget`).

        Tables count ``TABLE_ELEMENT_BYTES`` an element beyond a free allowance;
        each may hold at most ``cap`` elements, which the budget pays for up front
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

    def _link(
        self,
        linker: wasmtime.Linker,
        imp: Any,
        types: tuple[list[str], list[str]] | None,
        handled: set[tuple[str, str]],
        wasi: bool,
    ) -> None:
        ty = imp.type
        name = imp.name or ""
        qualified = f"{imp.module}.{name}"
        if isinstance(ty, wasmtime.FuncType):
            assert types is not None
            params, results = types
            sig = signature(params, results)
            self.imports.append((imp.module, name, sig))
            if wasi and imp.module == WASI_MODULE and (imp.module, name) not in handled:
                if name == "poll_oneoff" and sig == "(iiii)i":
                    # wasmtime's sleeps where no interrupt reaches it: ours wakes up
                    linker.define(
                        self._store, imp.module, name,
                        self._host_func(ty, params, results, self._poll_oneoff),
                    )  # fmt: skip
                return  # wasmtime's own WASI answers the rest
            if (imp.module, name) in handled:
                if not _numeric(params + results):
                    raise CommandFailed(
                        "invalid_module",
                        f"import {qualified}{sig} takes or returns values that cannot cross "
                        "to Python (only i32, i64, f32 and f64 can)",
                    )
                func = self._handled(imp.module, name, sig, results)
            else:
                func = self._missing(imp.module, name)
            linker.define(self._store, imp.module, name, self._host_func(ty, params, results, func))
        elif isinstance(ty, wasmtime.MemoryType):
            try:
                memory = wasmtime.Memory(self._store, ty)
            except wasmtime.WasmtimeError as exc:
                raise CommandFailed(
                    "invalid_module", f"imported memory {qualified}: {_trap_message(exc)}"
                ) from None
            linker.define(self._store, imp.module, name, memory)
        else:
            kind = type(ty).__name__.removesuffix("Type").lower()
            raise CommandFailed(
                "invalid_module", f"import {qualified}: {kind} imports are not supported"
            )

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
            converted = [to_wasm(k, v, what) for k, v in zip(results, values, strict=True)]
            if not converted:
                return None
            return converted[0] if len(converted) == 1 else converted

        return handled

    def _host_func(
        self, ty: wasmtime.FuncType, params: list[str], results: list[str], func: Callable[..., Any]
    ) -> wasmtime.Func:
        """A host function on wasmtime's unchecked path: raw slots read and written by
        type, resolved once (wasmtime-py's ``Func`` boxes every value in a ``Val``).

        Whatever goes wrong in it becomes a trap that carries the exception to where
        the call entered the wasm (wasmtime-py's channel, ``LAST_EXCEPTION``); the
        failure path allocates as little as it can, and a worker whose callback
        nevertheless lets an exception escape exits (see ``workers.server``)."""
        numeric = _numeric(params + results)
        in_fields = [_RAW_FIELDS[k] for k in params] if numeric else []
        out_fields = [_RAW_FIELDS[k] for k in results] if numeric else []
        backend = self

        def callback(env: Any, caller: Any, values: Any, count: int) -> int:
            try:
                if backend._memory is None:
                    backend._memory_from(caller)  # the start function is running
                if not numeric:
                    func()  # a stub: it raises
                out = func(*[getattr(values[i], f) for i, f in enumerate(in_fields)])
                if len(out_fields) == 1:
                    setattr(values[0], out_fields[0], out)
                elif out_fields:
                    for i, (field, value) in enumerate(zip(out_fields, out, strict=True)):
                        setattr(values[i], field, value)
                return 0
            except BaseException as exc:  # StopWorker too: it must unwind the wasm
                _wfunc.LAST_EXCEPTION = exc  # type: ignore[assignment]
                return (
                    ctypes.cast(_trap_new(_TRAP_MESSAGE, len(_TRAP_MESSAGE)), ctypes.c_void_p).value
                    or 0
                )

        raw_callback = _wffi.wasmtime_func_unchecked_callback_t(callback)
        self._callbacks.append(raw_callback)  # alive as long as the store
        raw = _wffi.wasmtime_func_t()
        _wffi.wasmtime_func_new_unchecked(
            self._context, ty.ptr(), raw_callback, None, _NO_FINALIZER, ctypes.byref(raw)
        )
        return wasmtime.Func._from_raw(raw)

    def _memory_from(self, caller: Any) -> None:
        """During instantiation, find the memory through the calling instance."""
        name = self._memory_name
        if name is None:
            return
        item = _wffi.wasmtime_extern_t()
        if _caller_export_get(caller, name, len(name), ctypes.byref(item)) and (
            int(item.kind) == _EXTERN_MEMORY
        ):
            self._memory = wasmtime.Memory._from_raw(item.of.memory)
            self._memory_view = None

    # ----------------------------------------------------------------------- WASI

    def _wasi_config(self, options: Mapping[str, Any]) -> wasmtime.WasiConfig:
        cfg = wasmtime.WasiConfig()
        cfg.argv = [str(a) for a in options.get("args", [])]
        env = options.get("env", {})
        cfg.env = [(str(k), str(v)) for k, v in env.items()]
        for host, guest in options.get("dirs", {}).items():
            try:
                cfg.preopen_dir(str(host), str(guest))
            except wasmtime.WasmtimeError as exc:
                raise CommandFailed(
                    "bad_config", f"WASI dir {host!r}: {_trap_message(exc)}"
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

    def _poll_oneoff(self, subscriptions: int, events: int, count: int, written: int) -> int:
        """WASI ``poll_oneoff``: clock subscriptions sleep, interruptibly; file
        descriptor subscriptions are ready at once (stdio is memory here, and files
        in preopened directories do not block)."""
        address, length = self._view()
        subscriptions &= 0xFFFFFFFF
        events &= 0xFFFFFFFF
        count &= 0xFFFFFFFF
        written &= 0xFFFFFFFF
        if count == 0:
            return _EINVAL
        if (
            subscriptions + count * _SUBSCRIPTION.size > length
            or events + count * _EVENT.size > length
            or written + 4 > length
        ):
            return _EFAULT
        data = ctypes.string_at(address + subscriptions, count * _SUBSCRIPTION.size)
        now, wall = time.monotonic_ns(), time.time_ns()
        clocks: list[tuple[int, int]] = []  # (deadline, userdata)
        ready: list[bytes] = []
        for i in range(count):
            userdata, tag, clock_id, timeout, _, flags = _SUBSCRIPTION.unpack_from(
                data, i * _SUBSCRIPTION.size
            )
            if tag == 0:
                if not flags & 1:
                    deadline = now + timeout
                elif clock_id == 0:  # realtime, absolute
                    deadline = now + (timeout - wall)
                else:  # monotonic, absolute: counted from the context's origin
                    deadline = self._clock_origin + timeout
                clocks.append((deadline, userdata))
            elif tag in (1, 2):
                ready.append(_EVENT.pack(userdata, 0, tag, 0, 0))
            else:
                return _EINVAL
        if not ready and clocks:
            earliest = min(deadline for deadline, _ in clocks)
            delay = (earliest - time.monotonic_ns()) / 1e9
            if delay > 0 and self._wake.wait(delay):
                raise CommandFailed(
                    "trap", "interrupted while sleeping in poll_oneoff", "interrupt"
                )
            now = time.monotonic_ns()
            ready = [_EVENT.pack(u, 0, 0, 0, 0) for deadline, u in clocks if deadline <= now]
        address, length = self._view()
        ctypes.memmove(address + events, b"".join(ready), len(ready) * _EVENT.size)
        ctypes.memmove(address + written, len(ready).to_bytes(4, "little"), 4)
        return 0

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
            with _mapped_errors():
                instance = self._linker.instantiate(self._store, self._module)
        except CommandFailed as exc:
            raise self._start_failed("instantiation failed", exc) from None
        self._instance = instance
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
        instance_ref = ctypes.byref(instance._instance)
        for (name, kind, _), (params, results) in zip(
            self._shape.exports, self._export_types, strict=True
        ):
            item = _wffi.wasmtime_extern_t()  # the handles made below keep pointing into it
            encoded = name.encode()
            if not _export_get(
                self._context, instance_ref, encoded, len(encoded), ctypes.byref(item)
            ):
                continue  # pragma: no cover - the module's own export list
            self.exports.append((kind, name, signature(params, results) if kind == "func" else ""))
            if kind == "func":
                self._funcs[name] = (wasmtime.Func._from_raw(item.of.func), params, results)
            elif kind == "memory" and (memory is None or name == "memory"):
                memory = wasmtime.Memory._from_raw(item.of.memory)
        self._memory = memory
        self._memory_view = None

    # ------------------------------------------------------------------------ calls

    def prepare_call(self, name: str, args: list[Number]) -> Callable[[], list[Number]]:
        try:
            _, param_kinds, result_kinds = self._funcs[name]
        except KeyError:
            raise CommandFailed(
                "export_not_found", f"no exported function named {name!r}"
            ) from None
        if len(args) != len(param_kinds):
            raise CommandFailed(
                "bad_argument", f"{name} takes {len(param_kinds)} arguments, got {len(args)}"
            )
        if not _numeric(param_kinds + result_kinds):
            raise CommandFailed(
                "bad_argument",
                f"{name} takes or returns values that cannot cross to Python "
                "(only i32, i64, f32 and f64 can)",
            )
        values = (
            [
                to_wasm(k, v, f"{name} argument {i}")
                for i, (k, v) in enumerate(zip(param_kinds, args, strict=True))
            ]
            if args
            else []
        )
        raw = self._raw.get(name)
        if raw is None:
            raw = self._raw[name] = self._raw_call(name)
        return functools.partial(raw, values)

    def _raw_call(self, name: str) -> Callable[[list[Number]], list[Number]]:
        """``wasmtime_func_call_unchecked`` with the raw value layout resolved once.

        wasmtime-py's ``Func.__call__`` re-reads the function type and boxes every
        value on each call; the arguments are checked against the signature before,
        so the raw call is safe. Traps and host exceptions are handled as
        wasmtime-py's own ``enter_wasm`` does."""
        func, param_kinds, result_kinds = self._funcs[name]
        slots = max(len(param_kinds), len(result_kinds), 1)
        fields = [_RAW_FIELDS[k] for k in param_kinds]
        out = [_RAW_FIELDS[k] for k in result_kinds]
        array = _wffi.wasmtime_val_raw_t * slots
        func_ref = ctypes.byref(func._func)
        context = self._context
        trap_pointer = ctypes.POINTER(_wffi.wasm_trap_t)

        def run(values: list[Number]) -> list[Number]:
            buffer = array()
            if fields:
                for slot, field, value in zip(buffer, fields, values, strict=False):
                    setattr(slot, field, value)
            trap = trap_pointer()  # a fresh one per call: calls nest (imports)
            try:
                error = _call_unchecked(context, func_ref, buffer, slots, ctypes.byref(trap))
                if error:
                    _raise_host_exception()
                    raise wasmtime.WasmtimeError._from_ptr(error)
                if trap:
                    trap_obj = wasmtime.Trap._from_ptr(trap)
                    _raise_host_exception()  # a host function's exception wins
                    raise trap_obj
            except (wasmtime.Trap, wasmtime.WasmtimeError) as exc:
                raise _as_failure(exc) from None
            if not out:
                return []
            return [getattr(buffer[i], field) for i, field in enumerate(out)]

        return run

    def arm(self, *, fresh_fuel: bool) -> None:
        """Set the deadline (one epoch from now) and, for an outermost entry, the fuel."""
        if fresh_fuel and self._fuel is not None:
            self._store.set_fuel(self._fuel)
        _set_deadline(self._context, 1)
        self._wake.clear()
        self._memory_view = None  # the wasm is about to run: it may grow its memory

    def interrupt(self) -> None:
        """Thread-safe: make the running wasm trap with ``interrupt``."""
        self._engine.increment_epoch()
        self._wake.set()

    # ----------------------------------------------------------------------- memory

    def _view(self) -> tuple[int, int]:
        """(address, length) of the linear memory.

        The memory only grows while the wasm runs, and every entry into the wasm goes
        through :meth:`arm`, which forgets the cached view."""
        view = self._memory_view
        if view is None:
            if self._memory is None:
                return 0, 0
            address = ctypes.cast(self._memory.data_ptr(self._store), ctypes.c_void_p).value
            view = self._memory_view = (address or 0, self._memory.data_len(self._store))
        return view

    def memory_size(self) -> int:
        return self._view()[1]

    def _check(self, offset: int, size: int, length: int, what: str) -> None:
        if offset < 0 or size < 0:
            raise CommandFailed("bad_argument", f"{what}: negative offset or size")
        if offset + size > length:
            raise CommandFailed(
                "out_of_bounds",
                f"{what} of {size} bytes at {offset} is outside the memory of {length} bytes",
            )

    def read(self, offset: int, size: int) -> bytes:
        address, length = self._view()
        self._check(offset, size, length, "read")
        return ctypes.string_at(address + offset, size) if size else b""

    def write(self, offset: int, data: bytes) -> None:
        address, length = self._view()
        self._check(offset, len(data), length, "write")
        if data:
            ctypes.memmove(address + offset, data, len(data))

    def locate(self, offset: int, size: int, access: str) -> tuple[int, int]:
        address, length = self._view()
        self._check(offset, size, length, access)
        return address + offset, length

    def read_string(self, offset: int, limit: int) -> bytes:
        address, length = self._view()
        self._check(offset, 0, length, "read_string")
        found = _memchr(address + offset, 0, length - offset) if offset < length else None
        if not found:
            raise CommandFailed(
                "out_of_bounds", f"read_string at {offset}: no NUL before the end of memory"
            )
        size = found - (address + offset)
        if size > limit:
            raise CommandFailed(
                "too_large", f"a string of {size} bytes is read in parts", detail=[size]
            )
        return ctypes.string_at(address + offset, size)
