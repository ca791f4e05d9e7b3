"""A blocking facade over beamr, for scripts and notebooks that are not async.

The same names as the async API, without ``await``::

    import beamr.sync as bs

    with bs.start(binary, imports={"env": {"log": log}}) as wasm:
        ptr = bs.io.write_string(wasm, "hello")
        print(bs.call(wasm, "str_len", [ptr]))

Everything runs on one event loop in a background thread (an anyio BlockingPortal,
started on first use, asyncio by default: set ``beamr.sync.BACKEND = "trio"`` before
the first call to change it). Import handlers are plain functions called in a worker
thread with the :class:`Instance`; inside them, ``beamr.sync.io.*`` and
``beamr.sync.call`` on the same instance work (nested, as in the async API). Do not
call this facade from inside a running event loop: use the async API there.
"""

from __future__ import annotations

import atexit
import contextlib
import math
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar, cast

import anyio
import anyio.from_thread
import anyio.to_thread

import beamr
from beamr import instance as _instance
from beamr import io as _aio
from beamr.types import Export, Import, Limits, Output, WasiConfig

__all__ = ["BACKEND", "Instance", "call", "deserialize", "io", "serialize", "start", "stop"]

T = TypeVar("T")
BACKEND = "asyncio"

_lock = threading.Lock()
_portal: anyio.from_thread.BlockingPortal | None = None
_portal_cm: contextlib.AbstractContextManager[anyio.from_thread.BlockingPortal] | None = None
#: inside a handler's thread: the handler scopes it runs in (see beamr.instance)
_handler_context = threading.local()


def _get_portal() -> anyio.from_thread.BlockingPortal:
    global _portal, _portal_cm
    with _lock:
        if _portal is None:
            _portal_cm = anyio.from_thread.start_blocking_portal(BACKEND)
            _portal = _portal_cm.__enter__()
            atexit.register(_shutdown)
        return _portal


def _shutdown() -> None:
    """Stop the background event loop (at exit, or for tests switching backends)."""
    global _portal, _portal_cm, _handler_limiter
    with _lock:
        cm, _portal, _portal_cm = _portal_cm, None, None
        _handler_limiter = None  # it belongs to that loop
    if cm is not None:
        cm.__exit__(None, None, None)


async def _in_scopes(scopes: tuple[Any, ...], func: Callable[..., Awaitable[T]], *args: Any) -> T:
    token = _instance._scopes.set(scopes)
    try:
        return await func(*args)
    finally:
        _instance._scopes.reset(token)


def _run(func: Callable[..., Awaitable[T]], *args: Any) -> T:
    scopes = getattr(_handler_context, "scopes", ())
    return cast(T, _get_portal().call(_in_scopes, scopes, func, *args))


class Instance:
    """A blocking handle on a :class:`beamr.Instance`; close it with ``with`` or :meth:`close`."""

    def __init__(self, inner: beamr.Instance) -> None:
        self.aio = inner  #: the underlying async instance

    @property
    def exports(self) -> tuple[Export, ...]:
        """See :attr:`beamr.Instance.exports`."""
        return self.aio.exports

    @property
    def imports(self) -> tuple[Import, ...]:
        """See :attr:`beamr.Instance.imports`."""
        return self.aio.imports

    @property
    def pid(self) -> int:
        """The worker's process id."""
        return self.aio.pid

    def output(self) -> Output:
        """WASI stdout/stderr captured since the last call."""
        return _run(self.aio.output)

    def close(self) -> None:
        """Stop the worker (idempotent)."""
        stop(self)

    def __enter__(self) -> Instance:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<beamr.sync.Instance pid={self.pid}>"


def _unwrap(wasm: Any) -> beamr.Instance:
    if isinstance(wasm, Instance):
        return wasm.aio
    raise TypeError(f"expected a beamr.sync.Instance, got {type(wasm).__name__}")


