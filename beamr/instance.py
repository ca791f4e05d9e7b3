"""The Instance actor: one worker process, one mailbox.

One command is in flight per worker. Tasks that use the same instance queue on its
lock and are served in turn. While an import handler runs, the wasm is suspended in
the worker and the handler (and any task it starts) may use the same instance: those
commands go through a mailbox of their own for that nesting level, so a nested
``beamr.call`` works instead of deadlocking, and unrelated tasks still wait.

Cancelling an await abandons the command: the wasm is interrupted out of band, and
the next command first drains what the abandoned one left (see :mod:`beamr.protocol`).
"""

from __future__ import annotations

import collections
import contextlib
import contextvars
import errno
import functools
import hashlib
import inspect
import logging
import os
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, NoReturn, TypeVar

import anyio
import anyio.abc
import msgpack

from beamr import _bulk, _loops, _process
from beamr import protocol as p
from beamr.errors import (
    BeamrError,
    CallTimeout,
    ExportNotFound,
    ImportHandlerError,
    InstanceClosed,
    InvalidModule,
    MissingImport,
    NestingTooDeep,
    OutOfBounds,
    ProtocolViolation,
    SandboxError,
    StartTrapped,
    Trap,
    WorkerCrashed,
)
from beamr.types import (
    Export,
    Import,
    Limits,
    Output,
    WasiConfig,
    check_signature_value,
    split_signature,
)

logger = logging.getLogger("beamr")

Number = int | float
_T = TypeVar("_T")
Handler = Callable[..., Any]
ImportMap = Mapping[str, Mapping[str, Handler]]

RECEIVE_SIZE = 1 << 16
RECEIVE_MAX = 16 << 20
#: transfers from this size up go through the bulk path (see beamr._bulk); measured:
#: below it one inline frame is as fast as a locate round trip plus the copy
BULK_THRESHOLD = 32 << 10
#: how long draining an abandoned command may take before the worker is killed
RECOVERY_TIMEOUT = 10.0
#: how long a worker gets to exit after stop, and after SIGTERM
STOP_GRACE = 1.0


class _Mailbox:
    """A fair lock that costs nothing when free.

    ``anyio.Lock(fast_acquire=True)`` still goes through trio's parking lot (about
    4 us a command). Here a free mailbox is a flag; a busy one queues an Event per
    waiter and hands ownership to the first in line on release.
    """

    __slots__ = ("_held", "_waiters")

    def __init__(self) -> None:
        self._held = False
        self._waiters: collections.deque[anyio.Event] = collections.deque()

    def locked(self) -> bool:
        return self._held

    def try_acquire(self) -> bool:
        """Take it if it is free (no await: the hot path); False if it is not."""
        if self._held:
            return False
        self._held = True
        return True

    async def __aenter__(self) -> None:
        await self.acquire()

    async def acquire(self) -> None:
        """Wait in line for it (fair: first come, first served)."""
        if not self._held:
            self._held = True
            return
        event = anyio.Event()
        self._waiters.append(event)
        try:
            await event.wait()
        except BaseException:
            if event.is_set():  # handed to us as we were cancelled: pass it on
                self.release()
            else:
                self._waiters.remove(event)
            raise

    async def __aexit__(self, *exc_info: object) -> None:
        self.release()

    def release(self) -> None:
        if self._waiters:
            self._waiters.popleft().set()  # ownership passes on: still held
        else:
            self._held = False

    def wake_all(self) -> None:
        """Wake every waiter (the instance was stopped: each finds it closed and
        raises). The mailbox is not used again."""
        while self._waiters:
            self._waiters.popleft().set()


@dataclass(eq=False)
class _HandlerScope:
    """The import handler being run for one instance at one nesting depth."""

    instance: Instance
    depth: int
    lock: _Mailbox
    active: bool = True
    #: cancelled when the instance is stopped: a handler never outlives its instance
    cancel: anyio.CancelScope | None = None


#: the handler scopes this context is inside of, outermost first, across instances
#: (A's handler may call B, whose handler uses A: A's scope must still be found)
_scopes: contextvars.ContextVar[tuple[_HandlerScope, ...]] = contextvars.ContextVar(
    "beamr_handler_scopes", default=()
)

_ERRORS: dict[str, type[BeamrError]] = {
    "invalid_module": InvalidModule,
    "export_not_found": ExportNotFound,
    "missing_import": MissingImport,
    "import_handler_error": ImportHandlerError,
    "out_of_bounds": OutOfBounds,
    "sandbox": SandboxError,
    "nesting_too_deep": NestingTooDeep,
    "timeout": CallTimeout,
}


