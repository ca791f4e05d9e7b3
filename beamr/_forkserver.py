"""The fork-server client: workers forked from a warm zygote (``workers.zygote``).

The zygote has imported wasmtime and the worker once; it forks a worker per request
and, when the module is in the compiled-module cache, forks it with the module already
loaded. Requests carry the worker's two descriptors (its socket, and its end of a
control socket: interrupts come down it, the fork-server sends the exit status up
it) and a hint naming the module
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
import weakref

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
#: How workers start. "auto" (the default): forked from the fork-server, which starts
#: on first need and exits :data:`IDLE_EXIT` seconds after its last instance stopped
#: (unless held: :func:`beamr.fork_server`, a :class:`beamr.Pool`), so that nothing
#: lingers for long. "fork": forked, the fork-server kept for the life of the program.
#: "process": always spawned. ``BEAMR_SPAWN`` in the environment sets it. A custom
#: worker command (tests) is always spawned.
METHOD = os.environ.get("BEAMR_SPAWN") or "auto"
#: seconds the fork-server stays up, unheld, after its last instance stopped
IDLE_EXIT = 2.0
#: how long a forked worker may take to be announced (the fork-server's first start
#: imports wasmtime; many concurrent starts queue)
FORK_TIMEOUT = 30.0


class ForkServerUnavailable(Exception):
    """The fork-server could not be started or reached."""


class Zygote:
    """One fork-server process, as its workers' handles see it: alive or not (a
    pidfd: its exit is seen at once, and the number never names another process).
    Its workers keep their pids reserved only while it lives."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._pidfd: int | None = os.pidfd_open(pid)
        self._finalizer = weakref.finalize(self, os.close, self._pidfd)

    def descriptors(self) -> set[int]:
        return {self._pidfd} if self._pidfd is not None else set()

    def close(self) -> None:
        """Let go of it: its workers' pids count as reserved no longer."""
        self._pidfd = None
        self._finalizer()

    @property
    def alive(self) -> bool:
        if self._pidfd is None:
            return False
        if _workers.readable(self._pidfd, 0):
            self.close()
            return False
        return True


