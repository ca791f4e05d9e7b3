"""wasmtime's C functions, called directly, and the one mapping of its errors.

wasmtime-py's ``Func.__call__`` re-reads the function type and boxes every value in a
``Val`` on each call, and its host functions do the same; here the raw value slots
are read and written by type, resolved once per function. Values are checked against
the signature before they reach these functions (:func:`to_wasm`), so the unchecked
calls are safe. Traps and host exceptions travel as wasmtime-py's own ``enter_wasm``
does: a host function that raises leaves its exception in ``LAST_EXCEPTION`` and
returns a trap; where the call entered the wasm, that exception wins over the trap.

Every wasmtime error becomes a :class:`~workers.backend.CommandFailed` in
:func:`as_failure`, and nowhere else.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Final

import wasmtime
from wasmtime import _bindings as _wbind
from wasmtime import _ffi as _wffi
from wasmtime import _func as _wfunc
from wasmtime._func import maybe_raise_last_exn as _raise_host_exception

from workers.backend import CommandFailed, Number

__all__ = [
    "RAW_FIELDS",
    "as_failure",
    "caller_memory",
    "export",
    "host_function",
    "mapped_errors",
    "numeric",
    "raw_call",
    "set_deadline",
    "set_stdin_bytes",
    "to_wasm",
    "trap_message",
]

#: wasmtime_val_raw_t fields of the value types that cross to Python
RAW_FIELDS: Final = {"i32": "i32", "i64": "i64", "f32": "f32", "f64": "f64"}
_INT_BITS: Final = {"i32": 32, "i64": 64}
_EXTERN_MEMORY: Final = _wffi.WASMTIME_EXTERN_MEMORY.value
#: the raw host functions own nothing to free (their callbacks live on the backend)
_NO_FINALIZER = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(lambda _: None)
_TRAP_MESSAGE: Final = b"host function failed"

_trap_new = _wbind._wasmtime_trap_new
_call_unchecked = _wbind._wasmtime_func_call_unchecked
_export_get = _wbind._wasmtime_instance_export_get
_caller_export_get = _wbind._wasmtime_caller_export_get
set_deadline: Final = _wbind._wasmtime_context_set_epoch_deadline


def numeric(kinds: list[str]) -> bool:
    return all(kind in RAW_FIELDS for kind in kinds)


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


def trap_message(exc: BaseException) -> str:
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


def as_failure(exc: BaseException) -> CommandFailed:
    """The one mapping of wasmtime's exceptions to error replies."""
    if isinstance(exc, CommandFailed):
        return exc
    if isinstance(exc, wasmtime.ExitTrap):  # WASI proc_exit
        return CommandFailed("trap", f"exited with status {exc.code}", "exit", [exc.code])
    text = trap_message(exc)
    code = exc.trap_code if isinstance(exc, wasmtime.Trap) else None
    if code is not None:
        return CommandFailed("trap", text, code.name.lower())
    if "stack overflow" in text:
        return CommandFailed("trap", text, "stack_overflow")
    if "thrown Wasm exception" in text:  # an exception no handler caught: no trap code
        return CommandFailed("trap", text, "uncaught_exception")
    return CommandFailed("trap", text)


@contextmanager
def mapped_errors() -> Iterator[None]:
    try:
        yield
    except (wasmtime.Trap, wasmtime.WasmtimeError) as exc:
        raise as_failure(exc) from None


def host_function(
    store: wasmtime.Store,
    ty: wasmtime.FuncType,
    params: list[str],
    results: list[str],
    func: Callable[..., Any],
    on_entry: Callable[[Any], None],
    keep: list[Any],
) -> wasmtime.Func:
    """A host function on wasmtime's unchecked path. ``func`` takes and returns Python
    numbers (or only raises, for types that cannot cross); ``on_entry(caller)`` runs
    first; ``keep`` holds the callback alive as long as the store.

    Whatever goes wrong becomes a trap that carries the exception to where the call
    entered the wasm; the failure path allocates as little as it can."""
    crosses = numeric(params + results)
    in_fields = [RAW_FIELDS[k] for k in params] if crosses else []
    out_fields = [RAW_FIELDS[k] for k in results] if crosses else []

    def callback(env: Any, caller: Any, values: Any, count: int) -> int:
        try:
            on_entry(caller)
            if not crosses:
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
            trap = _trap_new(_TRAP_MESSAGE, len(_TRAP_MESSAGE))
            return ctypes.cast(trap, ctypes.c_void_p).value or 0

    raw_callback = _wffi.wasmtime_func_unchecked_callback_t(callback)
    keep.append(raw_callback)
    raw = _wffi.wasmtime_func_t()
    _wffi.wasmtime_func_new_unchecked(
        store._context(), ty.ptr(), raw_callback, None, _NO_FINALIZER, ctypes.byref(raw)
    )
    return wasmtime.Func._from_raw(raw)


def raw_call(
    store: wasmtime.Store, func: wasmtime.Func, params: list[str], results: list[str]
) -> Callable[[list[Number]], list[Number]]:
    """``wasmtime_func_call_unchecked`` for ``func``, its value layout resolved once."""
    slots = max(len(params), len(results), 1)
    fields = [RAW_FIELDS[k] for k in params]
    out = [RAW_FIELDS[k] for k in results]
    array = _wffi.wasmtime_val_raw_t * slots
    func_ref = ctypes.byref(func._func)
    context = store._context()
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
            raise as_failure(exc) from None
        if not out:
            return []
        return [getattr(buffer[i], field) for i, field in enumerate(out)]

    return run


def export(store: wasmtime.Store, instance: wasmtime.Instance, name: str) -> Any:
    """The export ``name`` as a fresh ``wasmtime_extern_t`` (by name: linear time over
    all exports, where wasmtime-py's enumeration is quadratic); None if absent."""
    item = _wffi.wasmtime_extern_t()  # handles made from it keep pointing into it
    encoded = name.encode()
    found = _export_get(
        store._context(),
        ctypes.byref(instance._instance),
        encoded,
        len(encoded),
        ctypes.byref(item),
    )
    return item if found else None


def set_stdin_bytes(config: wasmtime.WasiConfig, data: bytes) -> None:
    """Make ``data`` the WASI stdin of ``config`` (wasmtime-py has no wrapper for it;
    its ``stdin_file`` starts threads at once, before the sandbox could confine them)."""
    vec = _wffi.wasm_byte_vec_t()
    buffer = (ctypes.c_uint8 * len(data)).from_buffer_copy(data) if data else None
    _wffi.wasm_byte_vec_new(ctypes.byref(vec), len(data), buffer)
    _wbind.wasi_config_set_stdin_bytes(config.ptr(), ctypes.byref(vec))  # takes the vector


def caller_memory(caller: Any, name: bytes) -> wasmtime.Memory | None:
    """The calling instance's memory export ``name`` (during instantiation, when the
    instance's own exports are not known yet)."""
    item = _wffi.wasmtime_extern_t()
    if _caller_export_get(caller, name, len(name), ctypes.byref(item)) and (
        int(item.kind) == _EXTERN_MEMORY
    ):
        return wasmtime.Memory._from_raw(item.of.memory)
    return None
