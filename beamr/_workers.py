"""Handles on worker processes: watching and ending them, whoever started them.

Two kinds: :class:`SpawnedWorker` (a child of ours, :func:`beamr._spawn.spawn`) and
:class:`ForkedWorker` (forked by the fork-server, :mod:`beamr._forkserver`). Each holds
the parent's ends of the worker's socket and interrupt pipe; closing the interrupt
pipe makes the worker exit at once, whatever it is doing.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import socket
import subprocess
import time
import weakref
from collections.abc import Callable

import anyio

from beamr import protocol as p

__all__ = [
    "UNKNOWN_EXIT",
    "ForkedWorker",
    "SpawnedWorker",
    "WorkerProcess",
    "forget_all",
    "readable",
]

logger = logging.getLogger("beamr")

_POLL_MIN = 0.001
_POLL_MAX = 0.05
#: the exit code reported when the fork-server died before it could tell
UNKNOWN_EXIT = -255


#: every live worker handle of this process (see forget_all)
_LIVE: weakref.WeakSet[WorkerProcess] = weakref.WeakSet()


class WorkerProcess:
    """One worker: its process, its socket (parent end) and its interrupt pipe.

    Two kinds: :class:`SpawnedWorker` (a child of ours, started with ``subprocess``)
    and :class:`ForkedWorker` (forked by the fork-server, known by a pidfd).
    """

    pid: int

    def __init__(self, pid: int, sock: socket.socket, interrupt_fd: int) -> None:
        self.pid = pid
        self.sock: socket.socket | None = sock
        self.interrupt_fd: int | None = interrupt_fd
        self._wait_lock = anyio.Lock()
        #: in a forked child of the parent: not ours, never to be signalled
        self.forgotten = False
        _LIVE.add(self)

    def forget(self) -> None:
        """In a forked child of the parent: close our copies of the worker's
        descriptors (so that its pipes see EOF when the parent goes), never signal it."""
        self.forgotten = True
        self.release()

    @property
    def returncode(self) -> int | None:
        """The exit code once the worker has exited (-N: signal N), else None."""
        raise NotImplementedError

    @property
    def pid_reserved(self) -> bool:
        """Whether the pid still names this worker (not reaped: a zombie keeps it)."""
        raise NotImplementedError

    @property
    def alive(self) -> bool:
        """Whether the process is still running (its exit seen at once, not when it
        is reported)."""
        raise NotImplementedError

    def signal(self, signum: int) -> None:
        raise NotImplementedError

    async def wait(self) -> int:
        """Wait for the process to exit; its exit code (-N: signal N)."""
        raise NotImplementedError

    def kill_now(self) -> None:
        """Synchronous last resort (finalizers, interpreter exit)."""
        raise NotImplementedError

    def interrupt(self, command_ids: list[int]) -> None:
        """Ask the worker to interrupt these calls if they are still running."""
        if self.interrupt_fd is None or not command_ids:
            return
        with contextlib.suppress(BlockingIOError, BrokenPipeError, OSError):
            os.write(self.interrupt_fd, p.encode_interrupts(command_ids))

    def close_interrupts(self) -> None:
        """Close the interrupt pipe: the worker exits as soon as it sees EOF."""
        fd, self.interrupt_fd = self.interrupt_fd, None
        if fd is not None:
            os.close(fd)

    async def end(self, grace: float = 1.0) -> int:
        """Make sure the process is gone: close its pipes, then SIGTERM, then SIGKILL."""
        self.close_interrupts()
        for signum in (None, signal.SIGTERM, signal.SIGKILL):
            if signum is not None:
                logger.info(
                    "worker %d did not exit in %.1fs; sending %s",
                    self.pid,
                    grace,
                    signal.Signals(signum).name,
                )
                self.signal(signum)
            with anyio.move_on_after(grace):
                return await self.wait()
        return await self.wait()

    def release(self) -> None:
        """Close every descriptor the parent holds for this worker."""
        self.close_interrupts()
        sock, self.sock = self.sock, None
        if sock is not None:
            sock.close()


def readable(fd: int, timeout: float) -> bool:
    """Whether ``fd`` is readable within ``timeout`` seconds (poll: any fd number)."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(int(timeout * 1000)))