def _debug() -> bool:
    return logger.isEnabledFor(logging.DEBUG)


class _TooLarge(BeamrError):
    """The answer would not fit one frame (``too_large``, detail: its size)."""

    def __init__(self, text: str, size: int) -> None:
        super().__init__(text)
        self.size = size


def _error_from_reply(reply: p.Error) -> BeamrError:
    if reply.kind == "too_large":
        detail = reply.detail or []
        if len(detail) == 1 and type(detail[0]) is int and detail[0] >= 0:
            return _TooLarge(reply.text, detail[0])
    if reply.kind == "trap":
        return Trap(reply.text, reply.code)
    if reply.kind == "invalid_module" and reply.code is not None:
        return StartTrapped(reply.text, reply.code)
    if reply.kind == "missing_import":
        detail = reply.detail or []
        if len(detail) == 2 and all(isinstance(part, str) for part in detail):
            return MissingImport(reply.text, detail[0], detail[1])
        return MissingImport(reply.text)
    if reply.kind == "bad_argument":
        return BeamrError(f"the worker refused the arguments: {reply.text}")
    return _ERRORS.get(reply.kind, BeamrError)(reply.text)


def _text(value: Any) -> str:
    if type(value) is not str:
        raise TypeError(f"not a str: {value!r:.40}")
    return value


def _as_handler_results(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, int | float):
        return [value]
    if isinstance(value, Sequence) and not isinstance(value, str | bytes | bytearray):
        return list(value)
    raise TypeError(
        f"a handler returns None, a number or a sequence of numbers, not {type(value).__name__}"
    )


