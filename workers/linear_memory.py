"""The instance's linear memory, as the command loop sees it: bounds-checked bytes.

wasmtime-py's ``Memory.read`` clamps silently and its ``write`` wraps negative
offsets: every bound is checked here, before a byte moves.
"""

from __future__ import annotations

import ctypes

import wasmtime

from workers.backend import CommandFailed

__all__ = ["LinearMemory"]

PAGE = 65536

_libc = ctypes.CDLL(None)
_memchr = _libc.memchr
_memchr.restype = ctypes.c_void_p
_memchr.argtypes = (ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t)


class LinearMemory:
    """One wasmtime memory (or none) of a store, with a cached view of its bytes.

    The memory only grows (or moves) while the wasm runs, and every entry into the
    wasm calls :meth:`forget_view`: until then the cached (address, length) holds."""

    def __init__(self, store: wasmtime.Store) -> None:
        self._store = store
        self.memory: wasmtime.Memory | None = None
        self._view: tuple[int, int] | None = None

    def use(self, memory: wasmtime.Memory | None) -> None:
        self.memory = memory
        self._view = None

    def forget_view(self) -> None:
        self._view = None

    def view(self) -> tuple[int, int]:
        """(address, length) of the memory; (0, 0) without one."""
        view = self._view
        if view is None:
            if self.memory is None:
                return 0, 0
            address = ctypes.cast(self.memory.data_ptr(self._store), ctypes.c_void_p).value
            view = self._view = (address or 0, self.memory.data_len(self._store))
        return view

    def size(self) -> int:
        return self.view()[1]

    def grow_to(self, size: int) -> int:
        """Grow the memory (whole pages) until it holds ``size`` bytes; its size."""
        current = self.size()
        if size <= current:
            return current
        if self.memory is None:
            raise CommandFailed("out_of_bounds", "the module has no memory to grow")
        pages = -(-(size - current) // PAGE)
        try:
            self.memory.grow(self._store, pages)
        except wasmtime.WasmtimeError:
            raise CommandFailed(
                "out_of_bounds",
                f"the memory cannot grow from {current} to {size} bytes "
                "(past its maximum or the memory budget)",
            ) from None
        finally:
            self._view = None
        return self.size()

    def checked(self, offset: int, size: int, what: str) -> int:
        """The address of ``offset`` once ``size`` bytes there are inside the memory."""
        address, length = self.view()
        if offset < 0 or size < 0:
            raise CommandFailed("bad_argument", f"{what}: negative offset or size")
        if offset + size > length:
            raise CommandFailed(
                "out_of_bounds",
                f"{what} of {size} bytes at {offset} is outside the memory of {length} bytes",
            )
        return address + offset

    def read(self, offset: int, size: int) -> bytes:
        address = self.checked(offset, size, "read")
        return ctypes.string_at(address, size) if size else b""

    def write(self, offset: int, data: bytes) -> None:
        address = self.checked(offset, len(data), "write")
        if data:
            ctypes.memmove(address, data, len(data))

    def locate(self, offset: int, size: int, access: str) -> tuple[int, int]:
        return self.checked(offset, size, access), self.view()[1]

    def read_string(self, offset: int, limit: int) -> bytes:
        """The bytes before the first NUL; ``too_large`` (detail: the length) past
        ``limit``, ``out_of_bounds`` if no NUL comes before the end."""
        address = self.checked(offset, 0, "read_string")
        left = self.view()[1] - offset
        found = _memchr(address, 0, left) if left else None
        if not found:
            raise CommandFailed(
                "out_of_bounds", f"read_string at {offset}: no NUL before the end of memory"
            )
        size = found - address
        if size > limit:
            raise CommandFailed(
                "too_large", f"a string of {size} bytes is read in parts", detail=[size]
            )
        return ctypes.string_at(address, size)
