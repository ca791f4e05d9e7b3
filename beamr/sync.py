"""A blocking facade over beamr, for scripts and notebooks that are not async.

The same names as the async API, without ``await``::

    import beamr.sync as bs

    with bs.start(binary, imports={"env": {"log": log}}) as wasm:
        ptr = bs.io.write_string(wasm, "hello")
        print(bs.call(wasm, "str_len", [ptr]))

Everything runs on one event loop in a background thread: an anyio
``BlockingPortalProvider`` (asyncio by default: set ``beamr.sync.BACKEND = "trio"``
before the first call to change it). The loop runs while an instance is open and
stops when the last one is closed. Import handlers are plain functions called in a
thread of their own with the :class:`Instance`; inside them, ``beamr.sync.io.*`` and
``beamr.sync.call`` on the same instance work (nested, as in the async API, up to
``beamr.MAX_NESTING`` deep). Do not call this facade from inside a running event loop:
use the async API there.
"""

from __future__ import annotations

import atexit
import math
import threading
import weakref
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

import anyio
import anyio.from_thread
import anyio.to_thread

import beamr
from beamr import _handlers
from beamr import io as _aio
from beamr.types import Export, Import, Limits, Output, WasiConfig

__all__ = ["BACKEND", "Instance", "call", "deserialize", "io", "serialize", "start", "stop"]

T = TypeVar("T")
BACKEND = "asyncio"

_lock = threading.Lock()
_provider: anyio.from_thread.BlockingPortalProvider | None = None
_provider_backend = ""
#: in a handler's thread: the handler scopes it runs in (see beamr._handlers)
_in_handler = threading.local()
_open: weakref.WeakSet[Instance] = weakref.WeakSet()


def _portals() -> anyio.from_thread.BlockingPortalProvider:
    global _provider, _provider_backend
    with _lock:
        if _provider is None or _provider_backend != BACKEND:
            _provider = anyio.from_thread.BlockingPortalProvider(backend=BACKEND)
            _provider_backend = BACKEND
        return _provider


async def _in_scopes(
    scopes: tuple[_handlers.HandlerScope, ...], func: Callable[..., Awaitable[T]], *args: Any
) -> T:
    with _handlers.entered(scopes):
        return await func(*args)


def _run(func: Callable[..., Awaitable[T]], *args: Any) -> T:
    scopes = getattr(_in_handler, "scopes", ())
    with _portals() as portal:
        result: T = portal.call(_in_scopes, scopes, func, *args)
        return result


class Instance:
    """A blocking handle on a :class:`beamr.Instance`; close it with ``with`` or
    :meth:`close`. While it is open, the background event loop runs."""

    def __init__(
        self, inner: beamr.Instance, portals: anyio.from_thread.BlockingPortalProvider
    ) -> None:
        self.aio = inner  #: the underlying async instance
        self._portals = portals
        portals.__enter__()  # the loop stays up while this instance is open
        self._finalizer = weakref.finalize(self, portals.__exit__, None, None, None)
        _open.add(self)

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

    @property
    def usable(self) -> bool:
        """See :attr:`beamr.Instance.usable`."""
        return self.aio.usable

    def signature(self, name: str) -> str:
        """See :meth:`beamr.Instance.signature`."""
        return self.aio.signature(name)

    def output(self) -> Output:
        """WASI stdout/stderr captured since the last call."""
        return _run(self.aio.output)

    def close(self) -> None:
        """Stop the worker (idempotent)."""
        if self._finalizer.alive:
            try:
                _run(self.aio.aclose)
            finally:
                self._finalizer()  # lets the loop go if this was the last instance

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


@atexit.register
def _close_all() -> None:
    """At exit: stop what is still open, so that the loop's thread can end."""
    for instance in list(_open):
        instance.close()


def _unwrap(wasm: Any) -> beamr.Instance:
    if isinstance(wasm, Instance):
        return wasm.aio
    raise TypeError(f"expected a beamr.sync.Instance, got {type(wasm).__name__}")


def _wrap_handler(handler: Callable[..., Any], holder: list[Instance]) -> Callable[..., Any]:
    async def run_in_thread(_: beamr.Instance, *args: Any) -> Any:
        scopes = _handlers.current()

        def in_thread() -> Any:
            _in_handler.scopes = scopes
            try:
                return handler(holder[0], *args)
            finally:
                _in_handler.scopes = ()

        # A thread of its own at every depth: anyio's default pool has 40 threads,
        # and nested handlers holding them all would deadlock.
        return await anyio.to_thread.run_sync(in_thread, limiter=anyio.CapacityLimiter(math.inf))

    return run_in_thread


def start(
    binary: bytes | bytearray | memoryview,
    *,
    imports: Mapping[str, Mapping[str, Any]] | None = None,
    wasi: bool | WasiConfig | None = None,
    limits: Limits | None = None,
    sandbox: bool = True,
) -> Instance:
    """Blocking :func:`beamr.start`. Handlers are plain functions ``(instance, *args)``."""
    holder: list[Instance] = []
    wrapped: dict[str, dict[str, Callable[..., Any]]] | None = None
    if imports is not None:
        _handlers.check_imports(imports)
        wrapped = {
            module: {name: _wrap_handler(h, holder) for name, h in funcs.items()}
            for module, funcs in imports.items()
        }
    portals = _portals()
    with portals as portal:  # held across the start: the instance then holds it

        async def go() -> beamr.Instance:
            return await beamr.start(
                binary, imports=wrapped, wasi=wasi, limits=limits, sandbox=sandbox
            )

        holder.append(Instance(portal.call(go), portals))
    return holder[0]


def call(wasm: Instance, name: str, args: Sequence[int | float] = ()) -> list[int | float]:
    """Blocking :func:`beamr.call`."""
    return _run(beamr.call, _unwrap(wasm), name, args)


def stop(wasm: Instance) -> None:
    """Blocking :func:`beamr.stop`; idempotent."""
    if not isinstance(wasm, Instance):
        raise TypeError(f"expected a beamr.sync.Instance, got {type(wasm).__name__}")
    wasm.close()


def serialize(wasm: Instance) -> bytes:
    """Blocking :func:`beamr.serialize`."""
    return _run(beamr.serialize, _unwrap(wasm))


def deserialize(wasm: Instance, snapshot: bytes | bytearray | memoryview) -> None:
    """Blocking :func:`beamr.deserialize`."""
    _run(beamr.deserialize, _unwrap(wasm), snapshot)


class _IO:
    """``beamr.sync.io``: the blocking counterparts of every name of :mod:`beamr.io`."""

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


def _shutdown() -> None:
    """Close every open instance (tests that switch backends between runs)."""
    _close_all()