class Instance:
    """A running WASM instance in its own worker process.

    Create it with :func:`beamr.start`; end it with :func:`beamr.stop`,
    ``await instance.aclose()`` or ``async with instance:``.
    """

    exports: tuple[Export, ...]
    imports: tuple[Import, ...]

    def __init__(
        self,
        process: _process.WorkerProcess,
        channel: _process.Channel,
        handlers: dict[tuple[str, str], Handler],
        limits: Limits,
    ) -> None:
        self._process = process
        self._channel = channel
        self._handlers = handlers
        self._limits = limits
        self._conn = p.ParentConnection()
        self._lock = _Mailbox()
        #: handler scopes open on this instance, by depth
        self._open_scopes: list[_HandlerScope] = []
        #: the event loop this instance belongs to (see beamr._loops)
        self._loop = _loops.current_loop()
        #: the largest memory the worker can have (its RLIMIT_DATA): the bound of what
        #: the bulk path will believe of a size it reports
        self._memory_bound = p.process_limit(limits.memory_bytes, limits.process_bytes)
        self._closed = False
        self._stopped = anyio.Event()
        self._crash: WorkerCrashed | None = None
        #: whether the bulk path may be tried (off for good after the system refuses)
        self.bulk = _bulk.AVAILABLE
        self.exports = ()
        self.imports = ()
        self._functions: dict[str, str] = {}
        self._import_sigs: dict[tuple[str, str], str] = {}
        self._finalizer = weakref.finalize(self, process.kill_now)
        _loops.end_with_loop(self._loop, self._end_with_loop)

    # ------------------------------------------------------------------ properties

    @property
    def pid(self) -> int:
        """The worker's process id."""
        return self._process.pid

    @property
    def closed(self) -> bool:
        """Whether :meth:`aclose` (or :func:`beamr.stop`) was called."""
        return self._closed

    @property
    def usable(self) -> bool:
        """Whether commands can still be sent: not stopped, and the worker alive (its
        exit is noticed here even while the instance is idle)."""
        if self._closed or self._crash is not None:
            return False
        return self._process.alive

    def signature(self, name: str) -> str:
        """The signature of the exported function ``name``; ExportNotFound if none."""
        try:
            return self._functions[name]
        except KeyError:
            raise ExportNotFound(f"the module exports no function named {name!r}") from None

    def __repr__(self) -> str:
        state = "closed" if self._closed else "crashed" if self._crash else "running"
        return f"<beamr.Instance pid={self.pid} {state}>"

    # ---------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> Instance:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop the worker (idempotent, never raises). Pending commands raise InstanceClosed.

        Even in the middle of a runaway call: the worker is told to go (its interrupt
        pipe closes, which it obeys at once), then SIGTERM after a grace period, then
        SIGKILL; it is reaped and every descriptor closed.
        """
        if self._closed:
            with anyio.CancelScope(shield=True):
                await self._stopped.wait()  # a concurrent aclose is still at it
            return
        self._closed = True
        self._finalizer.detach()
        process = self._process
        # Every task waiting on this instance raises InstanceClosed now: queued ones
        # are woken, handlers still running are cancelled.
        self._lock.wake_all()
        for scope in self._open_scopes:
            scope.lock.wake_all()
            if scope.cancel is not None:
                scope.cancel.cancel()
        with anyio.CancelScope(shield=True):
            try:
                if not self._lock.locked() and not self._conn.stack and self._crash is None:
                    # Idle: ask politely; the worker exits when it reads this.
                    with contextlib.suppress(Exception):
                        _, frame = self._conn.send(p.Stop())
                        with anyio.move_on_after(STOP_GRACE):
                            await self._channel.send(frame)
                process.interrupt([pending.command_id for pending in self._conn.stack])
                process.close_interrupts()
                self._channel.close()
                code = await process.end(STOP_GRACE)
                logger.info("worker %d stopped (exit code %s)", process.pid, code)
            except BaseException:  # pragma: no cover - last resort, stop never raises
                logger.exception("error while stopping worker %d", process.pid)
                process.kill_now()
            finally:
                process.release()
                self._stopped.set()

    def _end_with_loop(self) -> None:
        """The event loop is ending: stop the worker now, without awaiting."""
        if self._closed:
            return
        self._closed = True
        self._finalizer.detach()
        self._lock.wake_all()
        with contextlib.suppress(Exception):
            self._channel.close()
        self._process.kill_now()
        self._stopped.set()

    async def output(self) -> Output:
        """Take the WASI stdout and stderr captured since the last call."""
        out, err = bytearray(), bytearray()
        async with self.session() as send:
            while True:
                result = await send(p.Output(p.INLINE_CHUNK))
                values = result.values if isinstance(result, p.Result) else ()
                if len(values) != 2 or not all(type(v) is bytes for v in values):
                    await self._crashed(f"output answered {result!r:.80}", violation=True)
                out += values[0]
                err += values[1]
                if len(values[0]) < p.INLINE_CHUNK and len(values[1]) < p.INLINE_CHUNK:
                    return Output(bytes(out), bytes(err))

    # ------------------------------------------------------------------- commands

    def _check_usable(self) -> None:
        if self._closed:
            raise InstanceClosed(f"instance (worker {self.pid}) was stopped")
        if self._crash is not None:
            raise type(self._crash)(str(self._crash), self._crash.exitcode)

    def _scope(self) -> _HandlerScope | None:
        """The innermost handler of this instance that the current task is inside of."""
        for scope in reversed(_scopes.get()):
            if scope.instance is self and scope.active:
                return scope
        return None

    def _check_loop(self) -> None:
        if _loops.current_loop() is not self._loop:
            raise RuntimeError(
                "a beamr instance belongs to the event loop that started it; "
                "it cannot be used from another one"
            )

    async def _acquire(self) -> tuple[_Mailbox, int]:
        """Take this task's mailbox (the instance's, or its handler scope's); its depth."""
        while True:
            scope = self._scope()
            depth, lock = (scope.depth, scope.lock) if scope else (0, self._lock)
            if not lock.try_acquire():
                await lock.acquire()
            if scope is None or scope.active:
                return lock, depth
            lock.release()  # that handler has returned: queue at the level above

    async def request(
        self,
        command: p.Command,
        *,
        time_limit: float | None = None,
        then: Callable[[p.Result | p.Ok], Awaitable[None]] | None = None,
    ) -> p.Result | p.Ok:
        """Send one command and return its final reply; errors become exceptions.

        ``time_limit`` (seconds) bounds the exchange itself (not the wait for the mailbox):
        past it the command is abandoned and interrupted, and CallTimeout raised.
        ``then`` runs on a successful reply while the instance is still held, so that
        nothing else reaches the worker in between (the bulk copy of a ``locate``).
        A command from another event loop is refused (RuntimeError) before anything
        changes.
        """
        self._check_usable()
        self._check_loop()
        if not _scopes.get() and self._lock.try_acquire():  # free, and no handler: the hot path
            lock, depth = self._lock, 0
        else:
            lock, depth = await self._acquire()
        try:
            if depth >= p.MAX_NESTING and type(command) is p.Call:
                raise NestingTooDeep(
                    f"calls nest at most {p.MAX_NESTING} deep through import handlers"
                )
            return await self._send_held(command, depth, time_limit, then)
        finally:
            lock.release()

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[Callable[[p.Command], Awaitable[p.Result | p.Ok]]]:
        """Hold the instance for several commands in a row: ``send(command)`` inside
        the block; nothing else reaches the worker in between."""
        self._check_usable()
        self._check_loop()
        lock, depth = await self._acquire()
        try:
            yield functools.partial(self._send_held, depth=depth)
        finally:
            lock.release()

    async def _send_held(
        self,
        command: p.Command,
        depth: int,
        time_limit: float | None = None,
        then: Callable[[p.Result | p.Ok], Awaitable[None]] | None = None,
    ) -> p.Result | p.Ok:
        """One exchange, the mailbox held; the error replies raised as exceptions."""
        self._check_usable()
        broken = False
        try:
            if len(self._conn.stack) > depth:
                await self._recover(depth)
            if time_limit is None:
                reply, handler_error = await self._exchange(command, depth)
            else:
                with anyio.move_on_after(time_limit) as timer:
                    reply, handler_error = await self._exchange(command, depth)
                if timer.cancelled_caught:
                    raise CallTimeout(f"{type(command).__name__.lower()} ran past {time_limit}s")
            if then is not None and not isinstance(reply, p.Error):
                await then(reply)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream):
            broken = True
        except p.ProtocolError as exc:  # our state and the worker's disagree
            await self._crashed(f"protocol violation: {exc}", violation=True)
        if broken:
            # stopped under our feet (InstanceClosed), or the worker died
            self._check_usable()
            await self._crashed("the connection to the worker broke")
        if isinstance(reply, p.Error):
            error = _error_from_reply(reply)
            if handler_error is not None:
                raise error from handler_error
            raise error
        return reply

    async def _exchange(
        self, command: p.Command, depth: int
    ) -> tuple[p.Result | p.Ok | p.Error, BaseException | None]:
        pending, frame = self._conn.send(command)
        if _debug():
            logger.debug(
                "worker %d <- #%d %s (depth %d, %d bytes)",
                self.pid,
                pending.command_id,
                type(command).__name__,
                depth,
                len(frame),
            )
        handler_error: BaseException | None = None
        try:
            await self._channel.send(frame)  # never abandons a frame half-sent
            while True:
                owner, reply = await self._next_event()
                if isinstance(reply, p.ImportRequest):
                    answer, error = await self._run_handler(reply, depth + 1)
                    # The handler may have seen the worker die, or stopped the instance.
                    self._check_usable()
                    # Nested commands it abandoned (cancelled) must be drained first.
                    if len(self._conn.stack) > depth + 1:
                        await self._recover(depth + 1)
                    handler_error = handler_error or error
                    await self._channel.send(self._conn.answer_import(answer, pending))
                    continue
                if owner is not pending:  # pragma: no cover - ParentConnection guarantees it
                    raise p.ProtocolError("reply for another command")
                return reply, handler_error
        except BaseException:
            if self._conn.stack[depth:] and self._crash is None and not self._closed:
                abandoned = self._conn.abandon(depth)
                self._process.interrupt([a.command_id for a in abandoned])
            raise

    async def _describe(self, reply: p.Result | p.Ok) -> None:
        """Take the module's imports and exports from the ``init`` reply."""
        try:
            raw_imports, raw_exports = reply.values  # type: ignore[union-attr]
            imports = tuple(Import(*map(_text, i)) for i in raw_imports)
            exports = tuple(Export(*map(_text, e)) for e in raw_exports)
        except (AttributeError, TypeError, ValueError):
            await self._crashed(f"init answered {reply!r:.80}", violation=True)
        self.imports, self.exports = imports, exports
        self._functions = {e.name: e.signature for e in exports if e.kind == "func"}

    # ------------------------------------------------------------------ memory io

    async def memory_size(self) -> int:
        """The linear memory's size in bytes (0 without a memory)."""
        return await self._size(await self.request(p.Size()))

    async def read_string(self, offset: int) -> bytes:
        """The bytes from ``offset`` to the first NUL, found by the worker."""
        try:
            reply = await self.request(p.ReadString(offset))
        except _TooLarge as exc:  # longer than one frame: read as plain bytes
            return await self.read_memory(offset, exc.size)
        return await self._bytes(reply, "read_string")

    async def read_memory(self, offset: int, size: int) -> bytes:
        """``size`` bytes at ``offset``: bulk from ``BULK_THRESHOLD`` up where the
        system allows it, else inline frames of at most ``INLINE_CHUNK`` bytes."""
        if size >= BULK_THRESHOLD and self.bulk:
            data = await self._bulk_read(offset, size)
            if data is not None:
                return data
        if size <= p.INLINE_CHUNK:
            return await self._bytes(await self.request(p.Read(offset, size)), "read")
        async with self.session() as send:
            parts = [
                await self._bytes(
                    await send(p.Read(at, min(p.INLINE_CHUNK, offset + size - at))), "read"
                )
                for at in range(offset, offset + size, p.INLINE_CHUNK)
            ]
        return b"".join(parts)

    async def write_memory(self, offset: int, data: bytes) -> None:
        """Write ``data`` at ``offset``, all or nothing (bulk or inline, as reads)."""
        if len(data) >= BULK_THRESHOLD and self.bulk and await self._bulk_write(offset, data):
            return
        if len(data) <= p.INLINE_CHUNK:
            await self.request(p.Write(offset, data))
            return
        async with self.session() as send:
            length = await self._size(await send(p.Size()))
            if offset + len(data) > length:
                raise OutOfBounds(
                    f"write of {len(data)} bytes at {offset} is outside the memory of "
                    f"{length} bytes"
                )
            view = memoryview(data)
            for at in range(0, len(data), p.INLINE_CHUNK):
                await send(p.Write(offset + at, bytes(view[at : at + p.INLINE_CHUNK])))

    async def snapshot(self) -> bytes:
        """The whole linear memory."""
        if self.bulk:
            data = await self._bulk_read(0, -1)
            if data is not None:
                return data
        async with self.session() as send:
            length = await self._size(await send(p.Size()))
            parts = [
                await self._bytes(await send(p.Read(at, min(p.INLINE_CHUNK, length - at))), "read")
                for at in range(0, length, p.INLINE_CHUNK)
            ]
        return b"".join(parts)

    async def restore(self, data: bytes) -> None:
        """Write a snapshot back at offset 0; OutOfBounds (nothing changed) if it does
        not fit."""
        if self.bulk and await self._bulk_write(0, data, snapshot=True):
            return
        async with self.session() as send:
            length = await self._size(await send(p.Size()))
            if len(data) > length:
                raise OutOfBounds(
                    f"snapshot of {len(data)} bytes does not fit the memory of {length} bytes"
                )
            view = memoryview(data)
            for at in range(0, len(data), p.INLINE_CHUNK):
                await send(p.Write(at, bytes(view[at : at + p.INLINE_CHUNK])))

    async def _bytes(self, reply: p.Result | p.Ok, what: str) -> bytes:
        values = reply.values if isinstance(reply, p.Result) else ()
        if len(values) != 1 or type(values[0]) is not bytes:
            await self._crashed(f"{what} answered {reply!r:.80}", violation=True)
        return bytes(values[0])

    async def _size(self, reply: p.Result | p.Ok) -> int:
        values = reply.values if isinstance(reply, p.Result) else ()
        if (
            len(values) != 1
            or type(values[0]) is not int
            or not 0 <= values[0] <= self._memory_bound
        ):
            await self._crashed(f"size answered {reply!r:.80}", violation=True)
        return int(values[0])

    async def _bulk_read(self, offset: int, size: int) -> bytes | None:
        """Read through the bulk path (see :mod:`beamr._bulk`); None: use the inline one.

        ``size == -1`` reads the whole memory from ``offset`` (a snapshot).
        """
        out: list[bytes] = []

        async def copy(reply: p.Result | p.Ok) -> None:
            address, length = self._located(reply)
            count = length - offset if size == -1 else size
            if not 0 <= count <= self._memory_bound:  # the worker's word, bounded
                raise p.ProtocolError(f"locate: a memory of {length} bytes")
            data = await self._bulk_copy(lambda: _bulk.read(self.pid, address, count))
            if data is not None:
                out.append(data)

        await self.request(p.Locate(offset, max(size, 0), "read"), then=copy)
        return out[0] if out else None

    async def _bulk_write(self, offset: int, data: bytes, *, snapshot: bool = False) -> bool:
        """Write through the bulk path; False: use the inline one.

        ``snapshot`` checks that ``data`` fits the whole memory (``deserialize``).
        """
        done: list[bool] = []

        async def copy(reply: p.Result | p.Ok) -> None:
            address, length = self._located(reply)
            if snapshot and len(data) > length:
                raise OutOfBounds(
                    f"snapshot of {len(data)} bytes does not fit the memory of {length} bytes"
                )
            if await self._bulk_copy(lambda: _bulk.write(self.pid, address, data)) is not None:
                done.append(True)

        size = 0 if snapshot else len(data)
        await self.request(p.Locate(offset, size, "write"), then=copy)
        return bool(done)

    def _located(self, reply: p.Result | p.Ok) -> tuple[int, int]:
        values = reply.values if isinstance(reply, p.Result) else ()
        if len(values) != 2 or not all(type(v) is int and v >= 0 for v in values):
            raise p.ProtocolError(f"locate answered {reply!r:.80}")
        return values[0], values[1]

    async def _bulk_copy(self, copy: Callable[[], _T]) -> _T | None:
        """Run a bulk copy; None (and the inline path from now on) if the system refuses."""
        if not self._process.pinned:  # its pid might name another process by now
            return None
        try:
            return copy()
        except _bulk.Unavailable as exc:
            logger.info("worker %d: bulk io unavailable (%s); using frames", self.pid, exc)
            self.bulk = False
            return None
        except _bulk.Fault as exc:
            await self._crashed(str(exc), violation=not exc.gone)

    async def _send(self, frame: bytes) -> None:
        await self._channel.send(frame)  # never abandons a frame half-sent

    async def _next_event(self) -> tuple[p.Pending, p.Reply]:
        while True:
            try:
                event = self._conn.next_event()
            except p.ProtocolError as exc:
                await self._crashed(f"protocol violation: {exc}", violation=True)
            if event is not None:
                if _debug():
                    logger.debug(
                        "worker %d -> #%d %s",
                        self.pid,
                        event[0].command_id,
                        type(event[1]).__name__,
                    )
                return event
            data = await self._channel.receive(RECEIVE_SIZE)
            if not data:
                self._check_usable()
                await self._crashed("the worker exited")
            self._conn.receive_data(data)

    async def _recover(self, depth: int) -> None:
        """Drain every abandoned command above ``depth`` before sending a new one."""
        if not self._conn.needs_recovery(depth):
            return
        self._process.interrupt([pending.command_id for pending in self._conn.stack[depth:]])
        with anyio.move_on_after(RECOVERY_TIMEOUT) as timer:
            # Tasks a handler started may still be in the middle of a deeper command
            # (and reading its reply): close their scopes and let them finish first.
            for scope in reversed(list(self._open_scopes)):
                if scope.depth > depth:
                    await self._close_scope(scope)
            while self._conn.needs_recovery(depth):
                frame = self._conn.recovery_step(depth)
                if frame is not None:
                    await self._send(frame)
                    continue
                await self._next_event()
        if timer.cancelled_caught:
            await self._crashed(
                f"the worker did not finish an abandoned command within {RECOVERY_TIMEOUT}s",
                kill=True,
            )

    async def _crashed(
        self, reason: str, *, violation: bool = False, kill: bool = False
    ) -> NoReturn:
        """The worker is gone or unusable: reap it, remember why, raise."""
        if self._crash is None:
            process = self._process
            with anyio.CancelScope(shield=True):
                if violation or kill:
                    process.signal(9)
                with anyio.move_on_after(STOP_GRACE * 3):
                    await process.end(STOP_GRACE)
            code = process.returncode
            cls = ProtocolViolation if violation else WorkerCrashed
            self._crash = cls(f"worker {process.pid}: {reason} (exit code {code})", code)
            logger.info("worker %d crashed: %s (exit code %s)", process.pid, reason, code)
            self._channel.close()
            process.release()
            self._finalizer.detach()
        self._check_usable()
        raise AssertionError("unreachable: _check_usable raises once crashed")  # pragma: no cover

    # -------------------------------------------------------------------- imports

    async def _run_handler(
        self, request: p.ImportRequest, depth: int
    ) -> tuple[p.ImportResponse | p.ImportError_, BaseException | None]:
        key = (request.module, request.name)
        handler = self._handlers.get(key)
        qualified = f"{request.module}.{request.name}"
        if handler is None:  # the worker only asks for handled imports
            return p.ImportError_("missing_import", f"{qualified} has no handler"), None
        scope = _HandlerScope(self, depth, _Mailbox(), cancel=anyio.CancelScope())
        self._open_scopes.append(scope)
        token = _scopes.set((*_scopes.get(), scope))
        try:
            assert scope.cancel is not None
            with scope.cancel:  # cancelled by aclose: a handler never outlives its instance
                result = handler(self, *request.args)
                if inspect.isawaitable(result):
                    result = await result
            if scope.cancel.cancelled_caught:
                self._check_usable()  # stopped: InstanceClosed
            _, result_chars = split_signature(request.signature)
            values = _as_handler_results(result)
            if len(values) != len(result_chars):
                raise TypeError(
                    f"{qualified} must return {len(result_chars)} value(s) for signature "
                    f"{request.signature}, got {len(values)}"
                )
            converted = [
                check_signature_value(char, value, f"{qualified} result {i}")
                for i, (char, value) in enumerate(zip(result_chars, values, strict=True))
            ]
        except Exception as exc:
            await self._close_scope(scope)
            text = f"import handler {qualified} raised {type(exc).__name__}: {exc}"
            return p.ImportError_("import_handler_error", text), exc
        else:
            await self._close_scope(scope)
        finally:
            # Closed, but left registered if tasks the handler started may still be
            # mid-command in it (cancellation): recovery waits for them, then drops it.
            scope.active = False
            _scopes.reset(token)
        return p.ImportResponse(converted), None

    async def _close_scope(self, scope: _HandlerScope) -> None:
        """Wait for commands still in flight from tasks the handler started."""
        if scope.lock.locked():
            async with scope.lock:
                scope.active = False
        else:  # nothing in flight: no task can slip in between (no await here)
            scope.active = False
        with contextlib.suppress(ValueError):
            self._open_scopes.remove(scope)

    # ------------------------------------------------------------------------ call

    async def call(self, name: str, args: Sequence[Number] = ()) -> list[Number]:
        """Call the exported function ``name``; see :func:`beamr.call`."""
        if not isinstance(name, str):
            raise TypeError(f"the export name must be a str, got {type(name).__name__}")
        if isinstance(args, str | bytes | bytearray) or not isinstance(args, Sequence):
            raise TypeError(f"args must be a list of numbers, got {type(args).__name__}")
        for i, value in enumerate(args):
            if type(value) is bool or not isinstance(value, int | float):
                raise TypeError(
                    f"argument {i} of {name} must be a number, got {type(value).__name__}"
                )
        self._check_usable()
        signature = self.signature(name)
        params, results = split_signature(signature)
        if len(args) != len(params):
            raise TypeError(f"{name}{signature} takes {len(params)} arguments, got {len(args)}")
        converted = [
            check_signature_value(char, value, f"argument {i} of {name}")
            for i, (char, value) in enumerate(zip(params, args, strict=True))
        ]
        if not p.NUMBER_CHARS.issuperset(results):
            raise TypeError(
                f"{name}{signature} returns values that cannot cross to Python "
                "(only i32, i64, f32 and f64 can)"
            )
        timeout = self._limits.call_timeout
        try:
            reply = await self.request(p.Call(name, converted), time_limit=timeout)
        except CallTimeout:
            raise CallTimeout(f"{name} ran longer than {timeout}s and was interrupted") from None
        values = reply.values if isinstance(reply, p.Result) else ()
        if (
            len(values) != 1
            or type(values[0]) is not list
            or len(values[0]) != len(results)
            or not all(type(v) is int or type(v) is float for v in values[0])
        ):
            await self._crashed(f"call answered {reply!r:.80}", violation=True)
        return values[0]


