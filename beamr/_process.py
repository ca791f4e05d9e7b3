"""Starting, watching and ending worker processes.

A worker gets two inherited descriptors: its end of a connected ``AF_UNIX`` stream
socket (the protocol frames) and the read end of a pipe (interrupts: call ids). The
parent keeps one end of each. Closing the interrupt pipe's write end makes the worker
exit at once, whatever it is doing. Only those two descriptors are passed on, so one
worker never holds another's.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import errno
import logging
import os
import resource
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path

import anyio

logger = logging.getLogger("beamr")

_POLL_MIN = 0.001
_POLL_MAX = 0.05
# the fork-server's messages (see workers/zygote.py)
_HELLO = struct.Struct(">4sI")
_HELLO_MAGIC = b"bmrZ"
_SPAWN = b"S"
_STATUS = struct.Struct(">i")


def worker_root() -> str:
    """The directory holding beamr's own ``workers`` package: where beamr itself is
    installed, never the caller's working directory or ``sys.path``."""
    root = Path(__file__).resolve().parent.parent
    if not (root / "workers" / "__init__.py").is_file():
        raise RuntimeError(f"beamr's worker package is missing from {root}")
    return str(root)


#: How every beamr child process starts: isolated (``-I``: no PYTHON* variables, no
#: user site, nothing of the working directory on ``sys.path``), writing no bytecode,
#: with beamr's own install location first on ``sys.path``. Then ``MODULE.main(args)``.
BOOTSTRAP = (
    "import sys; sys.path.insert(0, sys.argv[1]); import importlib; "
    "sys.exit(importlib.import_module(sys.argv[2]).main(sys.argv[3:]))"
)


def python_command(module: str, *args: str) -> list[str]:
    """The command line that runs ``module.main(args)`` as described at BOOTSTRAP."""
    return [sys.executable, "-I", "-B", "-c", BOOTSTRAP, worker_root(), module, *args]


#: the environment of every child: nothing of the caller's
WORKER_ENV: dict[str, str] = {}
#: their working directory: relative paths never reach them (the parent resolves them)
WORKER_CWD = "/"


