"""The actor behind an instance: one worker process, one lock, one command in flight.

Tasks that use the same instance queue on its lock (:class:`beamr._lock.FairLock`)
and are served in turn. While an import handler runs, the wasm is suspended in the
worker and the handler may use the same instance through a lock of its own
(:mod:`beamr._handlers`): a nested ``beamr.call`` works instead of deadlocking.

Cancelling an await abandons the command: the wasm is interrupted out of band, and the
next command first drains what the abandoned one left (:mod:`beamr.connection`).
WASI output arriving meanwhile goes to the instance's :class:`~beamr._output.OutputBuffer`.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, NoReturn, TypeVar

import anyio

from beamr import _bulk, _handlers, _loops
from beamr import protocol as p
from beamr._channel import Channel
from beamr._lock import FairLock
from beamr._output import OutputBuffer
from beamr._workers import WorkerProcess
from beamr.connection import Done, ParentConnection, Pending
from beamr.errors import (
    CallTimeout,
    InstanceClosed,
    NestingTooDeep,
    ProtocolViolation,
    WorkerCrashed,
    error_for,
)
from beamr.types import DEFAULT_OUTPUT_LIMIT, Limits

__all__ = ["Send", "WorkerActor"]

logger = logging.getLogger("beamr")

T = TypeVar("T")
#: a command sent while the instance is held (see WorkerActor.session)
Send = Callable[[p.Command[T]], Awaitable[T]]

RECEIVE_SIZE = 1 << 16
#: how long draining an abandoned command may take before the worker is killed
RECOVERY_TIMEOUT = 10.0
#: how long a worker gets to exit after stop, and after SIGTERM
STOP_GRACE = 1.0


def _drop(process: WorkerProcess, channel: Channel) -> None:
    """An instance dropped without being stopped (its finalizer): end it now."""
    process.kill_now()
    channel.drop()


class WorkerActor:
    """One worker and the commands sent to it; :class:`beamr.Instance` is its public face."""

    def __init__(
        self,
        process: WorkerProcess,
        channel: Channel,
        plan: _handlers.ImportPlan,
        limits: Limits,
        *,
        output_limit: int = DEFAULT_OUTPUT_LIMIT,
    ) -> None:
        self._process = process
        self._channel = channel
        self._handlers = _handlers.Handlers(self, plan)
        self._limits = limits
        self._output = OutputBuffer(output_limit)
        self._conn = ParentConnection()
        self._lock = FairLock()
        #: the event loop this instance belongs to (see beamr._loops)
        self._loop = _loops.current_loop()
        #: the largest memory the worker can have (its RLIMIT_DATA): the bound of what
        #: the parent believes of a size the worker reports
        self.memory_bound = p.process_limit(limits.memory_bytes, limits.process_bytes)
        self._closed = False
        self._stopped = anyio.Event()
        self._crash: WorkerCrashed | None = None
        #: whether the bulk path may be tried (off for good after the system refuses)
        self.bulk = _bulk.AVAILABLE
        self._finalizer = weakref.finalize(self, _drop, process, channel)
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
        return not self._closed and self._crash is None and self._process.alive

    # ---------------------------------------------------------------- lifecycle

    async def aclose(self) -> None:
        """Stop the worker (idempotent, never raises); pending commands raise
        InstanceClosed at once, a handler still running included.

        Even in the middle of a runaway call: the worker is told to go (its interrupt
        pipe closes, which it obeys at once), then SIGTERM after a grace period, then
        SIGKILL; it is reaped and every descriptor closed."""
        if self._closed:
            with anyio.CancelScope(shield=True):
                await self._stopped.wait()  # a concurrent aclose is still at it
            return
        self._closed = True
        self._finalizer.detach()
        process = self._process
        self._lock.wake_all()
        self._handlers.stop()
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

    # ------------------------------------------------------------------- commands

    def _check_usable(self) -> None:
        if self._closed:
            raise InstanceClosed(f"instance (worker {self.pid}) was stopped")
        if self._crash is not None:
            raise type(self._crash)(str(self._crash), self._crash.exitcode)

    def _check_loop(self) -> None:
        if _loops.current_loop() is not self._loop:
            raise RuntimeError(
                "a beamr instance belongs to the event loop that started it; "
                "it cannot be used from another one"
            )

    async def _acquire(self) -> tuple[FairLock, int]:
        """Take this task's lock (the instance's, or its handler scope's); its depth."""
        while True:
            scope = _handlers.innermost(self)
            depth, lock = (scope.depth, scope.lock) if scope else (0, self._lock)
            if not lock.try_acquire():
                await lock.acquire()
            if scope is None or scope.active:
                return lock, depth
            lock.release()  # that handler has returned: queue at the level above

    async def request(
        self,
        command: p.Command[T],
        *,
        time_limit: float | None = None,
        then: Callable[[T], Awaitable[None]] | None = None,
    ) -> T:
        """Send one command and return its value; error replies become exceptions.

        ``time_limit`` (seconds) bounds the exchange itself (not the wait for the
        lock): past it the command is abandoned and interrupted, and CallTimeout
        raised. ``then`` runs on the value while the instance is still held, so that
        nothing else reaches the worker in between (the bulk copy of a ``locate``).
        A command from another event loop is refused (RuntimeError) before anything
        changes."""
        self._check_usable()
        self._check_loop()
        if not _handlers.current() and self._lock.try_acquire():  # free, no handler: hot path
            lock, depth = self._lock, 0
        else:
            lock, depth = await self._acquire()
        try:
            if depth >= p.MAX_NESTING and type(command) is p.Call:
                raise NestingTooDeep(
                    f"calls nest at most {p.MAX_NESTING} deep through import handlers"
                )
            value = await self._send_held(command, depth, time_limit)
            if then is not None:
                await then(value)
            return value
        finally:
            lock.release()

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[Send[Any]]:
        """Hold the instance for several commands in a row: ``await send(command)``
        inside the block; nothing else reaches the worker in between."""
        self._check_usable()
        self._check_loop()
        lock, depth = await self._acquire()
        try:
            yield functools.partial(self._send_held, depth=depth)
        finally:
            lock.release()

    async def _send_held(
        self, command: p.Command[T], depth: int, time_limit: float | None = None
    ) -> T:
        """One exchange, the lock held; error replies raised as exceptions."""
        self._check_usable()
        try:
            if len(self._conn.stack) > depth:
                await self._recover(depth)
            if time_limit is None:
                event, handler_error = await self._exchange(command, depth)
            else:
                with anyio.move_on_after(time_limit) as timer:
                    event, handler_error = await self._exchange(command, depth)
                if timer.cancelled_caught:
                    raise CallTimeout(f"{command.KIND} ran past {time_limit}s")
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, anyio.EndOfStream):
            self._check_usable()  # stopped under our feet (InstanceClosed)
            await self._crashed("the connection to the worker broke")
        except p.RemoteProtocolError as exc:  # the worker broke the protocol
            await self._crashed(f"protocol violation: {exc}", violation=True)
        if isinstance(event, Done):
            return event.value  # type: ignore[no-any-return]
        assert isinstance(event, p.Error)
        error = error_for(event.kind, event.text, event.code, event.detail)
        if handler_error is not None:
            raise error from handler_error
        raise error

    async def _exchange(
        self, command: p.Command[Any], depth: int
    ) -> tuple[Done | p.Error, BaseException | None]:
        pending, frame = self._conn.send(command)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "worker %d <- #%d %s (depth %d, %d bytes)",
                self.pid, pending.command_id, type(command).__name__, depth, len(frame),
            )  # fmt: skip
        handler_error: BaseException | None = None
        try:
            await self._channel.send(frame)  # never abandons a frame half-sent
            while True:
                _, event = await self._next_event()
                if not isinstance(event, p.ImportRequest):
                    return event, handler_error
                answer, error = await self._handlers.run(event, depth + 1, self._check_usable)
                # The handler may have seen the worker die, or stopped the instance.
                self._check_usable()
                # Nested commands it abandoned (cancelled) must be drained first.
                if len(self._conn.stack) > depth + 1:
                    await self._recover(depth + 1)
                handler_error = handler_error or error
                await self._channel.send(self._conn.answer_import(answer, pending))
        except BaseException:
            if self._conn.stack[depth:] and self._crash is None and not self._closed:
                abandoned = self._conn.abandon(depth)
                self._process.interrupt([a.command_id for a in abandoned])
            raise

    async def _next_event(self) -> tuple[Pending, Done | p.Error | p.ImportRequest]:
        """The next event of the innermost command; output is taken on the way."""
        while True:
            event = self._conn.next_event()
            if event is not None and isinstance(event[1], p.OutputChunk):
                await self._output.add(event[1])
                continue
            if event is not None:
                if logger.isEnabledFor(logging.DEBUG):
                    logger.debug(
                        "worker %d -> #%d %s",
                        self.pid, event[0].command_id, type(event[1]).__name__,
                    )  # fmt: skip
                return event  # type: ignore[return-value]
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
            await self._handlers.close_deeper(depth)
            while self._conn.needs_recovery(depth):
                frame = self._conn.recovery_step(depth)
                if frame is not None:
                    await self._channel.send(frame)
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

    async def bulk_copy(self, copy: Callable[[int], T]) -> T | None:
        """Run ``copy(pid)`` against the worker's memory (:mod:`beamr._bulk`), while the
        instance is held; None (and the inline path from now on) if the system refuses."""
        if not self._process.pid_reserved:  # its pid might name another process by now
            return None
        try:
            return copy(self.pid)
        except _bulk.Unavailable as exc:
            logger.info("worker %d: bulk io unavailable (%s); using frames", self.pid, exc)
            self.bulk = False
            return None
        except _bulk.Fault as exc:
            await self._crashed(str(exc), violation=not exc.gone)

    async def violation(self, reason: str) -> NoReturn:
        """The worker said something that cannot be true: kill it and raise."""
        await self._crashed(reason, violation=True)
