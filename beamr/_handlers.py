"""Import handlers: checking them, running them, and the scopes they run in.

While a handler runs, the wasm is suspended in the worker and the handler (and any
task it starts) may use the same instance: those commands go through a lock of their
own for that nesting level (its :class:`HandlerScope`), so a nested ``beamr.call``
works instead of deadlocking, while unrelated tasks still wait at the instance's lock.

A task finds the scopes it runs inside of in a context variable, across instances
(A's handler may call B, whose handler uses A: A's scope must still be found). Code
that carries work to another thread or task (``beamr.sync``) takes them along with
:func:`current` and :func:`entered`.
"""

from __future__ import annotations

import contextlib
import contextvars
import inspect
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import anyio

from beamr import protocol as p
from beamr._lock import FairLock
from beamr.types import check_signature_value, split_signature

__all__ = [
    "Handler",
    "HandlerScope",
    "Handlers",
    "ImportMap",
    "check_imports",
    "current",
    "entered",
]

Handler = Callable[..., Any]
#: module -> name -> handler. Values are typed loosely on purpose: a dict of
#: functions of different shapes is inferred as ``dict[str, function]``, which is not a
#: ``Callable``; every handler is checked when the instance starts.
ImportMap = Mapping[str, Mapping[str, Any]]


@dataclass(eq=False)
class HandlerScope:
    """The import handler being run for one instance at one nesting depth."""

    owner: object
    depth: int
    lock: FairLock
    active: bool = True
    #: cancelled when the instance is stopped: a handler never outlives its instance
    cancel: anyio.CancelScope | None = None


_scopes: contextvars.ContextVar[tuple[HandlerScope, ...]] = contextvars.ContextVar(
    "beamr_handler_scopes", default=()
)


def current() -> tuple[HandlerScope, ...]:
    """The handler scopes this task runs inside of, outermost first."""
    return _scopes.get()


@contextlib.contextmanager
def entered(scopes: tuple[HandlerScope, ...]) -> Iterator[None]:
    """Run the block inside ``scopes`` (taken with :func:`current` elsewhere)."""
    token = _scopes.set(scopes)
    try:
        yield
    finally:
        _scopes.reset(token)


def innermost(owner: object) -> HandlerScope | None:
    """The innermost active handler scope of ``owner`` this task is inside of."""
    for scope in reversed(_scopes.get()):
        if scope.owner is owner and scope.active:
            return scope
    return None


def check_imports(imports: ImportMap | None) -> dict[tuple[str, str], Handler]:
    """The ``imports=`` mapping as {(module, name): handler}; TypeError if malformed."""
    handlers: dict[tuple[str, str], Handler] = {}
    if imports is None:
        return handlers
    if not isinstance(imports, Mapping):
        raise TypeError("imports must map module names to {name: handler} mappings")
    for module, functions in imports.items():
        if not isinstance(module, str) or not isinstance(functions, Mapping):
            raise TypeError("imports must map module names (str) to {name: handler} mappings")
        for name, handler in functions.items():
            if not isinstance(name, str):
                raise TypeError(f"import names must be str, got {name!r} in {module!r}")
            if not callable(handler):
                raise TypeError(f"the handler for {module}.{name} is not callable")
            handlers[(module, name)] = handler
    return handlers


def results_of(value: Any, signature: str, qualified: str) -> list[int | float]:
    """A handler's return value, checked and converted by the import's result types."""
    _, chars = split_signature(signature)
    if value is None:
        values: list[Any] = []
    elif isinstance(value, int | float):
        values = [value]
    elif isinstance(value, Sequence) and not isinstance(value, str | bytes | bytearray):
        values = list(value)
    else:
        raise TypeError(
            f"a handler returns None, a number or a sequence of numbers, not {type(value).__name__}"
        )
    if len(values) != len(chars):
        raise TypeError(
            f"{qualified} must return {len(chars)} value(s) for signature {signature}, "
            f"got {len(values)}"
        )
    return [
        check_signature_value(char, item, f"{qualified} result {i}")
        for i, (char, item) in enumerate(zip(chars, values, strict=True))
    ]


Answer = p.ImportResponse | p.ImportFailed


class Handlers:
    """The handlers of one instance and the scopes open on it."""

    def __init__(self, owner: object, handlers: dict[tuple[str, str], Handler]) -> None:
        self._owner = owner
        self._handlers = handlers
        #: scopes open on this instance, outermost first
        self.open: list[HandlerScope] = []

    def handled(self) -> list[list[str]]:
        """The (module, name) pairs answered here, for the worker."""
        return [list(key) for key in self._handlers]

    async def run(
        self, request: p.ImportRequest, depth: int, on_stopped: Callable[[], None]
    ) -> tuple[Answer, BaseException | None]:
        """Run the handler for ``request`` at ``depth``: its answer, and the exception
        it raised (the cause of the error the call will raise). ``on_stopped`` is
        called if the instance was stopped meanwhile (it raises InstanceClosed)."""
        qualified = f"{request.module}.{request.name}"
        handler = self._handlers.get((request.module, request.name))
        if handler is None:  # the worker only asks for handled imports
            return p.ImportFailed("missing_import", f"{qualified} has no handler"), None
        scope = HandlerScope(self._owner, depth, FairLock(), cancel=anyio.CancelScope())
        self.open.append(scope)
        token = _scopes.set((*_scopes.get(), scope))
        try:
            assert scope.cancel is not None
            with scope.cancel:  # cancelled by stop: a handler never outlives its instance
                result = handler(self._owner, *request.args)
                if inspect.isawaitable(result):
                    result = await result
            if scope.cancel.cancelled_caught:
                on_stopped()
            converted = results_of(result, request.signature, qualified)
        except Exception as exc:
            await self.close(scope)
            text = f"import handler {qualified} raised {type(exc).__name__}: {exc}"
            return p.ImportFailed("import_handler_error", text), exc
        else:
            await self.close(scope)
        finally:
            # Closed, but left registered if tasks the handler started may still be
            # mid-command in it (cancellation): recovery waits for them, then drops it.
            scope.active = False
            _scopes.reset(token)
        return p.ImportResponse(converted), None

    async def close(self, scope: HandlerScope) -> None:
        """Wait for commands still in flight from tasks the handler started."""
        if scope.lock.locked():
            async with scope.lock:
                scope.active = False
        else:  # nothing in flight: no task can slip in between (no await here)
            scope.active = False
        with contextlib.suppress(ValueError):
            self.open.remove(scope)

    async def close_deeper(self, depth: int) -> None:
        """Close every scope deeper than ``depth`` (innermost first)."""
        for scope in reversed(list(self.open)):
            if scope.depth > depth:
                await self.close(scope)

    def stop(self) -> None:
        """The instance was stopped: wake every waiter and cancel every handler."""
        for scope in self.open:
            scope.lock.wake_all()
            if scope.cancel is not None:
                scope.cancel.cancel()


AwaitableAnswer = Awaitable[tuple[Answer, BaseException | None]]
