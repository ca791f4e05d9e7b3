"""One memory budget for every linear memory of the worker's instance.

wasmtime limits each linear memory on its own; a module with eight memories would
get eight budgets. Here the worker allocates linear memories itself, through
wasmtime's host memory creator: each memory is a private anonymous mapping (its
reservation and guard region ``PROT_NONE``, the accessible part read-write), and
every ``memory.grow`` asks :class:`Budget` first. Growth past the budget fails
inside the wasm (``memory.grow`` returns -1); a minimum past it fails instantiation.

The creator is part of the engine configuration, so one :data:`BUDGET` serves the
whole process (a worker has one store); its limit is set per worker, before the
module is instantiated.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any, Final

from wasmtime import _bindings

__all__ = ["BUDGET", "Budget"]

_PROT_NONE: Final = 0
_PROT_READ_WRITE: Final = 0x1 | 0x2
_MAP_PRIVATE_ANONYMOUS_NORESERVE: Final = 0x02 | 0x20 | 0x4000
_MADV_HUGEPAGE: Final = 14
_HUGE_PAGE: Final = 2 << 20
_PAGE: Final = 4096
_FAILED: Final = ctypes.c_void_p(-1).value

_libc = ctypes.CDLL(None, use_errno=True)
_mmap = _libc.mmap
_mmap.restype = ctypes.c_void_p
_mmap.argtypes = (
    ctypes.c_void_p,
    ctypes.c_size_t,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_long,
)
_mprotect = _libc.mprotect
_mprotect.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
_munmap = _libc.munmap
_munmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t)
_madvise = _libc.madvise
_madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)

#: how far an unbounded memory (memory64) may grow when no budget is set: it is
#: reserved up front, since a memory never moves
DEFAULT_RESERVATION: Final = 8 << 30


def _round_up(value: int, unit: int = _PAGE) -> int:
    return (value + unit - 1) // unit * unit


def _error(text: str) -> int:
    """A wasmtime error for a callback to return (wasmtime takes ownership)."""
    pointer = _bindings._wasmtime_error_new(text.encode())
    return ctypes.cast(pointer, ctypes.c_void_p).value or 0


@dataclass
class _Region:
    address: int
    size: int  # accessible bytes
    maximum: int
    reserve: int  # bytes the memory may reach (it never moves)
    guard: int
    advised: int = 0  # the end of the part advised to use huge pages

    def advise_huge(self) -> None:
        """Transparent huge pages past the first 2 MiB (the parent's bulk copies and
        the wasm's TLB both gain; a small memory keeps small pages)."""
        start = (self.address + 2 * _HUGE_PAGE - 1) & ~(_HUGE_PAGE - 1)
        end = (self.address + self.size) & ~(_HUGE_PAGE - 1)
        begin = max(start, self.advised)
        if end > begin:
            _madvise(ctypes.c_void_p(begin), ctypes.c_size_t(end - begin), _MADV_HUGEPAGE)
            self.advised = end


class Budget:
    """The account every linear memory of this process draws from."""

    def __init__(self) -> None:
        #: bytes all memories may hold together; None: unlimited
        self.limit: int | None = None
        #: how far an unbounded memory may grow without a budget
        self.reservation = DEFAULT_RESERVATION
        self.used = 0
        self._regions: dict[int, _Region] = {}
        self._next = 1
        # The callbacks must live as long as any engine configured with them.
        self._get = _bindings.wasmtime_memory_get_callback_t(self._get_memory)
        self._grow = _bindings.wasmtime_memory_grow_callback_t(self._grow_memory)
        self._finalize = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(self._finalize_memory)
        self._new = _bindings.wasmtime_new_memory_callback_t(self._new_memory)
        self._no_finalizer = ctypes.CFUNCTYPE(None, ctypes.c_void_p)(lambda _: None)
        self._creator = _bindings.wasmtime_memory_creator(None, self._new, self._no_finalizer)

    def attach(self, config: Any) -> None:
        """Allocate the memories of engines made with ``config`` (a wasmtime.Config)."""
        _bindings.wasmtime_config_host_memory_creator_set(config.ptr(), ctypes.byref(self._creator))

    def _fits(self, extra: int) -> bool:
        return self.limit is None or self.used + extra <= self.limit

    # The callbacks below run inside wasmtime, on the thread running the wasm: they
    # catch everything (an exception must never escape into wasmtime).

    def _new_memory(
        self,
        env: Any,
        memory_type: Any,
        minimum: int,
        maximum: int,
        reserved: int,
        guard: int,
        out: Any,
    ) -> int:
        try:
            if not self._fits(minimum):
                return _error(
                    f"the memory's minimum of {minimum} bytes exceeds the instance's budget "
                    f"({self.limit} bytes, {self.used} already in use)"
                )
            # Never moved: reserve what wasmtime asks for, or (memory64, unbounded)
            # as far as the budget could ever let it grow.
            reserve = _round_up(max(reserved, min(maximum, self._reach()), minimum))
            guard = _round_up(guard)
            address = _mmap(
                None, reserve + guard, _PROT_NONE, _MAP_PRIVATE_ANONYMOUS_NORESERVE, -1, 0
            )
            if address in (None, _FAILED):
                return _error(f"cannot reserve {reserve + guard} bytes of address space")
            if minimum and _mprotect(address, minimum, _PROT_READ_WRITE) != 0:
                _munmap(address, reserve + guard)
                return _error(f"cannot map {minimum} bytes of memory")
            region = _Region(address, minimum, maximum, reserve, guard)
            region.advise_huge()
            key = self._next
            self._next += 1
            self._regions[key] = region
            self.used += minimum
            memory = out[0]
            memory.env = key
            memory.get_memory = self._get
            memory.grow_memory = self._grow
            memory.finalizer = self._finalize
            return 0
        except BaseException as exc:  # never into wasmtime
            return _error(f"memory creation failed: {exc!r}")

    def _reach(self) -> int:
        return self.reservation if self.limit is None else max(self.limit, _PAGE)

    def _get_memory(self, env: Any, size: Any, maximum: Any) -> int:
        region = self._regions.get(env or 0)
        if region is None:  # pragma: no cover - wasmtime only asks about its own
            size[0] = maximum[0] = 0
            return 0
        size[0] = region.size
        maximum[0] = region.maximum
        return region.address

    def _grow_memory(self, env: Any, new_size: int) -> int:
        try:
            region = self._regions[env]
            extra = new_size - region.size
            if extra <= 0:
                return 0
            if not self._fits(extra):
                return _error("the instance's memory budget is spent")
            if new_size > region.reserve:
                return _error(f"the memory cannot grow past {region.reserve} bytes")
            if _mprotect(region.address, new_size, _PROT_READ_WRITE) != 0:
                return _error(f"cannot map {new_size} bytes of memory")
            region.size = new_size
            self.used += extra
            region.advise_huge()
            return 0
        except BaseException as exc:  # never into wasmtime
            return _error(f"memory growth failed: {exc!r}")

    def _finalize_memory(self, env: Any) -> None:
        try:
            region = self._regions.pop(env or 0, None)
            if region is not None:
                self.used -= region.size
                _munmap(region.address, region.reserve + region.guard)
        except BaseException:  # pragma: no cover - never into wasmtime
            pass


BUDGET = Budget()