class _StreamProtocol(asyncio.Protocol):
    """The asyncio side of a :class:`Channel`: a transport keeps the socket registered
    with the loop and reads as soon as bytes arrive (no registration per receive)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.eof = False
        self.error: BaseException | None = None
        self.reading_paused = False
        self.writing_paused = False
        self.waiter: asyncio.Future[None] | None = None
        self.drain: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > _READ_HIGH and not self.reading_paused and self.transport:
            self.transport.pause_reading()  # a flood waits in the socket, not here
            self.reading_paused = True
        self._wake()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self.error = exc
        self._wake()
        self.resume_writing()

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        if self.drain is not None and not self.drain.done():
            self.drain.set_result(None)

    def _wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)


#: buffered and unread bytes beyond which the asyncio transport stops reading
_READ_HIGH = 1 << 20
#: every live worker and channel of this process (see _forget_after_fork)
_LIVE_WORKERS: weakref.WeakSet[WorkerProcess] = weakref.WeakSet()
_LIVE_CHANNELS: weakref.WeakSet[Channel] = weakref.WeakSet()


class Channel:
    """The parent's end of a worker socket, straight on the event loop.

    Leaner than an anyio stream on the hot path. Under asyncio, the socket gets a
    transport of its own (bound to the loop that first uses it): it stays registered
    with the selector and reads the moment bytes arrive, so a round trip costs no
    registration syscalls. Elsewhere (trio), a send that fits the socket buffer costs
    no event-loop iteration and a receive waits for readability once. Sends that must
    wait are shielded: a frame cut in half would desynchronise the stream for good.
    """

    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        self.sock = sock
        self.closed = False
        _LIVE_CHANNELS.add(self)
        #: a frame went out since the last receive: the answer cannot be there yet
        self._sent = False
        self._protocol: _StreamProtocol | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        #: first used outside asyncio: the portable path for good (it works anywhere)
        self._portable = False

    async def _asyncio(self) -> _StreamProtocol | None:
        """The transport's protocol when running under asyncio, else None."""
        protocol = self._protocol
        if protocol is not None:
            try:
                loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
            except RuntimeError:
                loop = None
            if loop is not self._loop:
                raise RuntimeError("a beamr instance belongs to the event loop that first used it")
            return protocol
        if self._portable:
            return None
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._portable = True
            return None
        if self.closed:
            raise anyio.ClosedResourceError
        protocol = _StreamProtocol()
        await loop.connect_accepted_socket(lambda: protocol, sock=self.sock)
        self._protocol, self._loop = protocol, loop
        return protocol

    async def send(self, data: bytes) -> None:
        protocol = await self._asyncio()
        if protocol is not None:
            transport = protocol.transport
            if self.closed:
                raise anyio.ClosedResourceError
            if transport is None or transport.is_closing() or protocol.eof:
                raise anyio.BrokenResourceError("the worker's socket is closed")
            transport.write(data)
            if protocol.writing_paused:
                loop = asyncio.get_running_loop()
                with anyio.CancelScope(shield=True):
                    while protocol.writing_paused and not protocol.eof:
                        protocol.drain = loop.create_future()
                        await protocol.drain
            return
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
        self._sent = True

    async def receive(self, max_bytes: int) -> bytes:
        """Some bytes, or ``b""`` at EOF."""
        protocol = await self._asyncio()
        if protocol is not None:
            return await self._receive_asyncio(protocol, max_bytes)
        if self._sent:
            # Right after a send the peer has not answered yet: wait for readability
            # first instead of paying for a recv that fails (a syscall and an exception).
            self._sent = False
            await anyio.wait_readable(self.sock)
        while True:
            try:
                return self.sock.recv(max_bytes)
            except BlockingIOError:
                await anyio.wait_readable(self.sock)
            except OSError as exc:
                raise self._broken(exc) from exc

    async def _receive_asyncio(self, protocol: _StreamProtocol, max_bytes: int) -> bytes:
        while not protocol.buffer and not protocol.eof and not self.closed:
            assert self._loop is not None
            protocol.waiter = self._loop.create_future()
            try:
                await protocol.waiter
            finally:
                protocol.waiter = None
        if self.closed:
            raise anyio.ClosedResourceError
        buffer = protocol.buffer
        if buffer:
            data = bytes(buffer[:max_bytes])
            del buffer[:max_bytes]
            if protocol.reading_paused and len(buffer) < _READ_HIGH // 2 and protocol.transport:
                protocol.reading_paused = False
                protocol.transport.resume_reading()
            return data
        if protocol.error is not None:
            raise anyio.BrokenResourceError(str(protocol.error))
        return b""

    def _broken(self, exc: OSError) -> Exception:
        if self.closed:
            return anyio.ClosedResourceError()
        return anyio.BrokenResourceError(str(exc))

    def forget(self) -> None:
        """In a forked child of the parent: close our copy of the socket, touching no
        event loop (the parent's loops did not come along)."""
        self.closed = True
        self._protocol = None
        self.sock.close()

    def close(self) -> None:
        """Close; a task waiting on it gets ClosedResourceError."""
        if self.closed:
            return
        self.closed = True
        protocol = self._protocol
        if protocol is not None:
            if protocol.waiter is not None and not protocol.waiter.done():
                protocol.waiter.set_result(None)  # it sees `closed` and raises
            protocol.resume_writing()
            if protocol.transport is not None:
                # unregisters the socket now; its loop may be closed already (an
                # instance stopped from another loop): then the socket just closes
                with contextlib.suppress(RuntimeError):
                    protocol.transport.abort()
        else:
            anyio.notify_closing(self.sock)
        self.sock.close()


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
        _LIVE_WORKERS.add(self)

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
    def pinned(self) -> bool:
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
        data = b"".join(i.to_bytes(8, "big") for i in command_ids)
        with contextlib.suppress(BlockingIOError, BrokenPipeError, OSError):
            os.write(self.interrupt_fd, data)

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


def _readable(fd: int, timeout: float) -> bool:
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
    def pinned(self) -> bool:
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


#: the exit code reported when the fork-server died before it could tell
UNKNOWN_EXIT = -255


