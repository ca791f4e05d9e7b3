"""Plain data of the public API: exports, imports, limits, WASI settings."""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from beamr.protocol.constants import NUMBER_CHARS, SIGNATURE_CHARS

__all__ = [
    "DEFAULT_OUTPUT_LIMIT",
    "Completed",
    "Export",
    "Import",
    "Limits",
    "Output",
    "WasiConfig",
    "HostContext",
    "check_signature_value",
    "results_of",
]

#: the number types by their signature character (beamr.protocol's alphabet)
TYPE_CHARS = {char: name for name, char in SIGNATURE_CHARS.items() if char in NUMBER_CHARS}
INT_RANGES = {"i": (-(1 << 31), (1 << 32) - 1), "I": (-(1 << 63), (1 << 64) - 1)}


class Export(NamedTuple):
    """An export: ``kind`` is "func", "memory", "global" or "table"."""

    kind: str
    name: str
    #: ``"(ii)i"`` for a function, ``""`` for anything else
    signature: str


class Import(NamedTuple):
    """A function import of the module."""

    module: str
    name: str
    signature: str


class Output(NamedTuple):
    """WASI output captured since the last time it was taken."""

    stdout: bytes
    stderr: bytes


class HostContext(Protocol):
    """What an in-worker handler (``imports={"env": {"f": "pkg.mod:f"}}``) gets as its
    first argument: the calling instance, inside the worker. It offers :mod:`beamr.io`'s
    operations, synchronously, with the same checks and errors, and nested calls."""

    def size(self) -> int:
        """The memory's size in bytes (0 without a memory)."""
        ...

    def read(self, offset: int, size: int) -> bytes: ...
    def write(self, offset: int, data: bytes | bytearray | memoryview) -> None: ...

    def read_string(self, offset: int) -> bytes:
        """The bytes at ``offset`` before the first NUL."""
        ...

    def write_string(self, data: bytes | str) -> int:
        """``malloc`` a block, write ``data`` and a NUL; its pointer."""
        ...

    def malloc(self, size: int) -> int: ...
    def free(self, pointer: int) -> None: ...

    def call(self, name: str, *args: int | float) -> list[int | float]:
        """Call an export of the same instance (nested in the running call)."""
        ...


class Completed(NamedTuple):
    """A WASI program's end (:func:`beamr.run`), as ``subprocess.CompletedProcess``."""

    #: the status it passed to ``proc_exit``; 0 when ``_start`` returned
    status: int
    stdout: bytes
    stderr: bytes
    #: whether stdout (stderr) went past ``WasiConfig.output_limit``: what is here is
    #: its beginning, the rest was dropped
    stdout_truncated: bool = False
    stderr_truncated: bool = False


@functools.lru_cache(maxsize=1024)
def split_signature(signature: str) -> tuple[str, str]:
    """``"(ii)i"`` -> ``("ii", "i")``."""
    if not signature.startswith("(") or ")" not in signature:
        raise ValueError(f"malformed signature {signature!r}")
    params, _, results = signature[1:].partition(")")
    return params, results


def check_signature_value(char: str, value: Any, what: str) -> int | float:
    """Check one number against a signature character; return it converted.

    bool is not a number here; an int for f32/f64 becomes a float; a float for
    i32/i64 is a TypeError; an int out of range for its type is a ValueError.
    """
    if type(value) is bool or not isinstance(value, int | float):
        raise TypeError(f"{what} must be a number, got {type(value).__name__}")
    if char in INT_RANGES:
        if not isinstance(value, int):
            raise TypeError(f"{what} is {TYPE_CHARS[char]}: an int is needed, got {value!r}")
        low, high = INT_RANGES[char]
        if not low <= value <= high:
            raise ValueError(f"{what} = {value} is out of range for {TYPE_CHARS[char]}")
        return int(value)
    if char in ("f", "F"):
        if isinstance(value, int):
            try:
                return float(value)
            except OverflowError:
                raise ValueError(f"{what} = {value} is too large for {TYPE_CHARS[char]}") from None
        return float(value)
    raise TypeError(f"{what}: values of wasm type {char!r} cannot be passed from Python")


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


#: the address space of a process on the machines beamr runs on (48 bits)
MAX_BYTES = 1 << 48
#: wasmtime's fuel is a signed 64-bit count
MAX_FUEL = (1 << 63) - 1


def check_call_arguments(name: Any, args: Any) -> None:
    """The types of a call's name and arguments (before the export is looked up)."""
    if not isinstance(name, str):
        raise TypeError(f"the export name must be a str, got {type(name).__name__}")
    if isinstance(args, str | bytes | bytearray) or not isinstance(args, Sequence):
        raise TypeError(f"args must be a list of numbers, got {type(args).__name__}")
    for i, value in enumerate(args):
        if type(value) is bool or not isinstance(value, int | float):
            raise TypeError(f"argument {i} of {name} must be a number, got {type(value).__name__}")


