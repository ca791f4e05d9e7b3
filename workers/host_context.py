"""Import handlers that run inside the worker, given as ``"package.module:function"``.

The handler is imported while the worker is being set up, before the sandbox closes
(imports read files, which the sandbox then forbids: a handler must import what it
needs at module level). It runs on the wasm's own thread, as ``fn(ctx, *args)``, with
no round trip to the parent: ``ctx`` is a :class:`HostContext` on the calling instance.
It returns what a parent handler returns (None, a number, or a sequence of numbers),
checked against the import's signature; whatever it raises becomes an
:class:`~beamr.ImportHandlerError` of the call, with its text and traceback.
"""

from __future__ import annotations

import importlib
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any, Final

from beamr.errors import MallocFailed, error_for
from beamr.types import results_of
from workers import wasmtime_raw as raw
from workers.backend import CommandFailed, Number
from workers.linear_memory import LinearMemory

__all__ = ["HostContext", "in_worker", "load"]

#: the longest string ``read_string`` returns (as one frame would carry)
READ_STRING_LIMIT: Final = 64 << 20
#: how much of a failing handler's traceback reaches the caller
TRACEBACK_CHARS: Final = 4000

Call = Callable[[str, list[Number]], list[Number]]


def _mapped(exc: CommandFailed) -> Exception:
    return error_for(exc.kind, exc.text, exc.code, exc.detail)


class HostContext:
    """The instance an in-worker handler runs for: its memory and its exports.

    Every method checks its arguments and bounds as :mod:`beamr.io` does, raising the
    same exceptions (``OutOfBounds``, ``MallocFailed``, ``ExportNotFound``, ``Trap``,
    ``TypeError``, ``ValueError``)."""

    __slots__ = ("_call", "_memory")

    def __init__(self, memory: LinearMemory, call: Call) -> None:
        self._memory = memory
        self._call = call

    def size(self) -> int:
        """The memory's size in bytes (0 without a memory)."""
        return self._memory.size()

    def read(self, offset: int, size: int) -> bytes:
        _check_ints(offset=offset, size=size)
        return self._io(self._memory.read, offset, size)  # type: ignore[no-any-return]

    def write(self, offset: int, data: bytes | bytearray | memoryview) -> None:
        _check_ints(offset=offset)
        if isinstance(data, str) or not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"data must be bytes-like, got {type(data).__name__}")
        self._io(self._memory.write, offset, bytes(data))

    def read_string(self, offset: int) -> bytes:
        """The bytes at ``offset`` before the first NUL."""
        _check_ints(offset=offset)
        return self._io(self._memory.read_string, offset, READ_STRING_LIMIT)  # type: ignore[no-any-return]

    def write_string(self, data: bytes | str) -> int:
        """``malloc`` a block, write ``data`` and a NUL into it; its pointer."""
        raw_data = data.encode() if isinstance(data, str) else data
        if not isinstance(raw_data, bytes | bytearray | memoryview):
            raise TypeError(f"data must be str or bytes-like, got {type(data).__name__}")
        raw_data = bytes(raw_data)
        if b"\0" in raw_data:
            raise ValueError("data contains a NUL byte: it could not be read back")
        pointer = self.malloc(len(raw_data) + 1)
        try:
            self.write(pointer, raw_data + b"\0")
        except BaseException:
            self.free(pointer)
            raise
        return pointer

    def malloc(self, size: int) -> int:
        _check_ints(size=size)
        (pointer,) = self.call("malloc", size)
        if not pointer:
            raise MallocFailed(f"malloc({size}) returned 0")
        return int(pointer) & ((1 << 64) - 1)

    def free(self, pointer: int) -> None:
        _check_ints(pointer=pointer)
        self.call("free", pointer)

    def call(self, name: str, *args: Number) -> list[Number]:
        """Call the instance's export ``name`` (nested inside the running call)."""
        if not isinstance(name, str):
            raise TypeError(f"the export name must be a str, got {type(name).__name__}")
        try:
            return self._call(name, list(args))
        except CommandFailed as exc:
            raise _mapped(exc) from None
        finally:
            self._memory.forget_view()  # the wasm may have grown (or moved) its memory

    def _io(self, method: Callable[..., Any], *args: Any) -> Any:
        try:
            return method(*args)
        except CommandFailed as exc:
            raise _mapped(exc) from None


def _check_ints(**values: Any) -> None:
    for name, value in values.items():
        if type(value) is not int:
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
        if value < 0:
            raise ValueError(f"{name} must not be negative, got {value}")


def load(spec: str, paths: Sequence[str], qualified: str) -> Callable[..., Any]:
    """The function ``spec`` names (``"package.module:function"``), found on ``paths``
    (the parent's places for it) after the worker's own modules."""
    module_name, _, attribute = spec.partition(":")
    for path in paths:
        if path not in sys.path:
            sys.path.append(path)  # after the worker's own: nothing of ours is shadowed
    try:
        found: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            found = getattr(found, part)
    except Exception as exc:
        raise CommandFailed(
            "import_handler_error",
            f"cannot load the handler {spec!r} for {qualified}: {type(exc).__name__}: {exc}",
        ) from None
    if not callable(found):
        raise CommandFailed(
            "import_handler_error", f"the handler {spec!r} for {qualified} is not callable"
        )
    return found  # type: ignore[no-any-return]


def in_worker(
    handler: Callable[..., Any],
    context: HostContext,
    qualified: str,
    signature: str,
    results: list[str],
) -> Callable[..., Any]:
    """The host function answering an import with ``handler(context, *args)``."""
    memory = context._memory

    def answer(*args: Any) -> Any:
        memory.forget_view()  # the wasm ran since the last look at its memory
        try:
            value = handler(context, *args)
            checked = results_of(value, signature, qualified)
        except Exception as exc:
            text = "".join(traceback.format_exception(exc))[-TRACEBACK_CHARS:]
            raise CommandFailed(
                "import_handler_error",
                f"import handler {qualified} raised {type(exc).__name__}: {exc}\n{text}",
            ) from None
        finally:
            memory.forget_view()
        converted = [
            raw.to_wasm(kind, item, f"{qualified} result")
            for kind, item in zip(results, checked, strict=True)
        ]
        if not converted:
            return None
        return converted[0] if len(converted) == 1 else converted

    return answer