class ForkedWorker(WorkerProcess):
    """A worker forked by the fork-server (not our child).

    We hold a pidfd (signals can never reach another process) and the read end of a
    status pipe: the fork-server writes the exit status there, and keeps the exited
    worker as a zombie, its pid reserved, until we close that pipe (:meth:`release`).
    """

    def __init__(
        self, pid: int, pidfd: int, sock: socket.socket, interrupt_fd: int, status_fd: int
    ) -> None:
        super().__init__(pid, sock, interrupt_fd)
        self._pidfd: int | None = pidfd
        self._status_fd: int | None = status_fd
        os.set_blocking(status_fd, False)
        self._status = b""
        self._code: int | None = None
        #: the fork-server died without reporting: the pid is not reserved any more
        self._orphaned = False

    def _poll(self) -> None:
        fd = self._status_fd
        if self._code is not None or fd is None or self._orphaned:
            return
        try:
            data = os.read(fd, _STATUS.size - len(self._status))
        except BlockingIOError:
            return
        if data:
            self._status += data
            if len(self._status) == _STATUS.size:
                (self._code,) = _STATUS.unpack(self._status)
            return
        self._orphaned = True  # EOF: the fork-server is gone; only the pidfd is left
        logger.info("worker %d: the fork-server exited before it", self.pid)

    def _pidfd_exited(self) -> bool:
        return self._pidfd is None or _readable(self._pidfd, 0)

    @property
    def returncode(self) -> int | None:
        self._poll()
        if self._code is None and self._orphaned and self._pidfd_exited():
            self._code = UNKNOWN_EXIT
        return self._code

    @property
    def pinned(self) -> bool:
        self._poll()
        return self._status_fd is not None and not self._orphaned

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
        for name in ("_pidfd", "_status_fd"):
            fd = getattr(self, name)
            setattr(self, name, None)
            if fd is not None:
                os.close(fd)  # closing the status pipe lets the fork-server reap it

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
            _readable(fd, left)
        self.release()


#: The worker program: beamr's own, started as :data:`BOOTSTRAP` says. A replacement
#: (tests' rogue workers) is run as given, with the same flags appended.
DEFAULT_WORKER_COMMAND: tuple[str, ...] = (sys.executable, "-m", "workers")
WORKER_COMMAND: tuple[str, ...] = DEFAULT_WORKER_COMMAND


