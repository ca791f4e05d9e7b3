"""The worker process around its command loop: the socket, the watcher thread, the
hooks, and how it hardens itself (:mod:`workers.sandbox`) before the module runs.

Both ways a worker starts end here: ``python -m workers`` (spawned) and the
fork-server's child (:mod:`workers.zygote`).
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Mapping
from typing import Any

from workers.backend import CommandFailed
from workers.server import EXIT_HOST_FAILURE, Server

__all__ = ["main"]


def _exit_on_escaped_callback_error(hook: Any) -> None:
    """``sys.unraisablehook``: an exception that escaped a ctypes callback would let
    the wasm go on with whatever the callback left in its result slots. The worker
    exits instead (the parent reports WorkerCrashed)."""
    if "ctypes callback" in (hook.err_msg or ""):
        try:
            sys.stderr.write(f"beamr worker: a host callback failed: {hook.exc_value!r}\n")
            sys.stderr.flush()
        finally:
            os._exit(EXIT_HOST_FAILURE)
    sys.__unraisablehook__(hook)


def main(sock_fd: int, interrupt_fd: int, owner_fd: int | None = None) -> int:
    from workers import sandbox
    from workers.wasmtime_worker import WasmtimeBackend
    from workers.watcher import Watcher

    sys.unraisablehook = _exit_on_escaped_callback_error
    # Nesting is bounded well below this: a RecursionError can never reach a callback.
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    sock = socket.socket(fileno=sock_fd)
    sock.setblocking(True)
    watcher: Watcher | None = None

    def harden(options: Mapping[str, Any]) -> None:
        assert watcher is not None
        other_thread = watcher
        try:
            plan = sandbox.plan(options)
            sandbox.apply(
                plan, lambda plan: other_thread.run_on_thread(lambda: sandbox.confine_thread(plan))
            )
        except sandbox.SandboxFailure as exc:
            raise CommandFailed("sandbox", str(exc)) from None

    server = Server(sock, WasmtimeBackend, harden=harden)
    watcher = Watcher(server, interrupt_fd, owner_fd)
    server.watcher = watcher
    watcher.start()
    server.serve()
    sys.stdout.flush()
    return 0
