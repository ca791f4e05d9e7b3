"""Starting workers: the command line every beamr child process runs, and spawning a
worker with ``subprocess``.

A worker gets its descriptors by inheritance: its end of a connected ``AF_UNIX``
stream socket (the protocol frames), the read end of a pipe (interrupts: call ids),
and, through ``--owner``, the parent's pid (it holds a pidfd of the parent and exits
when the parent is gone). The parent keeps the other ends. Only those descriptors are
passed on, so one worker never holds another's.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import resource
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from beamr._workers import SpawnedWorker, WorkerProcess

__all__ = [
    "BOOTSTRAP",
    "DEFAULT_WORKER_COMMAND",
    "WORKER_COMMAND",
    "WORKER_CWD",
    "WORKER_ENV",
    "descriptors",
    "python_command",
    "spawn",
    "worker_root",
]

logger = logging.getLogger("beamr")


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

#: The worker program: beamr's own, started as :data:`BOOTSTRAP` says. A replacement
#: (tests' rogue workers) is run as given, with the same flags appended.
DEFAULT_WORKER_COMMAND: tuple[str, ...] = (sys.executable, "-m", "workers")
WORKER_COMMAND: tuple[str, ...] = DEFAULT_WORKER_COMMAND


@contextlib.contextmanager
def descriptors(what: str) -> Iterator[None]:
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


#: what one live instance holds in the parent: its socket, its control socket (or,
#: spawned, its interrupt pipe) and a pidfd
DESCRIPTORS_PER_INSTANCE = 3


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
    with descriptors("a worker"):
        parent_sock, child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        with descriptors("a worker"):
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
        with descriptors("a worker"):
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
