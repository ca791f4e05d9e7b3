"""The wire protocol between beamr's parent and its workers, sans-IO.

Nothing here touches a pipe, a socket or an event loop: bytes go in, messages come
out, messages go in, bytes come out (the h11 way). Both sides import this module;
the worker does not import anyio through it.

Framing
-------
Every frame is a 4-byte big-endian length followed by exactly one msgpack value, an
array ``[id, kind, *fields]``. ``id`` is an unsigned integer chosen by the parent for
each command; every reply repeats the id of the command it answers, and an import
request carries the id of the call that made it. A frame longer than the decoder's
``max_frame_size`` is refused before it is buffered (:class:`ProtocolError`).

Commands (parent -> worker) mirror HyperBEAM's port terms::

    [id, "init", binary, options]        [id, "size"]
    [id, "read", offset, size]           [id, "write", offset, data]
    [id, "read_string", offset]          [id, "call", name, args]
    [id, "import_response", results]     [id, "import_error", kind, text]
    [id, "serialize"]                    [id, "deserialize", data]
    [id, "output", limit]                [id, "probe", what]
    [id, "locate", offset, size, access] [id, "stop"]

``locate`` is the bulk path's first half: the worker checks the range exactly as it
would for a ``read`` or ``write`` (``access``) and answers with the address of
``offset`` in its own address space and the memory's size; the parent then copies
the bytes itself (``process_vm_readv``/``process_vm_writev``) while the worker waits
for its next command, so the wasm cannot run during the copy.

Replies (worker -> parent)::

    [id, "execution_result", *values]    [id, "ok"]
    [id, "error", kind, text, code, detail]
    [id, "import", module, name, args, signature]

Ordering and correlation
------------------------
The exchange is a strict stack. A command is answered by exactly one final reply
(``execution_result``, ``ok`` or ``error``). While a ``call`` runs, the worker may send
``import`` requests for it; until the parent answers one with ``import_response`` or
``import_error`` (carrying the same id), the wasm is suspended and the worker accepts
any other command (io, and nested ``call`` s, which may import in turn). So every
frame the worker sends belongs to the innermost command still unanswered, and
:class:`ParentConnection` checks that its id says so: a late or stray reply is a
:class:`ProtocolError`, never silently taken for another command's.

Cancellation uses an explicit drain rather than discarding by id: when the parent
abandons a command (a cancelled await, a timeout), it interrupts the wasm out of band
(the interrupt channel carries the call id, so an interrupt that arrives late can
never stop a later call), leaves the command on the stack, and before the next
command it answers outstanding import requests with ``import_error`` and reads until
each abandoned command's final reply has arrived (:meth:`ParentConnection.recovery_step`).
"""

from __future__ import annotations

import reprlib
import struct
from dataclasses import dataclass, field
from typing import Any, Final

import msgpack

__all__ = [
    "DEFAULT_MAX_FRAME_SIZE",
    "Call",
    "Command",
    "Deserialize",
    "Error",
    "FrameDecoder",
    "ImportError_",
    "ImportRequest",
    "ImportResponse",
    "Init",
    "LOCATE_ACCESS",
    "Locate",
    "Ok",
    "Output",
    "ParentConnection",
    "Probe",
    "ProtocolError",
    "Read",
    "ReadString",
    "Reply",
    "Result",
    "Serialize",
    "Size",
    "Stop",
    "Write",
    "encode_command",
    "encode_reply",
    "parse_command",
    "parse_reply",
]

#: every wasm binary starts with these bytes (wasmtime also accepts WAT text: we do not)
WASM_MAGIC: Final = b"\0asm"
#: HyperBEAM's signature alphabet: one character per wasm value type. Only the four
#: number types cross between Python and the wasm; the others appear in signatures
#: so that a caller can see why a function cannot be called.
SIGNATURE_CHARS: Final = {
    "i32": "i",
    "i64": "I",
    "f32": "f",
    "f64": "F",
    "v128": "v",
    "funcref": "r",
    "externref": "e",
}
#: the character of any other value type (anyref, exnref, typed references, ...)
OTHER_TYPE_CHAR: Final = "?"
NUMBER_CHARS: Final = frozenset("iIfF")
#: the deepest a wasm call may nest through import handlers (wasm -> handler ->
#: call -> ...): the call that would go deeper fails with ``nesting_too_deep``
MAX_NESTING: Final = 32

