"""The wasm entries on a worker's stack, and the interrupts aimed at them.

An *entry* is a command that runs wasm (a call, or an instantiation) under its id.
Entries nest: a wasm call suspended in an import may be entered again by a nested
call. The parent interrupts entries by id from the watcher thread, so the stack is
shared between two threads, under one lock: an interrupt only reaches an entry that
is running, or one not started yet (which then fails at once), never a later one.
"""

from __future__ import annotations

import threading
from typing import Protocol

from beamr import protocol as p
from workers.backend import CommandFailed

__all__ = ["Entries"]


class Armed(Protocol):
    def arm(self, *, fresh_fuel: bool) -> None: ...
    def interrupt(self) -> None: ...


class Entries:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        #: ids of the entries on the stack, outermost first
        self._calls: list[int] = []
        #: entries the parent asked to interrupt: running ones, or ones not started yet
        self._interrupted: set[int] = set()
        #: entries interrupted because their deadline passed
        self._timed_out: set[int] = set()
        #: the highest entry id seen; an interrupt for a lower id not running is stale
        self._last = 0
        #: batches under way: interrupts for them are kept for their next call
        self._batches: set[int] = set()
        #: what the entries run in; None until the module is loaded
        self.backend: Armed | None = None

    @property
    def innermost(self) -> int:
        """The running entry's id (0: none)."""
        calls = self._calls
        return calls[-1] if calls else 0

    def __len__(self) -> int:
        return len(self._calls)

    def enter(self, command_id: int, backend: Armed) -> None:
        """Push ``command_id`` and arm the backend for it; ``nesting_too_deep`` past
        the limit, ``interrupt`` if the parent gave up on it before it started."""
        with self._lock:
            if len(self._calls) >= p.MAX_NESTING:
                raise CommandFailed(
                    "nesting_too_deep",
                    f"calls nest at most {p.MAX_NESTING} deep through import handlers",
                )
            self._calls.append(command_id)
            self._last = max(self._last, command_id)
            if self._interrupted:  # forget interrupts for entries that are over
                self._interrupted = {
                    i for i in self._interrupted if i >= command_id or i in self._calls
                }
            backend.arm(fresh_fuel=len(self._calls) == 1)
            interrupted = command_id in self._interrupted
        if interrupted:
            self.leave(command_id)
            raise CommandFailed("trap", "interrupted before it started", "interrupt")

    def leave(self, command_id: int) -> bool:
        """Pop ``command_id``; whether its deadline had passed."""
        with self._lock:
            self._calls.pop()
            if command_id not in self._batches:
                self._interrupted.discard(command_id)
            timed_out = command_id in self._timed_out
            self._timed_out.discard(command_id)
            return timed_out

    def resume(self, backend: Armed) -> None:
        """Re-arm the deadline before returning into a suspended wasm call: nested
        calls re-armed it for themselves, and an interrupt that arrived for a
        suspended call must not be lost on the way back."""
        with self._lock:
            backend.arm(fresh_fuel=False)
            interrupted = any(call in self._interrupted for call in self._calls)
        if interrupted:
            raise CommandFailed("trap", "interrupted", "interrupt")

    def open_batch(self, command_id: int) -> None:
        """A batch begins: interrupts for it count from now until it ends, also
        between its calls (each of which enters under the batch's id)."""
        with self._lock:
            self._batches.add(command_id)
            self._last = max(self._last, command_id)

    def check_batch(self, command_id: int) -> None:
        """``interrupt`` if the parent gave up on the batch (between its ops)."""
        with self._lock:
            interrupted = command_id in self._interrupted
        if interrupted:
            raise CommandFailed("trap", "interrupted", "interrupt")

    def close_batch(self, command_id: int) -> None:
        with self._lock:
            self._batches.discard(command_id)
            self._interrupted.discard(command_id)

    # ------------------------------------------------------ from the watcher thread

    def interrupt(self, command_ids: tuple[int, ...]) -> None:
        """Interrupt these entries if running, or when they start."""
        with self._lock:
            running = False
            for call_id in command_ids:
                if call_id in self._calls:
                    running = True
                    self._interrupted.add(call_id)
                elif call_id in self._batches or call_id > self._last:  # or not started yet
                    self._interrupted.add(call_id)
            if running and self.backend is not None:
                self.backend.interrupt()

    def deadline_passed(self, command_id: int) -> None:
        with self._lock:
            if command_id in self._calls:
                self._timed_out.add(command_id)
        self.interrupt((command_id,))
