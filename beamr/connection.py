"""The parent's side of one worker connection, as an explicit state machine (sans-IO).

Rules:

1. The exchange is a strict stack. A command is sent only when none is in flight, or
   when the innermost one waits for an import answer (a handler's nested command).
2. Every frame from the worker belongs to the innermost pending command: its id must
   say so. A final reply pops that command; an import request (only for the commands
   that run wasm: ``call``, ``init``, ``instantiate``) marks it as waiting for an
   answer, and the worker then says nothing more about it until the answer is sent.
   Output chunks (for those commands too) change nothing: they are passed on.
3. A final reply must have the shape its command expects (``size`` -> one int,
   ``write`` -> ok, ``locate`` -> two ints, ...): the command's own ``accept``.

Who is to blame is part of the error. A worker that breaks a rule raises
:class:`~beamr.protocol.RemoteProtocolError` and the connection is broken for good (the
parent then kills the worker). The parent breaking a rule (sending while a command is
in flight, answering an import nobody asked) raises
:class:`~beamr.protocol.LocalProtocolError`: nothing is sent, nothing changes, the
worker is unharmed.

Cancellation uses an explicit drain rather than discarding by id: when the parent
abandons a command (a cancelled await, a timeout), it interrupts the wasm out of band
(the interrupt channel carries the call id, so an interrupt that arrives late can
never stop a later call), leaves the command on the stack, and before the next
command answers outstanding import requests with ``import_error`` and reads until
each abandoned command's final reply has arrived (:meth:`ParentConnection.recovery_step`).

    (state)                   (event)                        (next state)
    idle                      send(command)                  in flight
    in flight                 final reply                    idle (or the outer command)
    in flight (call, init)    import request                 awaiting an import answer
    awaiting an import answer send(nested command)           nested command in flight
    awaiting an import answer answer_import(...)             in flight
    any                       a frame that breaks a rule     broken (RemoteProtocolError)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from beamr.protocol import (
    ANSWERS,
    REPLY_MAX_FRAME_SIZE,
    WASM_RUNNING,
    Command,
    Error,
    FrameDecoder,
    ImportFailed,
    ImportRequest,
    ImportResponse,
    LocalProtocolError,
    OutputChunk,
    ProtocolError,
    RemoteProtocolError,
    encode_command,
    parse_reply,
    show,
)

__all__ = ["Done", "Event", "ParentConnection", "Pending"]


@dataclass(slots=True)
class Pending:
    """A command sent and not yet answered."""

    command_id: int
    command: Command[Any]
    #: the worker is suspended in an import of this call, waiting for our answer
    awaiting_import: bool = False
    #: the parent gave up on it; its reply must be drained before the next command
    abandoned: bool = False


@dataclass(frozen=True, slots=True)
class Done:
    """A command's final reply, checked: the value its command expects."""

    value: Any


Event = Done | Error | ImportRequest | OutputChunk


class ParentConnection:
    """See the module documentation. :meth:`send` turns a command into bytes and
    records it; :meth:`receive_data` takes bytes from the worker; :meth:`next_event`
    returns ``(pending, event)`` pairs."""

    def __init__(self, max_frame_size: int = REPLY_MAX_FRAME_SIZE) -> None:
        self._decoder = FrameDecoder(max_frame_size)
        self._next_id = 1
        self.stack: list[Pending] = []
        self.broken: RemoteProtocolError | None = None

    @property
    def depth(self) -> int:
        return len(self.stack)

    def send(self, command: Command[Any]) -> tuple[Pending, bytes]:
        """Record ``command`` as the new innermost pending command; its frame."""
        self._check()
        if isinstance(command, ANSWERS):
            raise LocalProtocolError("answer imports with answer_import()")
        if self.stack and not self.stack[-1].awaiting_import:
            raise LocalProtocolError(
                "a command is in flight; another may only be sent while it waits "
                "for an import answer"
            )
        try:
            frame = encode_command(self._next_id, command)  # may raise: record nothing
        except TypeError as exc:
            raise LocalProtocolError(f"cannot send {show(command)}: {exc}") from None
        pending = Pending(self._next_id, command)
        self._next_id += 1
        self.stack.append(pending)
        return pending, frame

    def answer_import(
        self, answer: ImportResponse | ImportFailed, pending: Pending | None = None
    ) -> bytes:
        """The frame answering the import request of the innermost pending call.

        With ``pending``, also check that the answer is for that call: an answer
        meant for an outer call must never reach a nested one."""
        self._check()
        if not self.stack or not self.stack[-1].awaiting_import:
            raise LocalProtocolError("no import request is waiting for an answer")
        top = self.stack[-1]
        if pending is not None and top is not pending:
            raise LocalProtocolError(
                f"import answer for command {pending.command_id}, but command "
                f"{top.command_id} is the innermost"
            )
        frame = encode_command(top.command_id, answer)
        top.awaiting_import = False
        return frame

    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        self._decoder.feed(data)

    def next_event(self) -> tuple[Pending, Event] | None:
        """The next event and the pending command it belongs to; None: more bytes."""
        self._check()
        try:
            value = self._decoder.next_frame()
            if value is None:
                return None
            command_id, reply = parse_reply(value)
            if not self.stack:
                raise RemoteProtocolError(f"unsolicited reply {show(reply)}")
            top = self.stack[-1]
            if command_id != top.command_id:
                raise RemoteProtocolError(
                    f"reply for command {command_id}, expected {top.command_id}"
                )
            if top.awaiting_import:
                raise RemoteProtocolError("reply while an import answer is outstanding")
            if isinstance(reply, ImportRequest | OutputChunk):
                if not isinstance(top.command, WASM_RUNNING):
                    what = "output" if isinstance(reply, OutputChunk) else "import request"
                    raise RemoteProtocolError(f"{what} during {top.command.KIND}")
                if isinstance(reply, ImportRequest):
                    top.awaiting_import = True
                return top, reply
            event: Event = reply if isinstance(reply, Error) else Done(top.command.accept(reply))
            self.stack.pop()
            return top, event
        except RemoteProtocolError as exc:
            self.broken = exc
            raise
        except ProtocolError as exc:  # a frame the decoder or parser refused
            self.broken = RemoteProtocolError(str(exc))
            raise self.broken from None

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
        ("cancelled"), which makes the wasm trap out of that import."""
        if len(self.stack) > depth and self.stack[-1].awaiting_import:
            return self.answer_import(ImportFailed("cancelled", "the caller was cancelled"))
        return None

    def _check(self) -> None:
        if self.broken is not None:
            raise LocalProtocolError(f"the connection is broken: {self.broken}")
