"""A fair lock that costs nothing when free: the mailbox of an instance (one command
in flight at a time, waiting tasks served in arrival order)."""

from __future__ import annotations

import collections

import anyio

__all__ = ["FairLock"]


class FairLock:
    """First come, first served; a free lock is taken without entering a coroutine.

    ``anyio.Lock(fast_acquire=True)`` still goes through trio's parking lot; here a
    free lock is a flag, and a busy one queues an Event per waiter and hands ownership
    straight to the first in line on release."""

    __slots__ = ("_held", "_waiters")

    def __init__(self) -> None:
        self._held = False
        self._waiters: collections.deque[anyio.Event] = collections.deque()

    def locked(self) -> bool:
        return self._held

    def try_acquire(self) -> bool:
        """Take it if it is free (no await: the hot path); False if it is not."""
        if self._held:
            return False
        self._held = True
        return True

    async def acquire(self) -> None:
        """Wait in line for it."""
        if not self._held:
            self._held = True
            return
        event = anyio.Event()
        self._waiters.append(event)
        try:
            await event.wait()
        except BaseException:
            if event.is_set():  # handed to us as we were cancelled: pass it on
                self.release()
            else:
                self._waiters.remove(event)
            raise

    def release(self) -> None:
        if self._waiters:
            self._waiters.popleft().set()  # ownership passes on: still held
        else:
            self._held = False

    def wake_all(self) -> None:
        """Wake every waiter (the instance was stopped: each finds it closed and
        raises). The lock is not used again."""
        while self._waiters:
            self._waiters.popleft().set()

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(self, *exc_info: object) -> None:
        self.release()
