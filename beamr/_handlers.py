"""Import handlers: checking them, running them, and the scopes they run in.

``imports=`` is a mapping ``{module: {name: handler}}`` or one callable, a resolver
``(instance, module, name, args, signature)`` answering every import (HyperBEAM's
ImportFun). A handler given as a string ``"package.module:function"`` runs in the
worker (:mod:`workers.host_context`); only the place to import it from is found here.

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
import importlib.util
import inspect
import os
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio

from beamr import protocol as p
from beamr._lock import FairLock
from beamr.types import results_of

__all__ = [
    "Handler",
    "HandlerScope",
    "Handlers",
    "ImportMap",
    "ImportPlan",
    "Resolver",
    "check_imports",
    "current",
    "entered",
]

Handler = Callable[..., Any]
#: module -> name -> handler. Values are typed loosely on purpose: a dict of
#: functions of different shapes is inferred as ``dict[str, function]``, which is not a
#: ``Callable``; every handler is checked when the instance starts.
ImportMap = Mapping[str, Mapping[str, Any]]
#: one callable for every import: ``(instance, module, name, args, signature)``
Resolver = Callable[[Any, str, str, list[int | float], str], Any]
#: "package.module:function" (the function may be dotted: "module:Class.method")
_WORKER_HANDLER = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")


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


@dataclass
class ImportPlan:
    """Who answers which import: parent handlers, in-worker handlers, a resolver."""

    handlers: dict[tuple[str, str], Handler] = field(default_factory=dict)
    #: (module, name) -> "package.module:function", run in the worker
    in_worker: dict[tuple[str, str], str] = field(default_factory=dict)
    resolver: Resolver | None = None
    #: where the worker finds the in-worker handlers' modules
    paths: list[str] = field(default_factory=list)

    def wire(self) -> dict[str, Any]:
        """The worker's part of it (``init`` options)."""
        return {
            "handled_imports": [list(key) for key in self.handlers],
            "worker_handlers": [[m, n, spec] for (m, n), spec in self.in_worker.items()],
            "handler_paths": self.paths,
            "handle_all": self.resolver is not None,
        }


def check_imports(imports: ImportMap | Resolver | None) -> ImportPlan:
    """``imports=`` checked and sorted by who answers; TypeError/ValueError if malformed."""
    plan = ImportPlan()
    if imports is None:
        return plan
    if not isinstance(imports, Mapping):
        if not callable(imports):
            raise TypeError(
                "imports must map module names to {name: handler} mappings, or be one "
                "callable (a resolver answering every import)"
            )
        plan.resolver = imports
        return plan
    for module, functions in imports.items():
        if not isinstance(module, str) or not isinstance(functions, Mapping):
            raise TypeError("imports must map module names (str) to {name: handler} mappings")
        for name, handler in functions.items():
            if not isinstance(name, str):
                raise TypeError(f"import names must be str, got {name!r} in {module!r}")
            if isinstance(handler, str):
                plan.in_worker[(module, name)] = handler
                path = _import_path(handler, f"{module}.{name}")
                if path is not None and path not in plan.paths:
                    plan.paths.append(path)
            elif callable(handler):
                plan.handlers[(module, name)] = handler
            else:
                raise TypeError(f"the handler for {module}.{name} is not callable")
    return plan


def _import_path(spec: str, qualified: str) -> str | None:
    """The ``sys.path`` entry this process would import ``spec``'s module from (None:
    built in); nothing is imported here."""
    if not _WORKER_HANDLER.fullmatch(spec):
        raise ValueError(
            f"the handler for {qualified} is {spec!r}: a string handler is "
            "'package.module:function'"
        )
    top = spec.partition(":")[0].split(".")[0]
    found = importlib.util.find_spec(top)
    if found is None:
        raise ValueError(f"the handler for {qualified}: no module {top!r} on sys.path")
    if found.submodule_search_locations:  # a package: the directory holding it
        return os.path.dirname(os.path.abspath(next(iter(found.submodule_search_locations))))
    if found.origin and found.has_location:
        return os.path.dirname(os.path.abspath(found.origin))
    return None


Answer = p.ImportResponse | p.ImportFailed


class Handlers:
    """The handlers of one instance and the scopes open on it."""

    def __init__(self, owner: object, plan: ImportPlan) -> None:
        self._owner = owner
        self._handlers = plan.handlers
        self._resolver = plan.resolver
        #: scopes open on this instance, outermost first
        self.open: list[HandlerScope] = []

    async def run(
        self, request: p.ImportRequest, depth: int, on_stopped: Callable[[], None]
    ) -> tuple[Answer, BaseException | None]:
        """Run the handler for ``request`` at ``depth``: its answer, and the exception
        it raised (the cause of the error the call will raise). ``on_stopped`` is
        called if the instance was stopped meanwhile (it raises InstanceClosed)."""
        qualified = f"{request.module}.{request.name}"
        handler = self._handlers.get((request.module, request.name))
        if handler is None and self._resolver is not None:
            resolver, module, name = self._resolver, request.module, request.name

            def handler(owner: object, *args: int | float) -> Any:
                return resolver(owner, module, name, list(args), request.signature)

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