async def start(
    binary: bytes | bytearray | memoryview,
    *,
    imports: ImportMap | None = None,
    wasi: bool | WasiConfig | None = None,
    limits: Limits | None = None,
    sandbox: bool = True,
) -> Instance:
    """Start a worker process running ``binary`` and return its :class:`Instance`.

    ``imports`` maps module name -> import name -> handler ``(instance, *args)``,
    sync or async, returning None, a number or a sequence of numbers. ``wasi=True``
    (or a :class:`WasiConfig`) provides WASI preview1 from wasmtime, default-deny.
    ``sandbox=False`` runs the worker without its sandbox (no seccomp filter, no
    Landlock, capabilities kept): an explicit choice for platforms where it cannot
    be had; by default a worker that cannot be confined raises
    :class:`~beamr.SandboxError` and never runs the module.
    """
    if isinstance(binary, str) or not isinstance(binary, bytes | bytearray | memoryview):
        raise TypeError(f"the module must be bytes-like, got {type(binary).__name__}")
    handlers = _check_imports(imports)
    if wasi is not None and not isinstance(wasi, bool | WasiConfig):
        raise TypeError("wasi must be True, False, None or a beamr.WasiConfig")
    if limits is None:
        limits = Limits()
    elif not isinstance(limits, Limits):
        raise TypeError("limits must be a beamr.Limits")
    if type(sandbox) is not bool:
        raise TypeError("sandbox must be True or False")
    data = bytes(binary)
    if data[:4] != p.WASM_MAGIC:
        raise InvalidModule("not a wasm binary (it does not start with the \\0asm magic)")

    wasi_wire: dict[str, Any] | None = None
    if isinstance(wasi, WasiConfig):
        wasi_wire = wasi.to_wire()
        wasi_wire["dirs"] = resolve_dirs(wasi.dirs)
    elif wasi:
        wasi_wire = WasiConfig().to_wire()
    options = {
        "handled_imports": [list(key) for key in handlers],
        "wasi": wasi_wire,
        "limits": limits.to_wire(),
        "cache_dir": module_cache_dir(),
        "cache_max_bytes": module_cache_max_bytes(),
        "sandbox": sandbox,
    }

    hint = msgpack.packb(
        {
            "digest": hashlib.sha256(data).digest(),
            "limits": options["limits"],
            "cache_dir": options["cache_dir"],
        }
    )
    process = await _process.start_worker(hint)
    instance: Instance | None = None
    try:
        assert process.sock is not None
        channel = _process.Channel(process.sock)
        process.sock = None  # the channel owns it now
        instance = Instance(process, channel, handlers, limits)
        result = await instance.request(p.Init(data, options))
        await instance._describe(result)
        return instance
    except BaseException:
        if instance is not None:
            await instance.aclose()
        else:
            with anyio.CancelScope(shield=True):
                await process.end(STOP_GRACE)
            process.release()
        raise