HEADER: Final = struct.Struct(">I")
#: What a worker accepts from its parent: a whole module in ``init``. Frames are
#: length-checked before they are buffered.
DEFAULT_MAX_FRAME_SIZE: Final = (1 << 31) + 4096
#: The most payload one inline frame carries either way: larger reads, writes,
#: snapshots and outputs travel in several (or through the bulk path).
INLINE_CHUNK: Final = 8 << 20
#: What the parent accepts from a worker: a worker cannot make it buffer more.
REPLY_MAX_FRAME_SIZE: Final = INLINE_CHUNK * 2 + (64 << 10)
#: RLIMIT_DATA of a worker without ``Limits.process_bytes``: ``memory_bytes`` plus
#: the headroom, or the default. No linear memory can be larger.
DEFAULT_PROCESS_BYTES: Final = 8 << 30
PROCESS_HEADROOM: Final = 1 << 30


def process_limit(memory_bytes: int | None, process_bytes: int | None) -> int:
    """RLIMIT_DATA of a worker with these limits (the bound of any of its memories)."""
    if process_bytes is not None:
        return process_bytes
    return DEFAULT_PROCESS_BYTES if memory_bytes is None else memory_bytes + PROCESS_HEADROOM


MAX_ID: Final = (1 << 64) - 1
#: the kinds of access a ``locate`` checks the range for
LOCATE_ACCESS: Final = ("read", "write")


class ProtocolError(Exception):
    """A frame or message that does not follow this protocol."""


# --------------------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True)
class Init:
    binary: bytes
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Size:
    pass


_SIZE_COMMAND: Final = Size()  # immutable: one will do


@dataclass(frozen=True, slots=True)
class Read:
    offset: int
    size: int


@dataclass(frozen=True, slots=True)
class Write:
    offset: int
    data: bytes


@dataclass(frozen=True, slots=True)
class Locate:
    offset: int
    size: int
    access: str  # "read" or "write"


@dataclass(frozen=True, slots=True)
class ReadString:
    offset: int


@dataclass(frozen=True, slots=True)
class Call:
    name: str
    args: list[int | float]


@dataclass(frozen=True, slots=True)
class ImportResponse:
    results: list[int | float]


@dataclass(frozen=True, slots=True)
class ImportError_:  # noqa: N801 - the builtin ImportError must not be shadowed
    kind: str
    text: str


@dataclass(frozen=True, slots=True)
class Serialize:
    pass


@dataclass(frozen=True, slots=True)
class Deserialize:
    data: bytes


@dataclass(frozen=True, slots=True)
class Output:
    """Take (and clear) up to ``limit`` bytes of each of the WASI stdout and stderr
    captured so far."""

    limit: int = INLINE_CHUNK


@dataclass(frozen=True, slots=True)
class Probe:
    """Diagnostics: ask the worker to try something (e.g. open a file) and report."""

    what: str


@dataclass(frozen=True, slots=True)
class Stop:
    pass


Command = (
    Init
    | Size
    | Read
    | Write
    | ReadString
    | Locate
    | Call
    | ImportResponse
    | ImportError_
    | Serialize
    | Deserialize
    | Output
    | Probe
    | Stop
)

# ----------------------------------------------------------------------------- replies


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


Reply = Result | Ok | Error | ImportRequest

# ------------------------------------------------------------------------- encoding

_packer = msgpack.Packer(use_bin_type=True)


def _frame(value: list[Any]) -> bytes:
    body: bytes = _packer.pack(value)
    return HEADER.pack(len(body)) + body