class ForkServer:
    """The zygote: shared by every event loop and thread.

    It starts at the first request. :meth:`hold` and :meth:`let_go` count its users;
    :meth:`started` and :meth:`ended` the workers it forked that are still ours. When
    neither is left it is shut down :data:`IDLE_EXIT` seconds later, unless a request
    came meanwhile (with ``METHOD == "fork"``, never): its control socket closes and
    it exits as soon as the workers it forked are gone (a thread reaps it then). It
    also exits with the program. So it outlives neither its users nor its workers by
    more than the idle time.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._popen: subprocess.Popen[bytes] | None = None
        self._sock: socket.socket | None = None
        #: the running fork-server, for its workers' handles
        self.zygote: Zygote | None = None
        self._users = 0
        #: workers forked for us and not released yet
        self._workers = 0
        #: bumped by every request: an idle timer that finds it changed does nothing
        self._generation = 0
        self._timer: threading.Timer | None = None

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
        """One user less; with none left and no worker, it idles out."""
        if not FORK_SUPPORTED:
            return
        with self._lock:
            self._users = max(0, self._users - 1)
            self._idle_locked()

    def started(self) -> None:
        """A worker was forked for us."""
        with self._lock:
            self._workers += 1

    def ended(self) -> None:
        """A worker forked for us was released (stopped, crashed, forgotten)."""
        with self._lock:
            self._workers = max(0, self._workers - 1)
            self._idle_locked()

    def _idle_locked(self) -> None:
        """Nobody holds it and no worker of ours is left: shut it down soon."""
        if self._users or self._workers or self._sock is None or METHOD == "fork":
            return
        generation = self._generation
        if self._timer is not None:
            self._timer.cancel()
        self._timer = threading.Timer(IDLE_EXIT, self._idle_timeout, (generation,))
        self._timer.daemon = True
        self._timer.start()

    def _idle_timeout(self, generation: int) -> None:
        with self._lock:
            if generation == self._generation and not self._users and not self._workers:
                logger.info("fork-server idle for %ss: shutting it down", IDLE_EXIT)
                self._shutdown_locked(0)

    def descriptors(self) -> set[int]:
        """The descriptors this process holds for the fork-server: its control socket
        and its pidfd."""
        sock, zygote = self._sock, self.zygote
        fds = {sock.fileno()} if sock is not None else set()
        return fds | zygote.descriptors() if zygote is not None else fds

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
        self.zygote = Zygote(popen.pid)
        logger.info("fork-server %d started", popen.pid)

    def request(self, fds: list[int], hint: bytes = b"") -> Zygote:
        """Ask for one worker on these descriptors (its socket, its control socket);
        the fork-server asked.

        ``hint`` (msgpack: digest, limits, cache_dir) names the module it will run,
        so that the fork-server can fork it with that module already compiled."""
        with self._lock:
            self._generation += 1
            for attempt in (1, 2):
                try:
                    if self._sock is None or self._popen is None or self._popen.poll() is not None:
                        self._shutdown_locked(0)
                        self._start()
                    assert self._sock is not None
                    assert self.zygote is not None
                    socket.send_fds(self._sock, [hint or p.SPAWN], fds)
                    return self.zygote
                except OSError as exc:
                    self._shutdown_locked(0)
                    if attempt == 2:
                        raise ForkServerUnavailable(str(exc)) from exc
            raise AssertionError("unreachable")  # pragma: no cover

    def shutdown(self, timeout: float = 5.0) -> None:
        """Close the control socket; the fork-server exits once its workers are gone."""
        with self._lock:
            self._shutdown_locked(timeout)

    def _shutdown_locked(self, timeout: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        sock, self._sock = self._sock, None
        popen, self._popen = self._popen, None
        zygote, self.zygote = self.zygote, None
        if zygote is not None:
            zygote.close()
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
        zygote, self.zygote = self.zygote, None
        if zygote is not None:
            zygote.close()  # our copy
        self._lock = threading.Lock()
        self._users = self._workers = 0
        self._timer = None
        if sock is not None:
            sock.close()


FORK_SERVER = ForkServer()
atexit.register(FORK_SERVER.shutdown)


def _forget_after_fork() -> None:
    """In a child forked from the parent (``multiprocessing``'s fork, say): the
    workers and the fork-server are the parent's (see ``_workers.forget_all``). The
    fork-server first: forgetting a worker tells it, and its lock may have been held
    by another thread at the fork."""
    FORK_SERVER.forget()
    _channel.forget_all()
    _workers.forget_all()


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
    with _spawn.descriptors("a worker"):
        parent_sock, child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            # interrupts down to the worker, its exit status up from the fork-server
            control, worker_control = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        except BaseException:
            parent_sock.close()
            child_sock.close()
            raise
    try:
        try:
            zygote = FORK_SERVER.request([child_sock.fileno(), worker_control.fileno()], hint)
        finally:
            child_sock.close()
            worker_control.close()
        parent_sock.setblocking(False)
        with anyio.fail_after(FORK_TIMEOUT):
            pid, pidfd = await _receive_hello(parent_sock)
    except BaseException:
        parent_sock.close()  # a worker forked anyway sees EOF and exits
        control.close()
        raise
    logger.info("worker %d started", pid)
    FORK_SERVER.started()
    return ForkedWorker(
        pid,
        pidfd,
        parent_sock,
        control,
        reserving=lambda: zygote.alive,
        on_release=FORK_SERVER.ended,
    )


async def start_worker(hint: bytes = b"") -> WorkerProcess:
    """A new worker: forked from the fork-server (see :data:`METHOD`), else spawned."""
    forking = METHOD in ("auto", "fork")
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
    """Keep the fork-server up while this is held.

    :func:`beamr.start` forks each worker from a fork-server, a process that has
    imported wasmtime and the worker once and keeps recently used compiled modules
    loaded; it starts on first need and exits :data:`IDLE_EXIT` seconds after its
    last instance stopped. ``with beamr.fork_server():`` (or ``async with``) keeps it
    up for the block even with no instance running (a burst of starts after a pause
    then pays no start-up). Holds nest and may overlap (a count); :class:`beamr.Pool`
    holds it while open. Where the platform cannot fork this way (not Linux), it does
    nothing and workers are spawned.
    """
    return ForkServerHold()
