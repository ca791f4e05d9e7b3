"""A blocking facade over beamr, for scripts and notebooks that are not async.

The same names as the async API, without ``await``::

    import beamr.sync as bs

    with bs.start(binary, imports={"env": {"log": log}}) as wasm:
        ptr = bs.io.write_string(wasm, "hello")
        print(bs.call(wasm, "str_len", [ptr]))

    done = bs.run(program, args=["prog"], stdin=b"input")     # a beamr.Completed
    with bs.Pool(program, wasi=True) as pool:
        done = pool.run(args=["prog", "-v"])

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
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

import anyio
import anyio.from_thread
import anyio.to_thread

import beamr
from beamr import _handlers
from beamr import io as _aio
from beamr._output import Listener
from beamr.programs import run_command
from beamr.types import DEFAULT_OUTPUT_LIMIT, Completed, Export, Import, Limits, Output, WasiConfig

__all__ = [
    "BACKEND",
    "Instance",
    "Pool",
    "call",
    "deserialize",
    "get_global",
    "io",
    "run",
    "serialize",
    "set_global",
    "start",
    "stop",
]

T = TypeVar("T")
BACKEND = "asyncio"

_lock = threading.Lock()
_provider: anyio.from_thread.BlockingPortalProvider | None = None
_provider_backend = ""
#: in a handler's thread: the handler scopes it runs in (see beamr._handlers)
_in_handler = threading.local()
_open: weakref.WeakSet[Instance] = weakref.WeakSet()
#: the blocking handle of each async instance, for the handlers it calls
_views: weakref.WeakKeyDictionary[beamr.Instance, Instance] = weakref.WeakKeyDictionary()


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


#: per portal: the cheapest way into its event loop from another thread
_hops: weakref.WeakKeyDictionary[anyio.from_thread.BlockingPortal, Callable[..., Any]] = (
    weakref.WeakKeyDictionary()
)


def _hop(portal: anyio.from_thread.BlockingPortal) -> Callable[..., Any]:
    """``hop(async_fn, *args)``: run it on the portal's loop and wait for it. The
    portal's own ``call`` starts a task in its task group for every call; the loop's
    native thread bridge costs half of that, and a call is what is measured here."""
    hop = _hops.get(portal)
    if hop is not None:
        return hop
    if _provider_backend == "asyncio":
        import asyncio

        loop = portal.call(asyncio.get_running_loop)

        def hop(func: Callable[..., Coroutine[Any, Any, Any]], *args: Any) -> Any:
            return asyncio.run_coroutine_threadsafe(func(*args), loop).result()

    elif _provider_backend == "trio":
        import trio

        token = portal.call(trio.lowlevel.current_trio_token)

        def hop(func: Callable[..., Awaitable[Any]], *args: Any) -> Any:
            return trio.from_thread.run(func, *args, trio_token=token)

    else:  # pragma: no cover - anyio's backends are these two
        hop = portal.call
    _hops[portal] = hop
    return hop


def _run(func: Callable[..., Awaitable[T]], *args: Any) -> T:
    scopes = getattr(_in_handler, "scopes", ())
    with _portals() as portal:
        result: T = _hop(portal)(_in_scopes, scopes, func, *args)
        return result


class Instance:
    """A blocking handle on a :class:`beamr.Instance`; close it with ``with`` or
    :meth:`close`. While it is open, the background event loop runs."""

    def __init__(
        self, inner: beamr.Instance, portals: anyio.from_thread.BlockingPortalProvider | None
    ) -> None:
        self.aio = inner  #: the underlying async instance
        _views[inner] = self
        self._finalizer: Any
        if portals is None:  # a pool's instance: the pool keeps the loop up
            self._finalizer = weakref.finalize(self, lambda: None)
            return
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
        """WASI stdout/stderr kept since the last call (:meth:`beamr.Instance.output`)."""
        return _run(self.aio.output)

    @property
    def dropped_output(self) -> tuple[int, int]:
        """See :attr:`beamr.Instance.dropped_output`."""
        return self.aio.dropped_output

    @property
    def on_output(self) -> Listener | None:
        """See :attr:`beamr.Instance.on_output`; the listener runs on the event loop's
        thread, so it should be quick."""
        return self.aio.on_output

    @on_output.setter
    def on_output(self, listener: Listener | None) -> None:
        self.aio.on_output = listener

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


def _view(inner: beamr.Instance) -> Instance:
    view = _views.get(inner)
    return view if view is not None else Instance(inner, None)


def _wrap_handler(handler: Callable[..., Any]) -> Callable[..., Any]:
    async def run_in_thread(inner: beamr.Instance, *args: Any) -> Any:
        scopes = _handlers.current()
        wasm = _view(inner)

        def in_thread() -> Any:
            _in_handler.scopes = scopes
            try:
                return handler(wasm, *args)
            finally:
                _in_handler.scopes = ()

        # A thread of its own at every depth: anyio's default pool has 40 threads,
        # and nested handlers holding them all would deadlock.
        return await anyio.to_thread.run_sync(in_thread, limiter=anyio.CapacityLimiter(math.inf))

    return run_in_thread


def _wrap_imports(imports: Any) -> Any:
    """``imports=`` with every callable run in a thread of its own (strings, which run
    in the worker, as they are)."""
    if imports is None:
        return None
    plan = _handlers.check_imports(imports)  # the same checks and errors as beamr.start
    if plan.resolver is not None:
        return _wrap_handler(plan.resolver)
    return {
        module: {name: h if isinstance(h, str) else _wrap_handler(h) for name, h in funcs.items()}
        for module, funcs in imports.items()
    }


def start(
    binary: bytes | bytearray | memoryview,
    *,
    imports: Mapping[str, Mapping[str, Any]] | Callable[..., Any] | None = None,
    wasi: bool | WasiConfig | None = None,
    limits: Limits | None = None,
    sandbox: bool = True,
) -> Instance:
    """Blocking :func:`beamr.start`. Handlers (and a resolver) are plain functions
    ``(instance, *args)``, called in a thread of their own; string handlers run in the
    worker as with :func:`beamr.start`."""
    wrapped = _wrap_imports(imports)
    portals = _portals()
    with portals as portal:  # held across the start: the instance then holds it

        async def go() -> beamr.Instance:
            return await beamr.start(
                binary, imports=wrapped, wasi=wasi, limits=limits, sandbox=sandbox
            )

        return Instance(portal.call(go), portals)


def run(
    binary: bytes | bytearray | memoryview,
    *,
    args: Sequence[str] = (),
    stdin: bytes | bytearray | memoryview | None = None,
    env: Mapping[str, str] | None = None,
    dirs: Mapping[str, str] | None = None,
    limits: Limits | None = None,
    imports: Mapping[str, Mapping[str, Any]] | Callable[..., Any] | None = None,
    on_output: Listener | None = None,
    output_limit: int = DEFAULT_OUTPUT_LIMIT,
    sandbox: bool = True,
) -> Completed:
    """Blocking :func:`beamr.run` (``on_output`` runs on the event loop's thread)."""
    config = WasiConfig(
        args=args, env=dict(env or {}), dirs=dict(dirs or {}), stdin=stdin,
        output_limit=output_limit,
    )  # fmt: skip
    with start(binary, imports=imports, wasi=config, limits=limits, sandbox=sandbox) as wasm:
        return _run(run_command, wasm.aio, on_output)


def get_global(wasm: Instance, name: str) -> int | float:
    """Blocking :func:`beamr.get_global`."""
    return _run(beamr.get_global, _unwrap(wasm), name)


def set_global(wasm: Instance, name: str, value: int | float) -> None:
    """Blocking :func:`beamr.set_global`."""
    _run(beamr.set_global, _unwrap(wasm), name, value)


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

    @staticmethod
    def batch(wasm: Instance, ops: Sequence[_aio.Op]) -> list[Any]:
        """Blocking :func:`beamr.io.batch`."""
        return _run(_aio.batch, _unwrap(wasm), ops)

    #: the ops of a batch (:class:`beamr.io.Op`)
    Op = _aio.Op


io = _IO()


def _shutdown() -> None:
    """Close every open instance (tests that switch backends between runs)."""
    _close_all()


from beamr._sync_pool import Pool  # noqa: E402 - it uses this module
