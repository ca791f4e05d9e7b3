"""Every exception beamr raises on purpose derives from :class:`BeamrError`.

::

    BeamrError
    ├── InvalidModule        start: not a wasm binary, fails to compile or instantiate,
    │   │                    or needs more memory than Limits.memory_bytes allows
    │   └── StartTrapped     the start function or _initialize trapped (also a Trap)
    ├── ExportNotFound       call of a name the module does not export as a function
    ├── MissingImport        the wasm called an import that nobody handles
    ├── ImportHandlerError   a handler raised (original in __cause__) or returned bad values
    ├── Trap                 the wasm trapped; .code (e.g. "unreachable") and .message
    │   └── ProcExit         WASI proc_exit(n) during a call; .status == n, .code "exit"
    ├── OutOfBounds          read/write/read_string/deserialize past the memory
    ├── MallocFailed         malloc returned 0
    ├── CallTimeout          Limits.call_timeout passed (also a TimeoutError)
    ├── WorkerCrashed        the worker process died; .exitcode; every pending and later
    │   │                    command on the instance raises it (never hangs)
    │   └── ProtocolViolation  the worker sent something outside the protocol; it was killed
    ├── InstanceClosed       used after stop
    ├── SandboxError         start: the worker could not be confined as documented; the
    │                        module never ran (``sandbox=False`` opts out, explicitly)
    └── NestingTooDeep       a call would nest deeper than MAX_NESTING through handlers

Argument validation raises the builtins ``TypeError`` / ``ValueError`` before any I/O.

``InstanceClosed`` means *you* closed it; ``WorkerCrashed`` means it broke (the trio
distinction between ClosedResourceError and BrokenResourceError).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BeamrError",
    "CallTimeout",
    "ExportNotFound",
    "ImportHandlerError",
    "InstanceClosed",
    "InvalidModule",
    "MallocFailed",
    "MissingImport",
    "OutOfBounds",
    "ProcExit",
    "NestingTooDeep",
    "ProtocolViolation",
    "SandboxError",
    "StartTrapped",
    "Trap",
    "WorkerCrashed",
]


class BeamrError(Exception):
    """Root of beamr's exceptions."""

    def __reduce__(self) -> tuple[Any, ...]:
        # Exceptions pickle as cls(*args), which loses what an __init__ keeps beside
        # its message (ProcExit's status): the state travels whole instead (errors
        # cross process boundaries, beamr.cluster's among them).
        return (_restore, (type(self), self.args, dict(self.__dict__)))


def _restore(cls: type[BeamrError], args: tuple[Any, ...], state: dict[str, Any]) -> BeamrError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class InvalidModule(BeamrError):
    """The binary is not a wasm module, or it fails to compile or instantiate."""


class ExportNotFound(BeamrError):
    """The module exports no function of that name."""


class MissingImport(BeamrError):
    """The wasm called an import (``module.name``) that no handler answers."""

    def __init__(self, message: str, module: str = "", name: str = "") -> None:
        super().__init__(message)
        self.module = module
        self.name = name


class ImportHandlerError(BeamrError):
    """An import handler raised (see ``__cause__``) or returned unusable values."""


class Trap(BeamrError):
    """The wasm trapped. ``code`` is wasmtime's trap code in snake_case."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" if self.code else self.message


class ProcExit(Trap):
    """The wasm called WASI ``proc_exit(status)`` during a call (``code == "exit"``).
    :func:`beamr.run` turns it into the program's status; the instance stays usable."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message, "exit")
        self.status = status


class StartTrapped(InvalidModule, Trap):
    """The start function or ``_initialize`` trapped (``code``: e.g. "unreachable",
    "out_of_fuel"): the module could not start. Both an InvalidModule and a Trap."""


class OutOfBounds(BeamrError):
    """A memory access outside the instance's linear memory; nothing was changed."""


class MallocFailed(BeamrError):
    """The module's ``malloc`` returned 0."""


class CallTimeout(BeamrError, TimeoutError):
    """The call ran past ``Limits.call_timeout`` and was interrupted."""


class WorkerCrashed(BeamrError):
    """The worker process died. ``exitcode`` is its exit status, ``-N`` for signal N."""

    def __init__(self, message: str, exitcode: int | None = None) -> None:
        super().__init__(message)
        self.exitcode = exitcode


class ProtocolViolation(WorkerCrashed):
    """The worker sent a frame outside the protocol; it was killed."""


class InstanceClosed(BeamrError):
    """The instance was stopped."""


class SandboxError(BeamrError):
    """The worker could not be confined as documented, so the module never ran.

    Raised by ``start`` (no worker is left). Where the platform cannot confine a
    worker at all, ``beamr.start(..., sandbox=False)`` runs it unconfined: an
    explicit choice, never a fallback."""


class NestingTooDeep(BeamrError):
    """A call would nest deeper than ``beamr.MAX_NESTING`` (wasm -> import handler ->
    call -> ...). Nothing was sent: the calls below it are unaffected."""


class TooLargeForAFrame(BeamrError):
    """Internal: the worker's answer would not fit one frame (``too_large``); the
    parent then fetches it another way. Never raised to callers."""

    def __init__(self, message: str, size: int) -> None:
        super().__init__(message)
        self.size = size


_BY_KIND: dict[str, type[BeamrError]] = {
    "invalid_module": InvalidModule,
    "export_not_found": ExportNotFound,
    "import_handler_error": ImportHandlerError,
    "out_of_bounds": OutOfBounds,
    "sandbox": SandboxError,
    "nesting_too_deep": NestingTooDeep,
    "timeout": CallTimeout,
    "malloc_failed": MallocFailed,
}


def error_for(kind: str, text: str, code: str | None, detail: list[Any] | None) -> Exception:
    """The exception for a worker's error reply (the one place they are mapped)."""
    if kind == "trap":
        if code == "exit" and detail and len(detail) == 1 and type(detail[0]) is int:
            return ProcExit(text, detail[0])
        return Trap(text, code)
    if kind == "invalid_module" and code is not None:
        return StartTrapped(text, code)
    if kind == "missing_import":
        if detail and len(detail) == 2 and all(isinstance(part, str) for part in detail):
            return MissingImport(text, detail[0], detail[1])
        return MissingImport(text)
    if kind == "too_large" and detail and len(detail) == 1 and type(detail[0]) is int:
        return TooLargeForAFrame(text, detail[0])
    if kind == "bad_argument":
        return BeamrError(f"the worker refused the arguments: {text}")
    if kind == "type_error":  # a value of the wrong type for what it is meant for
        return TypeError(text)
    return _BY_KIND.get(kind, BeamrError)(text)