class SpawnedWorker(WorkerProcess):
    """A worker started with ``subprocess``: our child, reaped by us."""

    def __init__(
        self, popen: subprocess.Popen[bytes], sock: socket.socket, interrupt_fd: int
    ) -> None:
        super().__init__(popen.pid, sock, interrupt_fd)
        self.popen = popen
        self._pidfd: int | None = None
        with contextlib.suppress(OSError, AttributeError):
            self._pidfd = os.pidfd_open(popen.pid)

    @property
    def returncode(self) -> int | None:
        return self.popen.poll()

    @property
    def pid_reserved(self) -> bool:
        return self.popen.returncode is None

    @property
    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal(self, signum: int) -> None:
        if not self.forgotten and self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    def forget(self) -> None:
        self.popen.returncode = UNKNOWN_EXIT  # not our child here: never waited for
        super().forget()

    async def wait(self) -> int:
        async with self._wait_lock:
            delay = _POLL_MIN
            while (code := self.popen.poll()) is None:
                if self._pidfd is not None:
                    await anyio.wait_readable(self._pidfd)
                else:
                    await anyio.sleep(delay)
                    delay = min(delay * 2, _POLL_MAX)
            return code

    def release(self) -> None:
        super().release()
        pidfd, self._pidfd = self._pidfd, None
        if pidfd is not None:
            os.close(pidfd)

    def kill_now(self) -> None:
        if self.forgotten:
            return
        self.close_interrupts()
        self.signal(signal.SIGKILL)
        with contextlib.suppress(Exception):
            self.popen.wait(timeout=1.0)
        self.release()


class ForkedWorker(WorkerProcess):
    """A worker forked by the fork-server (not our child).

    We hold a pidfd (signals can never reach another process) and one end of a
    control socket, whose other end the worker and the fork-server share: interrupts
    go down it to the worker; the fork-server sends the exit status up it, and keeps
    the exited worker as a zombie, its pid reserved, until we close our end
    (:meth:`release`). Stopping shuts our writing side (the worker sees EOF and
    exits) and keeps reading for the status.
    """

    def __init__(
        self,
        pid: int,
        pidfd: int,
        sock: socket.socket,
        control: socket.socket,
        reserving: Callable[[], bool] = lambda: True,
        on_release: Callable[[], None] | None = None,
    ) -> None:
        control.setblocking(False)
        super().__init__(pid, sock, control.fileno())
        self._control: socket.socket | None = control
        #: whether the fork-server that forked it (and keeps its zombie) is alive
        self._reserving = reserving
        #: told once, when the parent lets go of the worker (the fork-server's count)
        self._on_release = on_release
        self._pidfd: int | None = pidfd
        self._status_fd: int | None = control.fileno()
        self._status = b""
        self._code: int | None = None
        #: the fork-server died without reporting: the pid is not reserved any more
        self._orphaned = False

    def close_interrupts(self) -> None:
        """Shut our writing side: the worker sees EOF and exits; the status still comes."""
        self.interrupt_fd = None
        control = self._control
        if control is not None:
            with contextlib.suppress(OSError):
                control.shutdown(socket.SHUT_WR)

    def _poll(self) -> None:
        fd = self._status_fd
        if self._code is not None or fd is None or self._orphaned:
            return
        try:
            data = os.read(fd, p.STATUS.size - len(self._status))
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            self._status += data
            if len(self._status) == p.STATUS.size:
                (self._code,) = p.STATUS.unpack(self._status)
            return
        self._orphaned = True  # EOF: the fork-server is gone; only the pidfd is left
        logger.info("worker %d: the fork-server exited before it", self.pid)

    def _pidfd_exited(self) -> bool:
        return self._pidfd is None or readable(self._pidfd, 0)

    @property
    def returncode(self) -> int | None:
        self._poll()
        if self._code is None and self._orphaned and self._pidfd_exited():
            self._code = UNKNOWN_EXIT
        return self._code

    @property
    def pid_reserved(self) -> bool:
        self._poll()
        return self._status_fd is not None and not self._orphaned and self._reserving()

    @property
    def alive(self) -> bool:
        return self.returncode is None and not self._pidfd_exited()

    def signal(self, signum: int) -> None:
        if not self.forgotten and self._pidfd is not None and self.returncode is None:
            with contextlib.suppress(ProcessLookupError, OSError):
                signal.pidfd_send_signal(self._pidfd, signum)

    async def wait(self) -> int:
        async with self._wait_lock:
            while (code := self.returncode) is None:
                fd = self._pidfd if self._orphaned else self._status_fd
                if fd is None:
                    return UNKNOWN_EXIT
                await anyio.wait_readable(fd)
            return code

    def release(self) -> None:
        super().release()
        pidfd, self._pidfd, self._status_fd = self._pidfd, None, None
        if pidfd is not None:
            os.close(pidfd)
        control, self._control = self._control, None
        if control is not None:
            control.close()  # the fork-server sees it closed, and reaps the worker
        on_release, self._on_release = self._on_release, None
        if on_release is not None:
            on_release()

    def kill_now(self) -> None:
        if self.forgotten:
            return
        self.close_interrupts()
        self.signal(signal.SIGKILL)
        deadline = time.monotonic() + 1.0
        while self.returncode is None and (left := deadline - time.monotonic()) > 0:
            fd = self._pidfd if self._orphaned else self._status_fd
            if fd is None:
                break
            readable(fd, left)
        self.release()


def forget_all() -> None:
    """In a child forked from the parent: the workers are the parent's. Close our
    copies of their descriptors, so that a worker sees EOF on its pipes when the
    parent goes, however long this child lives; never signal them."""
    for worker in list(_LIVE):
        with contextlib.suppress(Exception):
            worker.forget()
