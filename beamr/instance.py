"""The Instance: a running wasm module in its own worker process.

The machinery that talks to the worker (one lock, one command in flight, cancellation
and recovery) is :class:`beamr._actor.WorkerActor`; this is what callers see: the
module's imports and exports, calls, globals and WASI output.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Any

from beamr import protocol as p
from beamr._actor import STOP_GRACE, Send, WorkerActor
from beamr._output import Listener
from beamr.errors import CallTimeout, ExportNotFound
from beamr.types import (
    DEFAULT_OUTPUT_LIMIT,
    Export,
    Import,
    Output,
    check_call_arguments,
    check_signature_value,
    convert_call_arguments,
    split_signature,
)

__all__ = ["STOP_GRACE", "Instance", "Send"]

Number = int | float


class Instance(WorkerActor):
    """A running WASM instance in its own worker process.

    Create it with :func:`beamr.start`; end it with :func:`beamr.stop`,
    ``await instance.aclose()`` or ``async with instance:``.
    """

    exports: tuple[Export, ...] = ()
    imports: tuple[Import, ...] = ()
    _functions: dict[str, str] = {}  # noqa: RUF012 - replaced per instance by describe()
    #: exported globals: name -> (type character, mutable)
    _globals: dict[str, tuple[str, bool]] = {}  # noqa: RUF012 - as above
    _last_dropped: tuple[int, int] = (0, 0)
    #: False while a module started with ``instantiate: false`` waits for instantiate()
    instantiated: bool = True

    @property
    def call_timeout(self) -> float | None:
        """``Limits.call_timeout`` of this instance."""
        return self._limits.call_timeout

    def signature(self, name: str) -> str:
        """The signature of the exported function ``name`` (``"(ii)i"``);
        ExportNotFound if there is none."""
        try:
            return self._functions[name]
        except KeyError:
            raise ExportNotFound(f"the module exports no function named {name!r}") from None

    def global_types(self) -> dict[str, tuple[str, bool]]:
        """The exported globals: name -> (type character, mutable)."""
        return dict(self._globals)

    def describe(self, description: tuple[p.Entries, p.Entries, p.Entries]) -> None:
        """Take the module's imports, exports and globals (the ``init`` reply)."""
        raw_imports, raw_exports, raw_globals = description
        self.imports = tuple(Import(*entry) for entry in raw_imports)
        self.exports = tuple(Export(*entry) for entry in raw_exports)
        self._functions = {e.name: e.signature for e in self.exports if e.kind == "func"}
        self._globals = {name: (char, mut == "mut") for name, char, mut in raw_globals}

    def __repr__(self) -> str:
        state = "closed" if self._closed else "crashed" if self._crash else "running"
        return f"<beamr.Instance pid={self.pid} {state}>"

    async def __aenter__(self) -> Instance:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def instantiate(
        self, options: dict[str, Any], *, output_limit: int = DEFAULT_OUTPUT_LIMIT
    ) -> None:
        """Instantiate a module started with ``instantiate: false`` (a pool's), with
        ``options`` completing its start options (``{"wasi": ...}``)."""
        if self.instantiated:
            raise RuntimeError("this instance is instantiated already")
        self._output.limit = output_limit
        await self.request(p.Instantiate(options))
        self.instantiated = True

    # ---------------------------------------------------------------------- output

    @property
    def on_output(self) -> Listener | None:
        """A listener for WASI output: called with ``("stdout" | "stderr", data)`` for
        each chunk as the wasm writes it (sync or async; what it raises ends the call
        that was running). While one is set, output goes to it and is not kept."""
        return self._output.listener

    @on_output.setter
    def on_output(self, listener: Listener | None) -> None:
        if listener is not None and not callable(listener):
            raise TypeError("on_output must be a callable or None")
        self._output.listener = listener

    async def output(self) -> Output:
        """Take the WASI stdout and stderr kept since the last time (no round trip to
        the worker: it sends output as the wasm writes it). Each stream keeps up to
        ``WasiConfig.output_limit`` bytes; see :attr:`dropped_output`."""
        output, self._last_dropped = self._output.take()
        return output

    @property
    def dropped_output(self) -> tuple[int, int]:
        """Bytes of (stdout, stderr) missing from what :meth:`output` returned last:
        written past the output limit, and dropped."""
        return self._last_dropped

    # ----------------------------------------------------------------------- calls

    async def call(self, name: str, args: Sequence[Number] = ()) -> list[Number]:
        """Call the exported function ``name``; see :func:`beamr.call`."""
        check_call_arguments(name, args)  # types first, before any lookup
        self._check_usable()
        signature = self.signature(name)
        converted = convert_call_arguments(name, signature, args)
        results = split_signature(signature)[1]
        timeout = self._limits.call_timeout
        try:
            values = await self.request(p.Call(name, converted), time_limit=timeout)
        except CallTimeout:
            raise CallTimeout(f"{name} ran longer than {timeout}s and was interrupted") from None
        if len(values) != len(results):
            await self.violation(f"{name}{signature} answered {len(values)} results")
        return values

    # --------------------------------------------------------------------- globals

    def _global(self, name: Any) -> tuple[str, bool]:
        if not isinstance(name, str):
            raise TypeError(f"the global's name must be a str, got {type(name).__name__}")
        try:
            return self._globals[name]
        except KeyError:
            raise ExportNotFound(f"the module exports no global named {name!r}") from None

    async def get_global(self, name: str) -> Number:
        """The value of the exported global ``name``; i32/i64 come back signed."""
        char, _ = self._global(name)
        if char not in ("i", "I", "f", "F"):
            raise TypeError(f"global {name!r} is not a number: it cannot cross to Python")
        value = await self.request(p.GetGlobal(name))
        if (char in ("i", "I")) != (type(value) is int):
            await self.violation(f"global {name!r} of type {char} answered {value!r}")
        return value

    async def set_global(self, name: str, value: Number) -> None:
        """Set the exported mutable global ``name``, checked by its type as a call's
        arguments are (an int for i32/i64, in range; an int for f32/f64 is converted)."""
        char, mutable = self._global(name)
        if not mutable:
            raise TypeError(f"global {name!r} is immutable")
        converted = check_signature_value(char, value, f"global {name!r}")
        await self.request(p.SetGlobal(name, converted))