@contextlib.contextmanager
def _descriptors(what: str) -> Iterator[None]:
    """Turn running out of descriptors into an error that says what to do."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in (errno.EMFILE, errno.ENFILE):
            raise
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        raise OSError(
            exc.errno,
            f"too many open files to start {what}: each instance holds about "
            f"{DESCRIPTORS_PER_INSTANCE} descriptors in this process and the limit is "
            f"{soft} (hard limit {hard}); stop instances or raise the limit (ulimit -n)",
        ) from exc


#: what one live instance holds in the parent: its socket, its interrupt pipe, and
#: for a forked worker a pidfd and a status pipe
DESCRIPTORS_PER_INSTANCE = 4


def raise_descriptor_limit() -> None:
    """Raise the soft limit on open files to the hard limit (once, at import)."""
    with contextlib.suppress(OSError, ValueError):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard == resource.RLIM_INFINITY:
            hard = max(soft, 1 << 20)
        if soft < hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


raise_descriptor_limit()


def spawn() -> WorkerProcess:
    """Start a worker (``workers.__main__``) with its socket and interrupt pipe."""
    with _descriptors("a worker"):
        parent_sock, child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        with _descriptors("a worker"):
            interrupt_read, interrupt_write = os.pipe()
    except BaseException:
        parent_sock.close()
        child_sock.close()
        raise
    flags = [
        "--fd", str(child_sock.fileno()), "--interrupt-fd", str(interrupt_read),
        "--owner", str(os.getpid()),
    ]  # fmt: skip
    if WORKER_COMMAND == DEFAULT_WORKER_COMMAND:
        command = python_command("workers.__main__", *flags)
    else:
        command = [*WORKER_COMMAND, *flags]
    try:
        with _descriptors("a worker"):
            popen = subprocess.Popen(
                command,
                pass_fds=(child_sock.fileno(), interrupt_read),
                close_fds=True,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                env=WORKER_ENV,
                cwd=WORKER_CWD,
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
    return SpawnedWorker(popen, parent_sock, interrupt_write)


# --------------------------------------------------------------------- fork-server

#: Whether this platform can run the fork-server (Linux: pidfds, fd passing).
FORK_SUPPORTED = (
    sys.platform.startswith("linux")
    and hasattr(os, "pidfd_open")
    and hasattr(socket, "send_fds")
    and hasattr(signal, "pidfd_send_signal")
)
#: How workers start. "auto" (the default): forked while the fork-server is held
#: (:func:`beamr.fork_server`, a :class:`beamr.Pool`), else spawned, so that a plain
#: start/stop leaves no process and no descriptor behind. "fork": always forked, the
#: fork-server kept for the life of the program. "process": always spawned.
#: ``BEAMR_SPAWN`` in the environment sets it. A custom :data:`WORKER_COMMAND` is
#: always spawned.
METHOD = os.environ.get("BEAMR_SPAWN") or "auto"
#: how long a forked worker may take to be announced (the fork-server's first start
#: imports wasmtime; many concurrent starts queue)
FORK_TIMEOUT = 30.0


class ForkServerUnavailable(Exception):
    """The fork-server could not be started or reached."""


class ForkServer:
    """The zygote: shared by every event loop and thread, running while held.

    :meth:`hold` and :meth:`let_go` count its users; it starts at the first request
    made while held, and is let go when the last user lets go: its control socket
    closes, and it exits as soon as the workers it forked are gone (a thread reaps
    it then). So the fork-server outlives neither its users nor its workers.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._popen: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        self._users = 0

    @property
    def held(self) -> bool:
        return self._users > 0

    def hold(self) -> None:
        """One more user: requests are served (the server starts on the first one)."""
        if not FORK_SUPPORTED:
            return
        with self._lock:
            self._users += 1

    def let_go(self) -> None:
        """One user less; with none left, the fork-server is shut down."""
        if not FORK_SUPPORTED:
            return
        with self._lock:
            self._users = max(0, self._users - 1)
            if self._users == 0:
                self._shutdown_locked(0)

    @property
    def pid(self) -> int | None:
        popen = self._popen
        return popen.pid if popen is not None and popen.poll() is None else None

    def _start(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            popen = subprocess.Popen(
                python_command(
                    "workers.zygote", "--fd", str(theirs.fileno()), "--owner", str(os.getpid())
                ),
                pass_fds=(theirs.fileno(),),
                close_fds=True,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                env=WORKER_ENV,
                cwd=WORKER_CWD,
                start_new_session=True,
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self._popen, self._sock = popen, ours
        logger.info("fork-server %d started", popen.pid)

    def request(self, fds: list[int], hint: bytes = b"") -> None:
        """Ask for one worker on these descriptors (socket, interrupt, status).

        ``hint`` (msgpack: digest, limits, cache_dir) names the module it will run,
        so that the fork-server can fork it with that module already compiled."""
        with self._lock:
            for attempt in (1, 2):
                try:
                    if self._sock is None or self._popen is None or self._popen.poll() is not None:
                        self._shutdown_locked(0)
                        self._start()
                    assert self._sock is not None
                    socket.send_fds(self._sock, [_SPAWN + hint], fds)
                    return
                except OSError as exc:
                    self._shutdown_locked(0)
                    if attempt == 2:
                        raise ForkServerUnavailable(str(exc)) from exc

    def shutdown(self, timeout: float = 5.0) -> None:
        """Close the control socket; the fork-server exits once its workers are gone."""
        with self._lock:
            self._shutdown_locked(timeout)

    def _shutdown_locked(self, timeout: float) -> None:
        sock, self._sock = self._sock, None
        popen, self._popen = self._popen, None
        if sock is not None:
            sock.close()
        if popen is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                popen.wait(timeout)
            if popen.returncode is None:
                # It exits once its last worker is gone: reap it then, not later.
                threading.Thread(
                    target=popen.wait, name=f"beamr-reap-{popen.pid}", daemon=True
                ).start()

    def forget(self) -> None:
        """In a forked child of the parent: this fork-server is not ours to use."""
        sock, self._sock, self._popen = self._sock, None, None
        self._lock = threading.Lock()
        if sock is not None:
            sock.close()


FORK_SERVER = ForkServer()
atexit.register(FORK_SERVER.shutdown)


def _forget_after_fork() -> None:
    """In a child forked from the parent (``multiprocessing``'s fork, say): the
    workers are the parent's. Their descriptors are closed here, so that a worker sees
    EOF on its pipes when the parent goes, however long this child lives."""
    for channel in list(_LIVE_CHANNELS):
        with contextlib.suppress(Exception):
            channel.forget()
    for worker in list(_LIVE_WORKERS):
        with contextlib.suppress(Exception):
            worker.forget()
    FORK_SERVER.forget()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


async def _receive_hello(sock: socket.socket) -> tuple[int, int]:
    """The fork-server's announcement on the worker's socket: (pid, pidfd)."""
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(sock, _HELLO.size, 1)
            break
        except BlockingIOError:
            await anyio.wait_readable(sock)
    if not data:
        raise ForkServerUnavailable("the fork-server closed the socket without a worker")
    if len(data) != _HELLO.size or len(fds) != 1:
        for fd in fds:
            os.close(fd)
        raise ForkServerUnavailable(f"the fork-server sent a bad hello ({data!r:.40})")
    magic, pid = _HELLO.unpack(data)
    if magic != _HELLO_MAGIC or pid <= 0:
        os.close(fds[0])
        raise ForkServerUnavailable(f"the fork-server sent a bad hello ({data!r:.40})")
    return pid, fds[0]


async def fork(hint: bytes = b"") -> ForkedWorker:
    """A worker forked by the fork-server; ForkServerUnavailable if it cannot be had."""
    parent_sock, child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    interrupt_read, interrupt_write = os.pipe()
    status_read, status_write = os.pipe()
    ours = [interrupt_write, status_read]
    try:
        try:
            FORK_SERVER.request([child_sock.fileno(), interrupt_read, status_write], hint)
        finally:
            child_sock.close()
            os.close(interrupt_read)
            os.close(status_write)
        parent_sock.setblocking(False)
        with anyio.fail_after(FORK_TIMEOUT):
            pid, pidfd = await _receive_hello(parent_sock)
    except BaseException:
        parent_sock.close()  # a worker forked anyway sees EOF and exits
        for fd in ours:
            os.close(fd)
        raise
    os.set_blocking(interrupt_write, False)
    logger.info("worker %d started", pid)
    return ForkedWorker(pid, pidfd, parent_sock, interrupt_write, status_read)


async def start_worker(hint: bytes = b"") -> WorkerProcess:
    """A new worker, forked when the fork-server is in use (see :data:`METHOD`),
    else spawned."""
    forking = METHOD == "fork" or (METHOD == "auto" and FORK_SERVER.held)
    if forking and FORK_SUPPORTED and WORKER_COMMAND == DEFAULT_WORKER_COMMAND:
        try:
            return await fork(hint)
        except ForkServerUnavailable as exc:
            logger.warning("fork-server unavailable (%s); spawning the worker instead", exc)
    return spawn()


class ForkServerHold:
    """What :func:`beamr.fork_server` returns: holds the fork-server while entered."""

    def __init__(self) -> None:
        self._held = False

    def __enter__(self) -> ForkServerHold:
        if not self._held:
            FORK_SERVER.hold()
            self._held = True
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._held:
            self._held = False
            FORK_SERVER.let_go()

    async def __aenter__(self) -> ForkServerHold:
        return self.__enter__()

    async def __aexit__(self, *exc_info: object) -> None:
        self.__exit__()


def fork_server() -> ForkServerHold:
    """Start instances by forking them from a warm fork-server while this is held.

    ``with beamr.fork_server():`` (or ``async with``): inside, :func:`beamr.start`
    forks each worker from a process that has imported wasmtime and the worker once,
    and that keeps recently used compiled modules loaded (a few ms a start instead
    of ~70 ms). Leaving it lets the fork-server go: it exits as soon as the instances
    it forked are stopped. Holds nest and may overlap (a count); :class:`beamr.Pool`
    holds it while open. Where the platform cannot fork this way (not Linux), it
    does nothing and workers are spawned.
    """
    return ForkServerHold()