def _wrap_handler(handler: Callable[..., Any], holder: list[Instance]) -> Callable[..., Any]:
    async def run_in_thread(_: beamr.Instance, *args: Any) -> Any:
        scopes = _instance._scopes.get()

        def in_thread() -> Any:
            _handler_context.scopes = scopes
            try:
                return handler(holder[0], *args)
            finally:
                _handler_context.scopes = ()

        # A thread of their own for every handler at every depth: a nested handler
        # never waits for a thread an outer one holds (anyio's default pool has 40).
        # Depth is bounded by beamr.MAX_NESTING.
        return await anyio.to_thread.run_sync(in_thread, limiter=_handler_threads())

    return run_in_thread


def _handler_threads() -> anyio.CapacityLimiter:
    global _handler_limiter
    if _handler_limiter is None:
        _handler_limiter = anyio.CapacityLimiter(math.inf)
    return _handler_limiter


_handler_limiter: anyio.CapacityLimiter | None = None


def start(
    binary: bytes | bytearray | memoryview,
    *,
    imports: Mapping[str, Mapping[str, Callable[..., Any]]] | None = None,
    wasi: bool | WasiConfig | None = None,
    limits: Limits | None = None,
) -> Instance:
    """Blocking :func:`beamr.start`. Handlers are plain functions ``(instance, *args)``."""
    holder: list[Instance] = []
    wrapped: dict[str, dict[str, Callable[..., Any]]] | None = None
    if imports is not None:
        _instance._check_imports(imports)
        wrapped = {
            module: {name: _wrap_handler(h, holder) for name, h in funcs.items()}
            for module, funcs in imports.items()
        }

    async def go() -> beamr.Instance:
        return await beamr.start(binary, imports=wrapped, wasi=wasi, limits=limits)

    inner = _run(go)
    holder.append(Instance(inner))
    return holder[0]


def call(wasm: Instance, name: str, args: Sequence[int | float] = ()) -> list[int | float]:
    """Blocking :func:`beamr.call`."""
    return _run(beamr.call, _unwrap(wasm), name, args)


def stop(wasm: Instance) -> None:
    """Blocking :func:`beamr.stop`; idempotent."""
    _run(beamr.stop, _unwrap(wasm))


def serialize(wasm: Instance) -> bytes:
    """Blocking :func:`beamr.serialize`."""
    return _run(beamr.serialize, _unwrap(wasm))


def deserialize(wasm: Instance, snapshot: bytes | bytearray | memoryview) -> None:
    """Blocking :func:`beamr.deserialize`."""
    _run(beamr.deserialize, _unwrap(wasm), snapshot)


class _IO:
    """``beamr.sync.io``: the blocking counterparts of :mod:`beamr.io`."""

    @staticmethod
    def size(wasm: Instance) -> int:
        """Blocking :func:`beamr.io.size`."""
        return _run(_aio.size, _unwrap(wasm))

    @staticmethod
    def read(wasm: Instance, offset: int, size: int) -> bytes:
        """Blocking :func:`beamr.io.read`."""
        return _run(_aio.read, _unwrap(wasm), offset, size)

    @staticmethod
    def write(wasm: Instance, offset: int, data: bytes | bytearray | memoryview) -> None:
        """Blocking :func:`beamr.io.write`."""
        _run(_aio.write, _unwrap(wasm), offset, data)

    @staticmethod
    def read_string(wasm: Instance, offset: int, chunk_size: int | None = None) -> bytes:
        """Blocking :func:`beamr.io.read_string`."""
        return _run(_aio.read_string, _unwrap(wasm), offset, chunk_size)

    @staticmethod
    def write_string(wasm: Instance, data: str | bytes | bytearray | memoryview) -> int:
        """Blocking :func:`beamr.io.write_string`."""
        return _run(_aio.write_string, _unwrap(wasm), data)

    @staticmethod
    def malloc(wasm: Instance, size: int) -> int:
        """Blocking :func:`beamr.io.malloc`."""
        return _run(_aio.malloc, _unwrap(wasm), size)

    @staticmethod
    def free(wasm: Instance, ptr: int) -> None:
        """Blocking :func:`beamr.io.free`."""
        _run(_aio.free, _unwrap(wasm), ptr)


io = _IO()