def convert_call_arguments(name: str, signature: str, args: Sequence[Any]) -> list[int | float]:
    """The arguments checked and converted by the export's signature; a function whose
    params or results cannot cross to Python is refused here (TypeError)."""
    params, results = split_signature(signature)
    if len(args) != len(params):
        raise TypeError(f"{name}{signature} takes {len(params)} arguments, got {len(args)}")
    converted = [
        check_signature_value(char, value, f"argument {i} of {name}")
        for i, (char, value) in enumerate(zip(params, args, strict=True))
    ]
    if not set(results) <= set(TYPE_CHARS):
        raise TypeError(
            f"{name}{signature} returns values that cannot cross to Python "
            "(only i32, i64, f32 and f64 can)"
        )
    return converted


@dataclass(frozen=True)
class Limits:
    """Per-instance limits. ``None`` means unlimited.

    - ``memory_bytes``: one budget for the instance's linear memories and tables
      together; ``memory.grow`` past it fails inside the wasm (a C malloc then
      returns 0); a module whose declared sizes exceed it is rejected with
      ``InvalidModule``. Tables count 8 bytes an element, beyond a free 64 KiB;
      a table may grow at run time only within that free allowance.
    - ``fuel``: instruction budget per (outermost) call, shared by the calls nested
      in it; exhausted -> ``Trap`` with ``code == "out_of_fuel"``.
    - ``call_timeout``: seconds per call; past it the wasm is interrupted and the
      call raises ``CallTimeout``. The instance stays usable. It also bounds the
      start function and ``_initialize`` (together): past it, ``start`` raises
      ``CallTimeout`` and no worker is left.
    """

    memory_bytes: int | None = None
    fuel: int | None = None
    call_timeout: float | None = None
    #: OS-level guard: RLIMIT_DATA of the worker process (its private writable
    #: memory, wasm memory included). Default: memory_bytes + 1 GiB, or 8 GiB.
    process_bytes: int | None = None

    def __post_init__(self) -> None:
        for name, top in (
            ("memory_bytes", MAX_BYTES),
            ("fuel", MAX_FUEL),
            ("process_bytes", MAX_BYTES),
        ):
            value = getattr(self, name)
            if value is None:
                continue
            if type(value) is not int:
                raise TypeError(f"Limits.{name} must be an int or None")
            if value < 0:
                raise ValueError(f"Limits.{name} must not be negative")
            if value > top:
                raise ValueError(
                    f"Limits.{name} = {value} is more than the most a worker can use ({top})"
                )
        timeout = self.call_timeout
        if timeout is not None:
            if type(timeout) is bool or not isinstance(timeout, int | float):
                raise TypeError("Limits.call_timeout must be a number of seconds or None")
            if not 0 < timeout < math.inf:
                raise ValueError("Limits.call_timeout must be positive and finite (None: no limit)")

    def to_wire(self) -> dict[str, Any]:
        return {
            "memory_bytes": self.memory_bytes,
            "fuel": self.fuel,
            "process_bytes": self.process_bytes,
            "call_timeout": None if self.call_timeout is None else float(self.call_timeout),
        }


#: how much of each WASI output stream an instance keeps for its caller (64 MiB)
DEFAULT_OUTPUT_LIMIT = 64 << 20


@dataclass(frozen=True)
class WasiConfig:
    """WASI preview1 for an instance: default-deny, grant what you list.

    - ``args``: argv, program name first (``["prog", "-v"]``).
    - ``env``: the environment; nothing of the caller's is passed on.
    - ``dirs``: host directory -> the guest path it is preopened as; relative host paths
      are resolved against the caller's working directory when the instance starts.
    - ``stdin``: the bytes fd 0 reads; ``None`` (the default): EOF at once.
    - ``output_limit``: bytes of stdout, and of stderr, kept for the caller (see
      :meth:`beamr.Instance.output`); past it output is dropped and the drop reported
      (:class:`Completed`'s ``*_truncated``, :attr:`beamr.Instance.dropped_output`).
    """

    args: Sequence[str] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    dirs: Mapping[str, str] = field(default_factory=dict)
    stdin: bytes | bytearray | memoryview | None = None
    output_limit: int = DEFAULT_OUTPUT_LIMIT

    def __post_init__(self) -> None:
        if isinstance(self.args, str | bytes) or not all(isinstance(a, str) for a in self.args):
            raise TypeError("WasiConfig.args must be a sequence of str")
        for name in ("env", "dirs"):
            mapping = getattr(self, name)
            if not isinstance(mapping, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()
            ):
                raise TypeError(f"WasiConfig.{name} must map str to str")
        stdin = self.stdin
        if stdin is not None:
            if isinstance(stdin, str) or not isinstance(stdin, bytes | bytearray | memoryview):
                raise TypeError(
                    f"WasiConfig.stdin must be bytes-like or None, got {type(stdin).__name__}"
                )
            object.__setattr__(self, "stdin", bytes(stdin))
        if type(self.output_limit) is not int:
            raise TypeError("WasiConfig.output_limit must be an int (bytes)")
        if not 0 <= self.output_limit <= MAX_BYTES:
            raise ValueError(f"WasiConfig.output_limit must be 0 to {MAX_BYTES} bytes")

    def to_wire(self) -> dict[str, Any]:
        """The worker's part (the output limit is kept by the parent)."""
        return {
            "args": list(self.args),
            "env": dict(self.env),
            "dirs": dict(self.dirs),
            "stdin": None if self.stdin is None else bytes(self.stdin),
        }
