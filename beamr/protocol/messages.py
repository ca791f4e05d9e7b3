"""The messages of the protocol: commands (each with the reply it expects), replies,
and the errors that say who broke the rules."""

from __future__ import annotations

import operator
import reprlib
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Final, Generic, NoReturn, TypeVar, cast

from beamr.protocol.constants import LOCATE_ACCESS

T = TypeVar("T")

__all__ = [
    "ANSWERS",
    "BATCH_OPS",
    "Batch",
    "COMMANDS",
    "Call",
    "Command",
    "Deserialize",
    "Entries",
    "Error",
    "GetGlobal",
    "Grow",
    "ImportFailed",
    "ImportRequest",
    "ImportResponse",
    "Init",
    "Instantiate",
    "LocalProtocolError",
    "Locate",
    "Ok",
    "OutputChunk",
    "Probe",
    "ProtocolError",
    "Read",
    "ReadString",
    "RemoteProtocolError",
    "Reply",
    "Result",
    "Serialize",
    "SetGlobal",
    "Size",
    "Stop",
    "WASM_RUNNING",
    "Write",
    "numbers_of",
    "show",
]

# ------------------------------------------------------------------------- blame


class ProtocolError(Exception):
    """A frame or message outside this protocol."""


class RemoteProtocolError(ProtocolError):
    """The peer broke the protocol (a worker sent what no command expects): the
    connection cannot be trusted any more."""


class LocalProtocolError(ProtocolError):
    """This side misused the protocol (a bug here): nothing was sent, the peer is fine."""


_shown = reprlib.Repr()
_shown.maxlevel, _shown.maxstring, _shown.maxother = 3, 60, 60


def show(value: Any) -> str:
    """A short repr for error messages, safe for hostile (deep, huge) values."""
    return _shown.repr(value)


# ---------------------------------------------------------------------- replies


@dataclass(frozen=True, slots=True)
class Result:
    """``execution_result``: the command's values (their meaning depends on it)."""

    values: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Ok:
    pass


@dataclass(frozen=True, slots=True)
class Error:
    kind: str
    text: str
    code: str | None = None
    #: structured facts of the error (``missing_import``: ``[module, name]``)
    detail: list[Any] | None = None


@dataclass(frozen=True, slots=True)
class ImportRequest:
    module: str
    name: str
    args: list[int | float]
    signature: str


@dataclass(frozen=True, slots=True)
class OutputChunk:
    """WASI output the running wasm wrote: ``stream`` is 1 (stdout) or 2 (stderr). Sent
    while a command that runs wasm is in flight, before its final reply; it does not
    answer the command."""

    stream: int
    data: bytes


Reply = Result | Ok | Error | ImportRequest | OutputChunk


def numbers_of(
    value: Any, what: str, error: type[ProtocolError] = ProtocolError
) -> list[int | float]:
    if type(value) is not list:
        raise error(f"{what} must be a list of numbers, got {show(value)}")
    for item in value:  # (a loop, not all(): this runs for every call and import)
        if type(item) is not int and type(item) is not float:
            raise error(f"{what} must be a list of numbers, got {show(value)}")
    return cast(list[int | float], value)


Entries = tuple[tuple[str, str, str], ...]


def _entries(value: list[Any]) -> Entries:
    if not all(type(e) is list and len(e) == 3 and all(type(x) is str for x in e) for e in value):
        raise RemoteProtocolError(f"expected [[str, str, str], ...], got {show(value)}")
    return tuple((e[0], e[1], e[2]) for e in value)


# --------------------------------------------------------------------- commands


