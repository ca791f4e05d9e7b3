"""The guest's linear memory as WASI functions see it: checked, typed, either width.

Every access is checked against the memory's size (and, like wasmtime's ``wiggle``,
against the alignment of what is read or written) before a byte moves; a bad one
raises :class:`Fault`, which the caller turns into a trap (what wasmtime does) or
into ``EFAULT``.
"""

from __future__ import annotations

import struct
from typing import Final, Protocol

from workers.wasi_preview1.abi import EILSEQ, ENOMEM, HOSTCALL_FUEL, Layout

__all__ = ["Fault", "Guest", "Memory", "WasiError"]

_U32: Final = struct.Struct("<I")
_U64: Final = struct.Struct("<Q")
_IOVEC_CHUNK: Final = 4096  # iovecs read at a time


class Memory(Protocol):
    """What the worker provides (:class:`workers.linear_memory.LinearMemory` fits)."""

    def size(self) -> int: ...
    def read(self, offset: int, size: int) -> bytes: ...
    def write(self, offset: int, data: bytes) -> None: ...


class Fault(Exception):
    """The guest passed a pointer or length outside its memory, or misaligned, or an
    argument wasmtime refuses to convert: wasmtime traps here."""


class WasiError(Exception):
    """A function's answer is this errno."""

    def __init__(self, errno: int) -> None:
        super().__init__(errno)
        self.errno = errno


class Guest:
    """One memory, read and written at one pointer width."""

    def __init__(self, memory: Memory, layout: Layout) -> None:
        self.memory = memory
        self.layout = layout
        self.word = layout.word

    def check(self, offset: int, size: int, align: int = 1) -> None:
        if offset % align:
            raise Fault(f"pointer {offset:#x} not aligned to {align}")
        if offset < 0 or size < 0 or offset + size > self.memory.size():
            raise Fault(f"{size} bytes at {offset:#x} are outside the memory")

    def read(self, offset: int, size: int, align: int = 1) -> bytes:
        self.check(offset, size, align)
        return self.memory.read(offset, size) if size else b""

    def write(self, offset: int, data: bytes, align: int = 1) -> None:
        self.check(offset, len(data), align)
        if data:
            self.memory.write(offset, data)

    # -- typed values ---------------------------------------------------------------
    def u32(self, offset: int, value: int) -> None:
        self.write(offset, _U32.pack(value), 4)

    def u64(self, offset: int, value: int) -> None:
        self.write(offset, _U64.pack(value), 8)

    def size_out(self, offset: int, value: int) -> None:
        """A ``size`` (or pointer) result: one word."""
        self.write(offset, value.to_bytes(self.word, "little"), self.word)

    def struct(self, offset: int, size: int, fields: list[tuple[int, bytes]]) -> None:
        """A struct of ``size`` bytes (aligned to 8), field by field: its padding keeps
        what it held, as wasmtime leaves it."""
        self.check(offset, size, 8 if size % 8 == 0 else self.word)
        for at, data in fields:
            self.memory.write(offset + at, data)

    def pointers(self, offset: int, values: list[int]) -> None:
        """An array of pointers (``argv``)."""
        self.check(offset, len(values) * self.word, self.word)
        for i, value in enumerate(values):
            self.write(offset + i * self.word, value.to_bytes(self.word, "little"))

    # -- WASI shapes ----------------------------------------------------------------
    def first_buffer(self, offset: int, count: int) -> tuple[int, int]:
        """The first non-empty iovec, or (0, 0) (wasmtime does one transfer a call).

        The array is read up to that iovec, as wasmtime reads it: one outside the
        memory before it faults; the buffer itself is checked when it is used."""
        size, word = self.layout.iovec, self.word
        if count * size > HOSTCALL_FUEL:
            raise WasiError(ENOMEM)
        if count and offset % word:
            raise Fault(f"iovecs at {offset:#x} not aligned to {word}")
        for first in range(0, count, _IOVEC_CHUNK):
            number = min(_IOVEC_CHUNK, count - first)
            at = offset + first * size
            fit = max(0, min(number, (self.memory.size() - at) // size))
            raw = self.read(at, fit * size)
            for i in range(0, len(raw), size):
                length = int.from_bytes(raw[i + word : i + size], "little")
                if length:
                    if length > HOSTCALL_FUEL:
                        raise WasiError(ENOMEM)
                    return int.from_bytes(raw[i : i + word], "little"), length
            if fit < number:
                self.check(at + fit * size, size)  # the first iovec past the end: faults
        return 0, 0

    def string(self, offset: int, length: int) -> str:
        """A path argument: UTF-8 (``EILSEQ`` otherwise)."""
        if length > HOSTCALL_FUEL:
            raise WasiError(ENOMEM)
        raw = self.read(offset, length)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise WasiError(EILSEQ) from None