def encode_command(command_id: int, command: Command) -> bytes:
    """One frame for ``command``, tagged ``command_id``."""
    if type(command) is Call:  # the hot command: no pattern matching
        return _frame([command_id, "call", command.name, list(command.args)])
    match command:
        case Size():
            return _frame([command_id, "size"])
        case Read(offset, size):
            return _frame([command_id, "read", offset, size])
        case Write(offset, data):
            return _frame([command_id, "write", offset, data])
        case ReadString(offset):
            return _frame([command_id, "read_string", offset])
        case Locate(offset, size, access):
            return _frame([command_id, "locate", offset, size, access])
        case Call(name, args):
            return _frame([command_id, "call", name, list(args)])
        case ImportResponse(results):
            return _frame([command_id, "import_response", list(results)])
        case ImportError_(kind, text):
            return _frame([command_id, "import_error", kind, text])
        case Init(binary, options):
            return _frame([command_id, "init", binary, options])
        case Serialize():
            return _frame([command_id, "serialize"])
        case Deserialize(data):
            return _frame([command_id, "deserialize", data])
        case Output(limit):
            return _frame([command_id, "output", limit])
        case Probe(what):
            return _frame([command_id, "probe", what])
        case Stop():
            return _frame([command_id, "stop"])
    raise TypeError(f"not a command: {command!r}")


def encode_reply(command_id: int, reply: Reply) -> bytes:
    """One frame for ``reply`` to the command ``command_id``."""
    if type(reply) is Result:  # the hot reply: no pattern matching
        return _frame([command_id, "execution_result", *reply.values])
    match reply:
        case Result(values):
            return _frame([command_id, "execution_result", *values])
        case Ok():
            return _frame([command_id, "ok"])
        case Error(kind, text, code, detail):
            return _frame([command_id, "error", kind, text, code, detail])
        case ImportRequest(module, name, args, signature):
            return _frame([command_id, "import", module, name, list(args), signature])
    raise TypeError(f"not a reply: {reply!r}")


# ------------------------------------------------------------------------- decoding


class FrameDecoder:
    """Incremental frame splitter: feed any chunks, take whole msgpack values out."""

    def __init__(self, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE) -> None:
        self.max_frame_size = max_frame_size
        self._buffer = bytearray()
        self._start = 0

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        if self._start and self._start == len(self._buffer):
            self._buffer.clear()
            self._start = 0
        self._buffer += data

    @property
    def buffered(self) -> int:
        """Bytes received but not yet returned as frames."""
        return len(self._buffer) - self._start

    def next_frame(self) -> Any | None:
        """The next whole value, or ``None`` if more bytes are needed."""
        available = len(self._buffer) - self._start
        if available < HEADER.size:
            return None
        (length,) = HEADER.unpack_from(self._buffer, self._start)
        if length > self.max_frame_size:
            raise ProtocolError(
                f"frame of {length} bytes exceeds the limit of {self.max_frame_size}"
            )
        if length == 0:
            raise ProtocolError("empty frame")
        if available < HEADER.size + length:
            return None
        begin = self._start + HEADER.size
        end = begin + length
        body = memoryview(self._buffer)[begin:end]
        try:
            value = msgpack.unpackb(body, raw=False, strict_map_key=True)
        except Exception as exc:  # msgpack raises several unrelated types
            raise ProtocolError(f"undecodable frame ({type(exc).__name__}: {exc})") from None
        finally:
            body.release()
        self._start = end
        if value is None:  # None means "need more bytes" to our callers
            raise ProtocolError("nil frame")
        if self._start > (1 << 20) and self._start * 2 > len(self._buffer):
            del self._buffer[: self._start]
            self._start = 0
        return value


_shown = reprlib.Repr()
_shown.maxlevel = 3
_shown.maxstring = 60
_shown.maxother = 60


def _show(value: Any) -> str:
    """A short repr for error messages, safe for hostile (deep, huge) values."""
    return _shown.repr(value)


def _is_uint(value: Any) -> bool:
    return type(value) is int and 0 <= value <= MAX_ID


def _is_number(value: Any) -> bool:
    return type(value) is int or type(value) is float


def _numbers(value: Any, what: str) -> list[int | float]:
    if type(value) is not list or not all(_is_number(v) for v in value):
        raise ProtocolError(f"{what} must be a list of numbers, got {_show(value)}")
    return value


def _expect(fields: list[Any], types: tuple[type, ...], what: str) -> None:
    if len(fields) != len(types) or not all(
        type(v) is t for v, t in zip(fields, types, strict=True)
    ):
        shown = [type(v).__name__ for v in fields]
        wanted = [t.__name__ for t in types]
        raise ProtocolError(f"{what} takes {wanted}, got {shown}")


