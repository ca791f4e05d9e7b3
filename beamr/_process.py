"""Starting, watching and ending worker processes.

A worker gets two inherited descriptors: its end of a connected ``AF_UNIX`` stream
socket (the protocol frames) and the read end of a pipe (interrupts: call ids). The
parent keeps one end of each. Closing the interrupt pipe's write end makes the worker
exit at once, whatever it is doing. Only those two descriptors are passed on, so one
worker never holds another's.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import anyio

logger = logging.getLogger("beamr")

_POLL_MIN = 0.001
_POLL_MAX = 0.05


def _worker_env() -> dict[str, str]:
    """A minimal environment: only what it takes to import this very ``workers``."""
    spec = importlib.util.find_spec("workers")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the beamr worker package (workers) is not importable")
    root = Path(next(iter(spec.submodule_search_locations))).parent
    env = {"PYTHONPATH": str(root), "PYTHONDONTWRITEBYTECODE": "1"}
    if "PATH" in os.environ:
        env["PATH"] = os.environ["PATH"]
    return env


class Channel:
    """The parent's end of a worker socket, straight on the event loop.

    Leaner than an anyio stream on the hot path: a send that fits the socket buffer
    (nearly all of them) costs no event-loop iteration, and a receive waits for
    readability once. Sends that must wait are shielded: a frame cut in half would
    desynchronise the stream for good.
    """

    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        self.sock = sock
        self.closed = False

    async def send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                sent = self.sock.send(view)
            except BlockingIOError:
                with anyio.CancelScope(shield=True):
                    await anyio.wait_writable(self.sock)
                continue
            except OSError as exc:
                raise self._broken(exc) from exc
            view = view[sent:]

    async def receive(self, max_bytes: int) -> bytes:
        """Some bytes, or ``b""`` at EOF."""
        while True:
            try:
                return self.sock.recv(max_bytes)
            except BlockingIOError:
                await anyio.wait_readable(self.sock)
            except OSError as exc:
                raise self._broken(exc) from exc

    def _broken(self, exc: OSError) -> Exception:
        if self.closed:
            return anyio.ClosedResourceError()
        return anyio.BrokenResourceError(str(exc))

    def close(self) -> None:
        """Close; a task waiting on it gets ClosedResourceError."""
        if not self.closed:
            self.closed = True
            anyio.notify_closing(self.sock)
            self.sock.close()


class WorkerProcess:
    """One worker: its process, its socket (parent end) and its interrupt pipe."""

    def __init__(
        self, popen: subprocess.Popen[bytes], sock: socket.socket, interrupt_fd: int
    ) -> None:
        self.popen = popen
        self.pid = popen.pid
        self.sock: socket.socket | None = sock
        self.interrupt_fd: int | None = interrupt_fd
        self._pidfd: int | None = None
        with contextlib.suppress(OSError, AttributeError):
            self._pidfd = os.pidfd_open(popen.pid)
        self._wait_lock = anyio.Lock()

    @property
    def returncode(self) -> int | None:
        return self.popen.poll()

    def interrupt(self, command_ids: list[int]) -> None:
        """Ask the worker to interrupt these calls if they are still running."""
        if self.interrupt_fd is None or not command_ids:
            return
        data = b"".join(i.to_bytes(8, "big") for i in command_ids)
        with contextlib.suppress(BlockingIOError, BrokenPipeError, OSError):
            os.write(self.interrupt_fd, data)

    def close_interrupts(self) -> None:
        """Close the interrupt pipe: the worker exits as soon as it sees EOF."""
        fd, self.interrupt_fd = self.interrupt_fd, None
        if fd is not None:
            os.close(fd)

    def signal(self, signum: int) -> None:
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    async def wait(self) -> int:
        """Wait for the process to exit and reap it; its exit code (-N: signal N)."""
        async with self._wait_lock:
            delay = _POLL_MIN
            while (code := self.popen.poll()) is None:
                if self._pidfd is not None:
                    await anyio.wait_readable(self._pidfd)
                else:
                    await anyio.sleep(delay)
                    delay = min(delay * 2, _POLL_MAX)
            return code

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
        pidfd, self._pidfd = self._pidfd, None
        if pidfd is not None:
            os.close(pidfd)

    def kill_now(self) -> None:
        """Synchronous last resort (finalizers, interpreter exit)."""
        self.close_interrupts()
        self.signal(signal.SIGKILL)
        with contextlib.suppress(Exception):
            self.popen.wait(timeout=1.0)
        self.release()


#: The worker program; its socket and interrupt descriptors are appended as flags.
WORKER_COMMAND: tuple[str, ...] = (sys.executable, "-m", "workers")


def spawn() -> WorkerProcess:
    """Start ``python -m workers`` with its socket and interrupt pipe."""
    parent_sock, child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    interrupt_read, interrupt_write = os.pipe()
    try:
        popen = subprocess.Popen(
            [
                *WORKER_COMMAND,
                "--fd",
                str(child_sock.fileno()),
                "--interrupt-fd",
                str(interrupt_read),
            ],
            pass_fds=(child_sock.fileno(), interrupt_read),
            close_fds=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            env=_worker_env(),
            # Not in the terminal's process group: Ctrl-C goes to the parent, which
            # then stops its workers; a worker whose parent vanished exits on its own.
            start_new_session=True,
        )
    except BaseException:
        parent_sock.close()
        os.close(interrupt_write)
        raise
    finally:
        child_sock.close()
        os.close(interrupt_read)
    os.set_blocking(interrupt_write, False)
    logger.info("worker %d started", popen.pid)
    return WorkerProcess(popen, parent_sock, interrupt_write)
