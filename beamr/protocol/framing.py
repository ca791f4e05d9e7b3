"""Frames on the wire: encoding, incremental decoding, and validation of decoded
values as commands and replies; the interrupt pipe's and the fork-server's messages."""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import Any, Final, cast

import msgpack

from beamr.protocol.constants import DEFAULT_MAX_FRAME_SIZE, HEADER, MAX_ID, OUTPUT_STREAMS, SPAWN
from beamr.protocol.messages import (
    COMMANDS,
    Command,
    Error,
    ImportRequest,
    Ok,
    OutputChunk,
    ProtocolError,
    Reply,
    Result,
    numbers_of,
    show,
)

__all__ = [
    "FrameDecoder",
    "InterruptDecoder",
    "encode_command",
    "encode_hint",
    "encode_interrupts",
    "encode_reply",
    "parse_command",
    "parse_hint",
    "parse_reply",
]

# --------------------------------------------------------------------- encoding

_packer = msgpack.Packer(use_bin_type=True)


def _frame(value: list[Any]) -> bytes:
    body: bytes = _packer.pack(value)
    return HEADER.pack(len(body)) + body


def encode_command(command_id: int, command: Command[Any]) -> bytes:
    """One frame for ``command``, tagged ``command_id``."""
    if not isinstance(command, Command):
        raise TypeError(f"not a command: {command!r}")
    return _frame([command_id, command.KIND, *command.values(command)])


def encode_reply(command_id: int, reply: Reply) -> bytes:
    """One frame for ``reply`` to the command ``command_id``."""
    if type(reply) is Result:
        return _frame([command_id, "execution_result", *reply.values])
    if type(reply) is Ok:
        return _frame([command_id, "ok"])
    if type(reply) is Error:
        return _frame([command_id, "error", reply.kind, reply.text, reply.code, reply.detail])
    if type(reply) is OutputChunk:
        return _frame([command_id, "output", reply.stream, reply.data])
    if type(reply) is ImportRequest:
        return _frame(
            [command_id, "import", reply.module, reply.name, list(reply.args), reply.signature]
        )
    raise TypeError(f"not a reply: {reply!r}")


def encode_interrupts(command_ids: Iterable[int]) -> bytes:
    """The interrupt pipe's message: 8-byte big-endian call ids, back to back."""
    return b"".join(i.to_bytes(8, "big") for i in command_ids)


class InterruptDecoder:
    """Call ids out of the interrupt pipe's bytes, however they were cut."""

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, data: bytes) -> tuple[int, ...]:
        data = self._pending + data
        whole = len(data) - len(data) % 8
        self._pending = data[whole:]
        ids: tuple[int, ...] = struct.unpack(f">{whole // 8}Q", data[:whole])
        return ids


# --------------------------------------------------------------------- decoding


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
        body = memoryview(self._buffer)[begin : begin + length]
        try:
            value = msgpack.unpackb(body, raw=False, strict_map_key=True)
        except Exception as exc:  # msgpack raises several unrelated types
            raise ProtocolError(f"undecodable frame ({type(exc).__name__}: {exc})") from None
        finally:
            body.release()
        self._start = begin + length
        if value is None:  # None means "need more bytes" to our callers
            raise ProtocolError("nil frame")
        if self._start > (1 << 20) and self._start * 2 > len(self._buffer):
            del self._buffer[: self._start]
            self._start = 0
        return value


def _split(value: Any, what: str) -> tuple[int, str, list[Any]]:
    if type(value) is not list or len(value) < 2:
        raise ProtocolError(f"a {what} is [id, kind, ...], got {show(value)}")
    command_id, kind, rest = value[0], value[1], value[2:]
    if type(command_id) is not int or not 0 <= command_id <= MAX_ID:
        raise ProtocolError(f"bad {what} id {show(command_id)}")
    if type(kind) is not str:
        raise ProtocolError(f"bad {what} kind {show(kind)}")
    return command_id, kind, rest


def _typed(rest: list[Any], types: tuple[type | tuple[type, ...], ...], what: str) -> None:
    """Each field of exactly its type (``bool`` is no ``int``; a tuple: one of them)."""
    if len(rest) == len(types):
        for value, wanted in zip(rest, types, strict=True):
            kind = type(value)
            if kind is not wanted and not (type(wanted) is tuple and kind in wanted):
                break
        else:
            return
    raise ProtocolError(f"{what} takes {show(types)}, got {[type(v).__name__ for v in rest]}")


def parse_command(value: Any) -> tuple[int, Command[Any]]:
    """Validate a decoded frame as a command; ProtocolError otherwise."""
    if type(value) is list and len(value) >= 2 and type(value[1]) is str:
        cls = COMMANDS.get(value[1])  # (str keys only: a list kind cannot reach the dict)
        command_id = value[0]
        if cls is not None and type(command_id) is int and 0 <= command_id <= MAX_ID:
            if len(value) == 2 and not cls.WIRE:
                return command_id, cls()
            rest = value[2:]
            _typed(rest, cls.WIRE, cls.KIND)
            command = cls(*rest)
            if cls.CHECKS:
                command.check()
            return command_id, command
    command_id, kind, _ = _split(value, "command")  # says what is wrong
    raise ProtocolError(f"unknown command {show(kind)}")


_REPLY_FIELDS: Final[dict[str, tuple[type | tuple[type, ...], ...]]] = {
    "ok": (),
    "error": (str, str, (str, type(None)), (list, type(None))),
    "import": (str, str, list, str),
    "output": (int, bytes),
}


def parse_reply(value: Any) -> tuple[int, Reply]:
    """Validate a decoded frame as a reply; ProtocolError otherwise."""
    command_id, kind, rest = _split(value, "reply")
    if kind == "execution_result":
        return command_id, Result(tuple(rest))
    types = _REPLY_FIELDS.get(kind)
    if types is None:
        raise ProtocolError(f"unknown reply {show(kind)}")
    _typed(rest, types, kind)
    if kind == "ok":
        return command_id, Ok()
    if kind == "error":
        return command_id, Error(*rest)
    if kind == "output":
        if rest[0] not in OUTPUT_STREAMS:
            raise ProtocolError(f"output to an unknown stream {show(rest[0])}")
        return command_id, OutputChunk(rest[0], rest[1])
    return command_id, ImportRequest(
        rest[0], rest[1], numbers_of(rest[2], "import arguments"), rest[3]
    )


def encode_hint(digest: bytes, limits: dict[str, Any], cache_dir: str | None) -> bytes:
    """Which module a worker will run, so the fork-server can fork it compiled."""
    return SPAWN + cast(
        bytes, msgpack.packb({"digest": digest, "limits": limits, "cache_dir": cache_dir})
    )


def parse_hint(data: bytes) -> dict[str, Any] | None:
    """A spawn request's hint, or None where there is none worth following."""
    if not data.startswith(SPAWN):
        return None
    try:
        hint = msgpack.unpackb(data[len(SPAWN) :]) if len(data) > len(SPAWN) else None
    except Exception:
        return None
    if not isinstance(hint, dict):
        return None
    digest, cache_dir = hint.get("digest"), hint.get("cache_dir")
    if type(digest) is not bytes or len(digest) != 32 or not isinstance(cache_dir, str):
        return None
    return hint