def module_cache_dir() -> str | None:
    """Where workers keep compiled modules: ``$BEAMR_CACHE_DIR`` (empty: no cache),
    else ``$XDG_CACHE_HOME/beamr``, else ``~/.cache/beamr``."""
    value = os.environ.get("BEAMR_CACHE_DIR")
    if value is not None:
        return os.path.abspath(value) if value else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.abspath(os.path.join(base, "beamr"))


def module_cache_max_bytes() -> int | None:
    """The bound of the compiled-module cache: ``$BEAMR_CACHE_MAX_BYTES`` (bytes), or
    None for the worker's default (1 GiB)."""
    value = os.environ.get("BEAMR_CACHE_MAX_BYTES", "").strip()
    if not value:
        return None
    try:
        bound = int(value)
    except ValueError:
        raise ValueError(
            f"BEAMR_CACHE_MAX_BYTES must be a number of bytes, got {value!r}"
        ) from None
    if bound < 0:
        raise ValueError(f"BEAMR_CACHE_MAX_BYTES must not be negative, got {bound}")
    return bound


def resolve_dirs(dirs: Mapping[str, str]) -> dict[str, str]:
    """WASI dirs with their host paths made absolute against this process's working
    directory (workers run elsewhere); each must be an existing directory."""
    resolved: dict[str, str] = {}
    for host, guest in dirs.items():
        path = os.path.abspath(host)
        if not os.path.exists(path):
            raise FileNotFoundError(errno.ENOENT, "WasiConfig.dirs: no such directory", host)
        if not os.path.isdir(path):
            raise NotADirectoryError(errno.ENOTDIR, "WasiConfig.dirs: not a directory", host)
        resolved[path] = guest
    return resolved


def _check_imports(imports: ImportMap | None) -> dict[tuple[str, str], Handler]:
    handlers: dict[tuple[str, str], Handler] = {}
    if imports is None:
        return handlers
    if not isinstance(imports, Mapping):
        raise TypeError("imports must map module names to {name: handler} mappings")
    for module, functions in imports.items():
        if not isinstance(module, str) or not isinstance(functions, Mapping):
            raise TypeError("imports must map module names (str) to {name: handler} mappings")
        for name, handler in functions.items():
            if not isinstance(name, str):
                raise TypeError(f"import names must be str, got {name!r} in {module!r}")
            if not callable(handler):
                raise TypeError(f"the handler for {module}.{name} is not callable")
            handlers[(module, name)] = handler
    return handlers