class Command(Generic[T]):
    """A command: its wire ``KIND`` and field types, and the reply it expects:
    ``REPLY``, the types of its ``execution_result`` values (None: ``ok``).

    Commands are not frozen (one is built for every frame, and a frozen dataclass sets
    each field through ``object.__setattr__``); nothing changes them once built."""

    __slots__ = ()
    KIND: ClassVar[str]
    WIRE: ClassVar[tuple[type | tuple[type, ...], ...]]
    REPLY: ClassVar[tuple[type, ...] | None]
    #: whether check() does anything (parsing skips the call otherwise)
    CHECKS: ClassVar[bool] = False

    @staticmethod
    def values(command: Any) -> tuple[Any, ...]:
        """The field values in wire order (an accessor built once per class below)."""
        raise NotImplementedError

    def check(self) -> None:
        """Field checks beyond their types."""

    def accept(self, reply: Result | Ok) -> T:
        """This command's value from its final reply; RemoteProtocolError if the reply
        is not of the expected shape (a size is never negative, nor an address)."""
        types = self.REPLY
        if types is None:
            if type(reply) is not Ok:
                raise RemoteProtocolError(f"{self.KIND} expects ok, got {show(reply)}")
            return cast(T, None)
        values = reply.values if type(reply) is Result else None
        if values is None or len(values) != len(types):
            self._refuse(reply)
        for value, wanted in zip(values, types):  # noqa: B905 - lengths checked above
            if type(value) is not wanted or (wanted is int and value < 0):  # type: ignore[operator]
                self._refuse(reply)
        return cast(T, self.convert(values))

    def _refuse(self, reply: Result | Ok) -> NoReturn:
        wanted = [t.__name__ for t in self.REPLY or ()]
        raise RemoteProtocolError(
            f"{self.KIND} expects execution_result {wanted}, got {show(reply)}"
        )

    def convert(self, values: tuple[Any, ...]) -> Any:
        return values[0] if len(values) == 1 else values


#: every command, by its wire kind: the one table encoding and parsing go through
COMMANDS: dict[str, type[Command[Any]]] = {}


def _command(
    kind: str, *wire: type | tuple[type, ...], reply: tuple[type, ...] | None = None
) -> Any:
    def register(cls: type[Command[Any]]) -> type[Command[Any]]:
        cls.KIND, cls.WIRE, cls.REPLY = kind, wire, reply
        names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
        if not names:
            cls.values = staticmethod(lambda command: ())  # type: ignore[method-assign]
        elif len(names) == 1:
            get = operator.attrgetter(names[0])
            cls.values = staticmethod(lambda command: (get(command),))  # type: ignore[method-assign]
        else:
            cls.values = staticmethod(operator.attrgetter(*names))  # type: ignore[method-assign, assignment]
        cls.CHECKS = cls.check is not Command.check
        COMMANDS[kind] = cls
        return cls

    return register


@_command("init", bytes, dict, reply=(list, list, list))
@dataclass(slots=True)
class Init(Command[tuple[Entries, Entries, Entries]]):
    """Load the module and, unless ``options["instantiate"]`` is false, instantiate it
    (else :class:`Instantiate` does, later). The reply describes the module: its
    function imports ``(module, name, signature)``, its exports ``(kind, name,
    signature)`` and its exported globals ``(name, type character, "mut"|"const")``."""

    binary: bytes
    options: dict[str, Any] = field(default_factory=dict)

    def convert(self, values: tuple[Any, ...]) -> tuple[Entries, Entries, Entries]:
        return _entries(values[0]), _entries(values[1]), _entries(values[2])


@_command("instantiate", dict)
@dataclass(slots=True)
class Instantiate(Command[None]):
    """Instantiate a module loaded by ``init`` with ``instantiate: false``; ``options``
    complete the ``init`` options (the instance's own WASI settings)."""

    options: dict[str, Any] = field(default_factory=dict)


@_command("size", reply=(int,))
@dataclass(slots=True)
class Size(Command[int]):
    pass


@_command("read", int, int, reply=(bytes,))
@dataclass(slots=True)
class Read(Command[bytes]):
    offset: int
    size: int


@_command("write", int, bytes)
@dataclass(slots=True)
class Write(Command[None]):
    offset: int
    data: bytes


@_command("read_string", int, reply=(bytes,))
@dataclass(slots=True)
class ReadString(Command[bytes]):
    offset: int


@_command("locate", int, int, str, reply=(int, int))
@dataclass(slots=True)
class Locate(Command[tuple[int, int]]):
    offset: int
    size: int
    access: str  # "read" or "write"

    def check(self) -> None:
        if self.access not in LOCATE_ACCESS:
            raise ProtocolError(f"locate: access must be read or write, got {show(self.access)}")


