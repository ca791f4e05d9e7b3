"""WASI preview1 functions the worker implements itself, over wasmtime's own.

wasmtime's ``poll_oneoff`` sleeps in native code that no interrupt reaches: a guest
asleep in it could not be stopped by ``call_timeout`` or a cancellation until it
woke up. :class:`Sleeper` answers clock subscriptions by waiting on an event that an
interrupt sets, and file descriptor subscriptions at once (stdio is memory here, and
files in preopened directories do not block).
"""

from __future__ import annotations

import struct
import threading
import time
from typing import Final

from workers.backend import CommandFailed
from workers.linear_memory import LinearMemory

__all__ = ["Sleeper"]

# a subscription (userdata, tag, clock id, timeout, precision, flags) and an event
# (userdata, errno, type, nbytes, flags), as laid out in linear memory
SUBSCRIPTION: Final = struct.Struct("<QB7xIxxxxQQH6x")
EVENT: Final = struct.Struct("<QHBxxxxxQH6x")
EINVAL: Final = 28
EFAULT: Final = 21
_CLOCK, _FD_READ, _FD_WRITE = 0, 1, 2
_ABSOLUTE: Final = 1
_REALTIME: Final = 0


class Sleeper:
    def __init__(self, memory: LinearMemory) -> None:
        self._memory = memory
        #: set by an interrupt: wakes a guest sleeping in poll_oneoff
        self.wake = threading.Event()
        #: the WASI monotonic clock's origin (wasmtime counts from its context's birth)
        self._origin = time.monotonic_ns()

    def poll_oneoff(self, subscriptions: int, events: int, count: int, written: int) -> int:
        """``poll_oneoff(in, out, nsubscriptions, nevents)`` for a wasm32 guest."""
        subscriptions, events = subscriptions & 0xFFFFFFFF, events & 0xFFFFFFFF
        count, written = count & 0xFFFFFFFF, written & 0xFFFFFFFF
        if count == 0:
            return EINVAL
        length = self._memory.size()
        if (
            subscriptions + count * SUBSCRIPTION.size > length
            or events + count * EVENT.size > length
            or written + 4 > length
        ):
            return EFAULT
        data = self._memory.read(subscriptions, count * SUBSCRIPTION.size)
        now, wall = time.monotonic_ns(), time.time_ns()
        clocks: list[tuple[int, int]] = []  # (deadline, userdata)
        ready: list[bytes] = []
        for at in range(0, len(data), SUBSCRIPTION.size):
            userdata, tag, clock, timeout, _, flags = SUBSCRIPTION.unpack_from(data, at)
            if tag == _CLOCK:
                if not flags & _ABSOLUTE:
                    deadline = now + timeout
                elif clock == _REALTIME:
                    deadline = now + (timeout - wall)
                else:  # monotonic, absolute: counted from the context's origin
                    deadline = self._origin + timeout
                clocks.append((deadline, userdata))
            elif tag in (_FD_READ, _FD_WRITE):
                ready.append(EVENT.pack(userdata, 0, tag, 0, 0))
            else:
                return EINVAL
        if not ready and clocks:
            delay = (min(deadline for deadline, _ in clocks) - time.monotonic_ns()) / 1e9
            if delay > 0 and self.wake.wait(delay):
                raise CommandFailed(
                    "trap", "interrupted while sleeping in poll_oneoff", "interrupt"
                )
            now = time.monotonic_ns()
            ready = [EVENT.pack(u, 0, _CLOCK, 0, 0) for deadline, u in clocks if deadline <= now]
        self._memory.write(events, b"".join(ready))
        self._memory.write(written, len(ready).to_bytes(4, "little"))
        return 0
