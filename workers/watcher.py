"""The worker's second thread: interrupts, deadlines and its parent's death.

The main thread runs the wasm and may be inside it for any length of time; this
thread stays reachable. It waits on three things at once:

- the interrupt pipe: call ids the parent wants interrupted
  (:func:`beamr.protocol.encode_interrupts`); EOF means the parent closed it (stop)
  or died;
- a pidfd of the parent process, readable once it has exited, even while some other
  process (a forked child of the parent) still holds the interrupt pipe open;
- its own wake pipe, for a new deadline or a task the main thread hands over.

It also sends WASI output that has waited long enough (:meth:`Watcher.flush_after`),
so that a program's output reaches the parent while it runs.

When the parent is gone the process exits at once, even in the middle of a runaway
call. Some hardening steps are per thread (Landlock, capabilities): the main thread
hands them to this thread with :meth:`Watcher.run_on_thread`.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from beamr import protocol as p

__all__ = ["Watcher"]


class Interruptible(Protocol):
    def interrupt(self, command_ids: tuple[int, ...]) -> None: ...
    def deadline_passed(self, command_id: int) -> None: ...
    def flush_output(self) -> None: ...


def _exit_now() -> None:
    os._exit(0)


class Watcher:
    def __init__(
        self,
        target: Interruptible,
        interrupt_fd: int,
        owner_fd: int | None = None,
        on_parent_gone: Callable[[], None] = _exit_now,
    ) -> None:
        self._target = target
        self._interrupt_fd = interrupt_fd
        self._owner_fd = owner_fd
        self._on_parent_gone = on_parent_gone
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        self._lock = threading.Lock()
        self._deadline: tuple[int, float] | None = None
        #: when to send the output waiting (monotonic seconds)
        self._flush_at: float | None = None
        self._task: tuple[Callable[[], Any], threading.Event, list[BaseException]] | None = None
        self._thread = threading.Thread(target=self._run, name="beamr-watcher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    # ---------------------------------------------------------- from the main thread

    def set_deadline(self, command_id: int, seconds: float) -> None:
        """Interrupt ``command_id`` (through the target) ``seconds`` from now."""
        with self._lock:
            self._deadline = (command_id, time.monotonic() + seconds)
        os.write(self._wake_write, b"d")

    def flush_after(self, seconds: float) -> None:
        """Have the target send its waiting output ``seconds`` from now."""
        with self._lock:
            if self._flush_at is not None:
                return
            self._flush_at = time.monotonic() + seconds
        os.write(self._wake_write, b"f")

    def clear_deadline(self) -> None:
        with self._lock:
            self._deadline = None

    def run_on_thread(self, task: Callable[[], Any]) -> None:
        """Run ``task`` on the watcher thread and wait for it; its exception is raised."""
        done = threading.Event()
        errors: list[BaseException] = []
        with self._lock:
            self._task = (task, done, errors)
        os.write(self._wake_write, b"t")
        done.wait()
        if errors:
            raise errors[0]

    # ------------------------------------------------------------- the thread itself

    def _run(self) -> None:
        poller = select.poll()
        poller.register(self._interrupt_fd, select.POLLIN)
        poller.register(self._wake_read, select.POLLIN)
        if self._owner_fd is not None:
            poller.register(self._owner_fd, select.POLLIN)
        decoder = p.InterruptDecoder()
        while True:
            with self._lock:
                deadline, flush_at = self._deadline, self._flush_at
            wake_at = min(
                (at for at in (deadline and deadline[1], flush_at) if at is not None),
                default=None,
            )
            timeout = None
            if wake_at is not None:
                timeout = max(0, int((wake_at - time.monotonic()) * 1000) + 1)
            try:
                events = poller.poll(timeout)
            except InterruptedError:  # pragma: no cover - poll restarts on its own
                continue
            if flush_at is not None and time.monotonic() >= flush_at:
                with self._lock:
                    self._flush_at = None
                # (an OSError: the parent is gone; the main thread or the pidfd says so)
                with contextlib.suppress(OSError):
                    self._target.flush_output()
            if deadline is not None and time.monotonic() >= deadline[1]:
                with self._lock:
                    if self._deadline == deadline:
                        self._deadline = None
                self._target.deadline_passed(deadline[0])
            for fd, _ in events:
                if fd == self._owner_fd:
                    self._on_parent_gone()
                    return
                if fd == self._wake_read:
                    self._drain_wake()
                    continue
                try:
                    chunk = os.read(self._interrupt_fd, 4096)
                except InterruptedError:  # pragma: no cover
                    continue
                except OSError:
                    chunk = b""
                if not chunk:
                    self._on_parent_gone()
                    return
                ids = decoder.feed(chunk)
                if ids:
                    self._target.interrupt(ids)

    def _drain_wake(self) -> None:
        try:
            while os.read(self._wake_read, 64):
                pass
        except BlockingIOError:
            pass
        with self._lock:
            task, self._task = self._task, None
        if task is not None:
            run, done, errors = task
            try:
                run()
            except BaseException as exc:
                errors.append(exc)
            finally:
                done.set()