def _split(value: Any, what: str) -> tuple[int, str, list[Any]]:
    if type(value) is not list or len(value) < 2:
        raise ProtocolError(f"a {what} is [id, kind, ...], got {_show(value)}")
    command_id, kind, *fields = value
    if not _is_uint(command_id):
        raise ProtocolError(f"bad {what} id {_show(command_id)}")
    if type(kind) is not str:
        raise ProtocolError(f"bad {what} kind {_show(kind)}")
    return command_id, kind, fields


def parse_command(value: Any) -> tuple[int, Command]:
    """Validate a decoded frame as a command; :class:`ProtocolError` otherwise."""
    # The two hottest commands first, with exactly the checks of the general path.
    if type(value) is list:
        if len(value) == 2 and value[1] == "size":
            command_id = value[0]
            if type(command_id) is int and 0 <= command_id <= MAX_ID:
                return command_id, _SIZE_COMMAND
        elif len(value) == 4 and value[1] == "call":
            command_id, _, name, args = value
            if (
                type(command_id) is int
                and 0 <= command_id <= MAX_ID
                and type(name) is str
                and type(args) is list
            ):
                return command_id, Call(name, _numbers(args, "call arguments"))
    command_id, kind, f = _split(value, "command")
    command: Command
    if kind == "size":
        _expect(f, (), kind)
        command = Size()
    elif kind == "read":
        _expect(f, (int, int), kind)
        command = Read(f[0], f[1])
    elif kind == "write":
        _expect(f, (int, bytes), kind)
        command = Write(f[0], f[1])
    elif kind == "read_string":
        _expect(f, (int,), kind)
        command = ReadString(f[0])
    elif kind == "locate":
        _expect(f, (int, int, str), kind)
        if f[2] not in LOCATE_ACCESS:
            raise ProtocolError(f"locate: access must be read or write, got {_show(f[2])}")
        command = Locate(f[0], f[1], f[2])
    elif kind == "call":
        _expect(f, (str, list), kind)
        command = Call(f[0], _numbers(f[1], "call arguments"))
    elif kind == "import_response":
        _expect(f, (list,), kind)
        command = ImportResponse(_numbers(f[0], "import results"))
    elif kind == "import_error":
        _expect(f, (str, str), kind)
        command = ImportError_(f[0], f[1])
    elif kind == "init":
        _expect(f, (bytes, dict), kind)
        command = Init(f[0], f[1])
    elif kind == "serialize":
        _expect(f, (), kind)
        command = Serialize()
    elif kind == "deserialize":
        _expect(f, (bytes,), kind)
        command = Deserialize(f[0])
    elif kind == "output":
        _expect(f, (int,), kind)
        command = Output(f[0])
    elif kind == "probe":
        _expect(f, (str,), kind)
        command = Probe(f[0])
    elif kind == "stop":
        _expect(f, (), kind)
        command = Stop()
    else:
        raise ProtocolError(f"unknown command {_show(kind)}")
    return command_id, command


def parse_reply(value: Any) -> tuple[int, Reply]:
    """Validate a decoded frame as a reply; :class:`ProtocolError` otherwise."""
    command_id, kind, f = _split(value, "reply")
    reply: Reply
    if kind == "execution_result":
        reply = Result(tuple(f))
    elif kind == "ok":
        _expect(f, (), kind)
        reply = Ok()
    elif kind == "error":
        if (
            len(f) != 4
            or type(f[0]) is not str
            or type(f[1]) is not str
            or not (f[2] is None or type(f[2]) is str)
            or not (f[3] is None or type(f[3]) is list)
        ):
            raise ProtocolError(f"error takes [kind, text, code, detail], got {_show(f)}")
        reply = Error(f[0], f[1], f[2], f[3])
    elif kind == "import":
        _expect(f, (str, str, list, str), kind)
        reply = ImportRequest(f[0], f[1], _numbers(f[2], "import arguments"), f[3])
    else:
        raise ProtocolError(f"unknown reply {_show(kind)}")
    return command_id, reply


# ----------------------------------------------------------------- parent state machine


_ANSWERS: Final = (ImportResponse, ImportError_)