@_command("call", str, list, reply=(list,))
@dataclass(slots=True)
class Call(Command[list[int | float]]):
    name: str
    args: list[int | float]

    def check(self) -> None:
        numbers_of(self.args, "call arguments")

    def convert(self, values: tuple[Any, ...]) -> list[int | float]:
        return numbers_of(values[0], "call results", RemoteProtocolError)


@_command("import_response", list)
@dataclass(slots=True)
class ImportResponse(Command[None]):
    results: list[int | float]

    def check(self) -> None:
        numbers_of(self.results, "import results")


@_command("import_error", str, str)
@dataclass(slots=True)
class ImportFailed(Command[None]):
    kind: str
    text: str


@_command("serialize", reply=(bytes,))
@dataclass(slots=True)
class Serialize(Command[bytes]):
    pass


@_command("deserialize", bytes)
@dataclass(slots=True)
class Deserialize(Command[None]):
    data: bytes


@_command("grow", int, reply=(int,))
@dataclass(slots=True)
class Grow(Command[int]):
    """Grow the memory to hold at least ``size`` bytes (whole pages; never shrinks,
    within the module's maximum and the memory budget); the new size in bytes.
    Restoring a snapshot taken after the memory grew (beamr.cluster's move) needs it."""

    size: int


@_command("get_global", str, reply=(list,))
@dataclass(slots=True)
class GetGlobal(Command[int | float]):
    """The value of the exported global ``name``."""

    name: str

    def convert(self, values: tuple[Any, ...]) -> int | float:
        numbers = numbers_of(values[0], "a global's value", RemoteProtocolError)
        if len(numbers) != 1:
            raise RemoteProtocolError(f"get_global expects one value, got {show(numbers)}")
        return numbers[0]


@_command("set_global", str, (int, float))
@dataclass(slots=True)
class SetGlobal(Command[None]):
    """Set the exported mutable global ``name``."""

    name: str
    value: int | float


#: what a batch may hold: op kind -> its fields' wire types (an int field may be a
#: reference ``[i]`` to the first value of op i's result; so may a call argument)
BATCH_OPS: Final[dict[str, tuple[type | tuple[type, ...], ...]]] = {
    "size": (),
    "read": ((int, list), int),
    "write": ((int, list), bytes),
    "read_string": ((int, list),),
    "write_string": (bytes,),
    "call": (str, list),
    "get_global": (str,),
    "set_global": (str, (int, float)),
    "free": ((int, list),),
}


@_command("batch", list, reply=(list, list))
@dataclass(slots=True)
class Batch(Command[tuple[list[Any], list[Any]]]):
    """Several ops in one round trip, run in order (:data:`BATCH_OPS`): the reply is
    their results and, if one failed, ``[index, kind, text, code, detail]`` (the ops
    after it did not run)."""

    ops: list[Any]

    def check(self) -> None:
        for op in self.ops:
            if type(op) is not list or not op or type(op[0]) is not str:
                raise ProtocolError(f"a batch op is [kind, ...], got {show(op)}")
            types = BATCH_OPS.get(op[0])
            if types is None or len(op) != len(types) + 1:
                raise ProtocolError(f"unknown batch op {show(op)}")
            for value, wanted in zip(op[1:], types):  # noqa: B905 - lengths checked above
                kind = type(value)
                if kind is not wanted and not (type(wanted) is tuple and kind in wanted):
                    raise ProtocolError(f"batch op {op[0]} takes {show(types)}, got {show(op)}")

    def convert(self, values: tuple[Any, ...]) -> tuple[list[Any], list[Any]]:
        results, error = values
        if len(results) > len(self.ops) or (error and len(results) >= len(self.ops)):
            raise RemoteProtocolError(f"batch of {len(self.ops)} answered {show(values)}")
        return results, error


@_command("probe", str, reply=(str,))
@dataclass(slots=True)
class Probe(Command[str]):
    """Diagnostics: ask the worker to try something (e.g. open a file) and report."""

    what: str


@_command("stop")
@dataclass(slots=True)
class Stop(Command[None]):
    pass


#: the answers to an import request: they resume (or trap) the suspended call
ANSWERS: Final = (ImportResponse, ImportFailed)
#: the commands that run wasm: only they may see import requests and output
WASM_RUNNING: Final = (Call, Init, Instantiate, Batch)
