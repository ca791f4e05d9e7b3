"""The fork-server client: workers forked from a warm zygote (``workers.zygote``).

The zygote has imported wasmtime and the worker once; it forks a worker per request
and, when the module is in the compiled-module cache, forks it with the module already
loaded. Requests carry the worker's three descriptors (its socket, its interrupt pipe
and the write end of a status pipe) and a hint naming the module
(:func:`beamr.protocol.encode_hint`); the zygote answers on the worker's socket with a
hello and a pidfd of the new worker (:data:`beamr.protocol.HELLO`), so the parent holds
a handle that can never name another process.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import threading

import anyio

from beamr import _channel, _spawn, _workers
from beamr import protocol as p
from beamr._workers import ForkedWorker, WorkerProcess

__all__ = [
    "FORK_SERVER",
    "FORK_SUPPORTED",
    "ForkServer",
    "ForkServerHold",
    "ForkServerUnavailable",
    "fork_server",
    "start_worker",
]

logger = logging.getLogger("beamr")

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
#: ``BEAMR_SPAWN`` in the environment sets it. A custom worker command (tests) is
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
                _spawn.python_command(
                    "workers.zygote", "--fd", str(theirs.fileno()), "--owner", str(os.getpid())
                ),
                pass_fds=(theirs.fileno(),),
                close_fds=True,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                env=_spawn.WORKER_ENV,
                cwd=_spawn.WORKER_CWD,
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
                    socket.send_fds(self._sock, [hint or p.SPAWN], fds)
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
    workers and the fork-server are the parent's (see ``_workers.forget_all``)."""
    _channel.forget_all()
    _workers.forget_all()
    FORK_SERVER.forget()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


async def _receive_hello(sock: socket.socket) -> tuple[int, int]:
    """The fork-server's announcement on the worker's socket: (pid, pidfd)."""
    while True:
        try:
            data, fds, _, _ = socket.recv_fds(sock, p.HELLO.size, 1)
            break
        except BlockingIOError:
            await anyio.wait_readable(sock)
    if not data:
        raise ForkServerUnavailable("the fork-server closed the socket without a worker")
    if len(data) != p.HELLO.size or len(fds) != 1:
        for fd in fds:
            os.close(fd)
        raise ForkServerUnavailable(f"the fork-server sent a bad hello ({data!r:.40})")
    magic, pid = p.HELLO.unpack(data)
    if magic != p.HELLO_MAGIC or pid <= 0:
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
    custom = _spawn.WORKER_COMMAND != _spawn.DEFAULT_WORKER_COMMAND
    if forking and FORK_SUPPORTED and not custom:
        try:
            return await fork(hint)
        except ForkServerUnavailable as exc:
            logger.warning("fork-server unavailable (%s); spawning the worker instead", exc)
    return _spawn.spawn()


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
    and that keeps recently used compiled modules loaded (a fork instead of a Python
    start and an import of wasmtime). Leaving it lets the fork-server go: it exits as
    soon as the instances it forked are stopped. Holds nest and may overlap (a
    count); :class:`beamr.Pool` holds it while open. Where the platform cannot fork
    this way (not Linux), it does nothing and workers are spawned.
    """
    return ForkServerHold()
