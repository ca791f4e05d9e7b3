"""Diagnostics run inside a worker on the parent's request (``[id, "probe", what]``).

Each probe attempts something a sandboxed worker must not be able to do and reports
what happened, so tests can prove the sandbox from inside a live worker.
"""

from __future__ import annotations

import os
import socket


def _attempt(action: str) -> str:
    try:
        if action == "open":
            fd = os.open("/etc/hostname", os.O_RDONLY)
            os.close(fd)
        elif action == "socket":
            socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
        elif action == "execve":
            pid = os.fork()
            if pid == 0:  # pragma: no cover - child
                try:
                    os.execv("/bin/true", ["/bin/true"])
                finally:
                    os._exit(127)
            _, status = os.waitpid(pid, 0)
            return "allowed" if os.waitstatus_to_exitcode(status) == 0 else "denied: exec failed"
        elif action == "fork":
            pid = os.fork()
            if pid == 0:  # pragma: no cover - child
                os._exit(0)
            os.waitpid(pid, 0)
        else:
            return f"unknown probe {action!r}"
    except OSError as exc:
        return f"denied: {exc.strerror or exc}"
    return "allowed"


def run(what: str) -> str:
    """``what`` is one of open, socket, execve, fork, or pid (and, answered by the
    server, module_source: where the instance's compiled module came from)."""
    if what == "pid":
        return str(os.getpid())
    return _attempt(what)
