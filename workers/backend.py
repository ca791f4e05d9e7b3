"""The seam between the command loop and a WASM runtime.

A backend owns one module instance. The command loop (:mod:`workers.server`) speaks
the protocol and calls these methods; a backend raises :class:`CommandFailed` for
anything the parent should see as an error reply. Runtime exceptions never cross
this seam: each backend maps its runtime's errors at the boundary (the httpcore
``map_exceptions`` way; for wasmtime, :mod:`workers.wasmtime_raw`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

Number = int | float


class Host(Protocol):
    """What a backend reaches the command loop through, from inside the wasm."""

    def host_call(self, module: str, name: str, args: list[Number], signature: str) -> list[Number]:
        """The wasm called the import ``module.name``: the parent's answer."""
        ...

    def write_output(self, stream: int, data: bytes) -> None:
        """The wasm wrote ``data`` to WASI stdout (1) or stderr (2)."""
        ...


class CommandFailed(Exception):
    """An error the parent should see: ``[id, "error", kind, text, code, detail]``."""

    def __init__(
        self, kind: str, text: str, code: str | None = None, detail: list[Any] | None = None
    ) -> None:
        super().__init__(f"{kind}: {text}")
        self.kind = kind
        self.text = text
        self.code = code
        self.detail = detail


class Memory(Protocol):
    """The instance's linear memory, every bound checked (``out_of_bounds``)."""

    def size(self) -> int: ...
    def read(self, offset: int, size: int) -> bytes: ...
    def write(self, offset: int, data: bytes) -> None: ...
    def locate(self, offset: int, size: int, access: str) -> tuple[int, int]:
        """(address of ``offset`` in this process, memory size), range checked."""
        ...

    def read_string(self, offset: int, limit: int) -> bytes:
        """The bytes before the first NUL; ``too_large`` (detail: the length) past
        ``limit``."""
        ...


class Backend(Protocol):
    @property
    def imports(self) -> Sequence[tuple[str, str, str]]:
        """Function imports: (module, name, signature)."""

    @property
    def exports(self) -> Sequence[tuple[str, str, str]]:
        """Exports: (kind, name, signature)."""

    @property
    def memory(self) -> Memory: ...

    @property
    def globals(self) -> Sequence[tuple[str, str, str]]:
        """Exported globals: (name, type character, "mut" or "const")."""

    def link(self, options: Mapping[str, Any]) -> None:
        """Link the imports and set up WASI; before the sandbox closes."""
        ...

    def instantiate(self) -> None:
        """Instantiate the module: its start function and ``_initialize`` run."""
        ...

    def prepare_call(self, name: str, args: list[Number]) -> Callable[[], list[Number]]:
        """Check the export and the arguments; a thunk that runs the call."""
        ...

    def export_signature(self, name: str) -> str | None:
        """The signature of the exported function ``name``; None if there is none."""
        ...

    def get_global(self, name: str) -> Number: ...
    def set_global(self, name: str, value: Number) -> None: ...

    def arm(self, *, fresh_fuel: bool) -> None:
        """Set the interrupt deadline (and a fresh fuel budget) for wasm about to run.

        The command loop calls it under the same lock as :meth:`interrupt`."""
        ...

    def interrupt(self) -> None:
        """Thread-safe: make the running wasm trap with ``interrupt``."""
        ...