@dataclass(slots=True)
class Pending:
    """A command sent and not yet answered."""

    command_id: int
    command: Command
    #: the worker is suspended in an import of this call, waiting for our answer
    awaiting_import: bool = False
    #: the parent gave up on it; its reply must be drained before the next command
    abandoned: bool = False


class ParentConnection:
    """The parent's side of one worker connection, as an explicit state machine.

    :meth:`send` turns a command into bytes and records it; :meth:`receive_data` takes
    bytes from the worker; :meth:`next_event` returns ``(pending, reply)`` pairs, each
    reply checked against the innermost pending command. Anything out of order raises
    :class:`ProtocolError`, after which the connection is unusable.
    """

    def __init__(self, max_frame_size: int = REPLY_MAX_FRAME_SIZE) -> None:
        self._decoder = FrameDecoder(max_frame_size)
        self._next_id = 1
        self.stack: list[Pending] = []
        self.broken: ProtocolError | None = None

    @property
    def depth(self) -> int:
        return len(self.stack)

    def send(self, command: Command) -> tuple[Pending, bytes]:
        """Record ``command`` as the new innermost pending command; its frame."""
        self._check()
        if isinstance(command, _ANSWERS):
            raise TypeError("answer imports with answer_import()")
        if self.stack and not self.stack[-1].awaiting_import:
            raise ProtocolError(
                "a command is in flight; another may only be sent while it waits "
                "for an import answer"
            )
        frame = encode_command(self._next_id, command)  # may raise: record nothing then
        pending = Pending(self._next_id, command)
        self._next_id += 1
        self.stack.append(pending)
        return pending, frame

    def answer_import(
        self, answer: ImportResponse | ImportError_, pending: Pending | None = None
    ) -> bytes:
        """The frame answering the import request of the innermost pending call.

        With ``pending``, also check that the answer is for that call: an answer
        meant for an outer call must never reach a nested one.
        """
        self._check()
        if not self.stack or not self.stack[-1].awaiting_import:
            raise ProtocolError("no import request is waiting for an answer")
        top = self.stack[-1]
        if pending is not None and top is not pending:
            raise ProtocolError(
                f"import answer for command {pending.command_id}, but command "
                f"{top.command_id} is the innermost"
            )
        top.awaiting_import = False
        return encode_command(top.command_id, answer)

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        self._decoder.feed(data)

    def next_event(self) -> tuple[Pending, Reply] | None:
        """The next reply and the pending command it belongs to, or None (need data).

        A final reply pops its command off the stack; an import request marks it
        as waiting for an answer.
        """
        self._check()
        try:
            value = self._decoder.next_frame()
            if value is None:
                return None
            command_id, reply = parse_reply(value)
            if not self.stack:
                raise ProtocolError(f"unsolicited reply {_show(reply)}")
            top = self.stack[-1]
            if command_id != top.command_id:
                raise ProtocolError(f"reply for command {command_id}, expected {top.command_id}")
            if top.awaiting_import:
                raise ProtocolError("reply while an import answer is outstanding")
            if isinstance(reply, ImportRequest):
                if not isinstance(top.command, Call | Init):  # init: the start function
                    raise ProtocolError("import request outside a call")
                top.awaiting_import = True
            else:
                self.stack.pop()
            return top, reply
        except ProtocolError as exc:
            self.broken = exc
            raise

    def abandon(self, from_depth: int) -> list[Pending]:
        """Mark every pending command at ``from_depth`` or deeper as abandoned."""
        abandoned = self.stack[from_depth:]
        for pending in abandoned:
            pending.abandoned = True
        return abandoned

    def needs_recovery(self, depth: int) -> bool:
        """Whether abandoned commands above ``depth`` must be drained first."""
        return len(self.stack) > depth

    def recovery_step(self, depth: int) -> bytes | None:
        """While draining down to ``depth``: the frame to send now, if any.

        An abandoned call waiting for an import answer gets ``import_error``
        ("cancelled"), which makes the wasm trap out of that import.
        """
        if len(self.stack) > depth and self.stack[-1].awaiting_import:
            return self.answer_import(ImportError_("cancelled", "the caller was cancelled"))
        return None

    def _check(self) -> None:
        if self.broken is not None:
            raise ProtocolError(f"connection is broken: {self.broken}")
