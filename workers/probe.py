"""Diagnostics run inside a worker on the parent's request (``[id, "probe", what]``).

Each probe attempts something a sandboxed worker must not be able to do and reports
what happened (``"allowed"`` or ``"denied: <reason>"``), so that tests can prove the
sandbox from inside a live worker. ``open:PATH`` and ``create:PATH`` try that path.
"""

from __future__ import annotations

import ctypes
import os
import socket

_libc = ctypes.CDLL(None, use_errno=True)
_syscall = _libc.syscall
_syscall.restype = ctypes.c_long
_IO_URING_SETUP = {"x86_64": 425, "aarch64": 425}
_PR_GET_SECCOMP = 21
_PR_GET_NO_NEW_PRIVS = 39


def _io_uring() -> None:
    params = ctypes.create_string_buffer(120)  # struct io_uring_params, zeroed
    fd = _syscall(_IO_URING_SETUP.get(os.uname().machine, 425), 1, params)
    if fd < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    os.close(fd)


def _fork_and(action: str) -> str:
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            if action == "execve":
                os.execv("/bin/true", ["/bin/true"])
        finally:
            os._exit(127 if action == "execve" else 0)
    _, status = os.waitpid(pid, 0)
    if action == "execve" and os.waitstatus_to_exitcode(status) != 0:
        return "denied: exec failed"
    return "allowed"


def _attempt(what: str) -> str:
    action, _, path = what.partition(":")
    try:
        if action == "open":
            os.close(os.open(path or "/etc/hostname", os.O_RDONLY))
        elif action == "create":
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            os.unlink(path)
        elif action == "socket":
            socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
        elif action in ("execve", "fork"):
            return _fork_and(action)
        elif action == "io_uring":
            _io_uring()
        elif action == "memfd":
            os.close(os.memfd_create("probe"))
        elif action == "kill":  # signal 0 to the parent: a permission check only
            os.kill(os.getppid(), 0)
        else:
            return f"unknown probe {what!r}"
    except OSError as exc:
        return f"denied: {exc.strerror or exc}"
    return "allowed"


def run(what: str) -> str:
    """``what`` is one of open[:PATH], create:PATH, socket, execve, fork, io_uring,
    memfd, kill; pid, seccomp (the mode), no_new_privs; or, answered by the server,
    module_source (where the instance's compiled module came from)."""
    if what == "pid":
        return str(os.getpid())
    if what == "seccomp":
        return str(_libc.prctl(_PR_GET_SECCOMP, 0, 0, 0, 0))
    if what == "no_new_privs":
        return str(_libc.prctl(_PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0))
    return _attempt(what)
