"""Arguments, environment, clocks, randomness, the process, ``poll_oneoff``, sockets."""

from __future__ import annotations

import os
import struct
import threading
import time
from typing import Final

from workers.wasi_preview1 import abi
from workers.wasi_preview1.base import Base
from workers.wasi_preview1.config import Exit, Interrupted
from workers.wasi_preview1.fdtable import File, Stdio
from workers.wasi_preview1.guest import Fault, WasiError

__all__ = ["Procs"]

_SUBSCRIPTION: Final = struct.Struct("<QB7xIxxxxQQH6x")  # userdata tag . id . timeout ...
_U16: Final = struct.Struct("<H")
_U64: Final = struct.Struct("<Q")
_RANDOM_CHUNK: Final = 1 << 20
_CPU_CLOCKS: Final = {
    abi.CLOCK_PROCESS_CPUTIME: (time.CLOCK_PROCESS_CPUTIME_ID, time.process_time_ns),
    abi.CLOCK_THREAD_CPUTIME: (time.CLOCK_THREAD_CPUTIME_ID, time.thread_time_ns),
}


class ExitStatusTooLarge(Fault):
    """``proc_exit`` with a status wasmtime refuses (126 or more)."""


class Procs(Base):
    # -- args and environment ---------------------------------------------------------
    def _strings(self, items: list[bytes], pointers: int, buffer: int) -> int:
        for item in items:
            self.guest.pointers(pointers, [buffer])
            self.guest.write(buffer, item + b"\0")
            pointers += self.layout.word
            buffer += len(item) + 1
        return 0

    def _sizes(self, items: list[bytes], count: int, size: int) -> int:
        # wasmtime writes a pair of results last one first
        self.guest.size_out(size, sum(len(item) + 1 for item in items))
        self.guest.size_out(count, len(items))
        return 0

    def _args(self) -> list[bytes]:
        return [arg.encode() for arg in self.config.args]

    def _environ(self) -> list[bytes]:
        return [f"{key}={value}".encode() for key, value in self.config.env.items()]

    def args_get(self, argv: int, argv_buf: int) -> int:
        return self._strings(self._args(), argv, argv_buf)

    def args_sizes_get(self, argc: int, argv_buf_size: int) -> int:
        return self._sizes(self._args(), argc, argv_buf_size)

    def environ_get(self, environ: int, environ_buf: int) -> int:
        return self._strings(self._environ(), environ, environ_buf)

    def environ_sizes_get(self, count: int, buf_size: int) -> int:
        return self._sizes(self._environ(), count, buf_size)

    # -- clocks -------------------------------------------------------------------------
    def clock_res_get(self, clock: int, resolution: int) -> int:
        if clock == abi.CLOCK_REALTIME:
            res = time.clock_getres(time.CLOCK_REALTIME)
        elif clock == abi.CLOCK_MONOTONIC:
            res = time.clock_getres(time.CLOCK_MONOTONIC)
        else:
            res = time.clock_getres(_CPU_CLOCKS[clock][0])
        self.guest.u64(resolution, max(1, round(res * 1e9)))
        return 0

    def clock_time_get(self, clock: int, precision: int, out: int) -> int:
        del precision
        self.guest.u64(out, self._now(clock))
        return 0

    def _now(self, clock: int) -> int:
        if clock == abi.CLOCK_REALTIME:
            return time.time_ns()
        if clock == abi.CLOCK_MONOTONIC:
            return time.monotonic_ns() - self.origin
        return _CPU_CLOCKS[clock][1]()

    # -- randomness, scheduling, the process ---------------------------------------------
    def random_get(self, buf: int, length: int) -> int:
        self.guest.check(buf, length)
        for at in range(0, length, _RANDOM_CHUNK):
            self.guest.write(buf + at, os.urandom(min(_RANDOM_CHUNK, length - at)))
        return 0

    def sched_yield(self) -> int:
        return 0

    def proc_exit(self, code: int) -> None:
        if code >= 126:
            raise ExitStatusTooLarge(f"exit with invalid exit status {code} outside of [0..126)")
        raise Exit(code)

    def proc_raise(self, signal: int) -> int:
        return abi.ENOTSUP

    # -- sockets: none here (wasmtime answers the same) ----------------------------------
    def sock_accept(self, fd: int, flags: int, opened: int) -> int:
        self.table.get(fd)
        return abi.ENOTSOCK

    def sock_recv(self, fd: int, data: int, count: int, flags: int, size: int, oflags: int) -> int:
        self.table.get(fd)
        return abi.ENOTSOCK

    def sock_send(self, fd: int, data: int, count: int, flags: int, size: int) -> int:
        self.table.get(fd)
        return abi.ENOTSOCK

    def sock_shutdown(self, fd: int, how: int) -> int:
        self.table.get(fd)
        return abi.ENOTSOCK

    # -- poll_oneoff ----------------------------------------------------------------------
    def _subscription(self, at: int) -> tuple[int, int, int, int, int]:
        """(userdata, tag, clock id or fd, timeout, flags) of one subscription."""
        raw = self.guest.read(at, abi.SUBSCRIPTION_SIZE, 8)
        userdata, tag, ident, timeout, _, flags = _SUBSCRIPTION.unpack(raw)
        if tag > abi.EVENTTYPE_FD_WRITE:
            raise WasiError(abi.EINVAL)
        if tag == abi.EVENTTYPE_CLOCK and (ident > abi.CLOCK_THREAD_CPUTIME or flags & ~1):
            raise WasiError(abi.EINVAL)
        return userdata, tag, ident, timeout, flags

    def poll_oneoff(self, subscriptions: int, events: int, count: int, nevents: int) -> int:
        """Clock subscriptions sleep (on ``wake``); descriptors are ready at once.

        As wasmtime: with a descriptor ready, a clock is only reported if it was past
        when the call began; otherwise the call sleeps until the first clock is due
        and reports every clock due by then. Events are written field by field."""
        if count == 0:
            raise WasiError(abi.EINVAL)  # an indefinite sleep: not in preview1
        size = abi.SUBSCRIPTION_SIZE
        if count * (size + abi.EVENT_SIZE) > abi.HOSTCALL_FUEL:
            raise WasiError(abi.ENOMEM)
        now = time.monotonic_ns()
        deadlines: dict[int, int] = {}  # subscription index -> monotonic deadline
        ready: set[int] = set()
        for index in range(count):
            _, tag, ident, timeout, flags = self._subscription(subscriptions + index * size)
            if tag == abi.EVENTTYPE_CLOCK:
                deadlines[index] = self._deadline(now, ident, timeout, flags)
            else:
                self._pollable(tag, ident)
                ready.add(index)
        if ready:  # a clock counts only if it was already past (wasmtime: not even at 0)
            ready |= {index for index, deadline in deadlines.items() if deadline < now}
        else:
            self._sleep_until(min(deadlines.values()))
            now = time.monotonic_ns()
            ready = {index for index, deadline in deadlines.items() if deadline <= now}
        at = events
        for index in sorted(ready):
            userdata, tag, ident, _, _ = self._subscription(subscriptions + index * size)
            nbytes, flags = (0, 0) if tag == abi.EVENTTYPE_CLOCK else self._readiness(tag, ident)
            self.guest.struct(
                at,
                abi.EVENT_SIZE,
                [
                    (0, _U64.pack(userdata)),
                    (8, b"\0\0"),
                    (10, bytes([tag])),
                    (16, _U64.pack(nbytes)),
                    (24, _U16.pack(flags)),
                ],
            )
            at += abi.EVENT_SIZE
        self.guest.size_out(nevents, len(ready))
        return 0

    def _deadline(self, now: int, clock: int, timeout: int, flags: int) -> int:
        absolute = flags & abi.SUBCLOCK_ABSTIME
        if clock == abi.CLOCK_MONOTONIC:
            return self.origin + timeout if absolute else now + timeout
        if clock == abi.CLOCK_REALTIME:
            return now + (max(0, timeout - time.time_ns()) if absolute else timeout)
        raise WasiError(abi.EINVAL)

    def _pollable(self, tag: int, fd: int) -> None:
        desc = self.table.get(fd)
        if isinstance(desc, File):
            return
        if isinstance(desc, Stdio) and (desc.stream == 0) == (tag == abi.EVENTTYPE_FD_READ):
            return
        raise WasiError(abi.EBADF)

    def _readiness(self, tag: int, fd: int) -> tuple[int, int]:
        """(nbytes, flags) of a ready descriptor's event, as wasmtime fills them."""
        desc = self.table.get(fd)
        if tag == abi.EVENTTYPE_FD_READ and isinstance(desc, File):
            left = os.fstat(desc.fd).st_size - desc.position
            return 1, 0 if left > 0 else abi.EVENT_FD_READWRITE_HANGUP
        return 1, 0

    def _sleep_until(self, deadline: int) -> None:
        """Wait for the monotonic ``deadline`` or for ``wake``, whichever is first."""
        wake = self.config.wake
        while True:
            delay = (deadline - time.monotonic_ns()) / 1e9
            if delay <= 0:
                return
            if wake.wait(min(delay, threading.TIMEOUT_MAX, 86400.0)):
                raise Interrupted("interrupted while sleeping in poll_oneoff")
