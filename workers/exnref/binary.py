"""The binary format's primitives: LEB128 integers, value/heap/block types, sections.

Everything else in the translator reads the module through these functions. They
work on a ``bytes`` object and an offset and return the decoded value with the
offset after it, rather than going through a cursor object: the translator calls
them once per immediate of every structural instruction, and plain functions over
offsets keep that cheap.

Reads are bounded only by the slice they are given (a function body, a section
payload): running off its end raises ``IndexError``, which the callers turn into
:class:`TranslationError` naming what was truncated. Malformed encodings (an
overlong or out-of-range LEB128, an unknown value type, a bad magic or version, a
duplicate section) raise :class:`TranslationError` directly.
"""

from __future__ import annotations

__all__ = [
    "TranslationError",
    "leb",
    "s33",
    "sections",
    "skip_blocktype",
    "skip_heaptype",
    "skip_leb",
    "skip_locals",
    "skip_valtype",
    "sleb",
    "u32",
]


class TranslationError(ValueError):
    """The input is not a well-formed module this translator can handle."""


# ---------------------------------------------------------------------------
# LEB128
# ---------------------------------------------------------------------------


def u32(b: bytes, p: int) -> tuple[int, int]:
    """The unsigned LEB128 u32 at ``p`` and the offset after it."""
    x = b[p]
    if x < 0x80:
        return x, p + 1
    result = x & 0x7F
    shift = 7
    for i in range(1, 5):
        x = b[p + i]
        result |= (x & 0x7F) << shift
        if x < 0x80:
            if result > 0xFFFFFFFF:
                raise TranslationError(f"u32 LEB128 out of range at offset {p}")
            return result, p + i + 1
        shift += 7
    raise TranslationError(f"malformed u32 LEB128 (too long) at offset {p}")


def s33(b: bytes, p: int) -> tuple[int, int]:
    """The signed LEB128 s33 at ``p`` (a block type's type index) and the offset after it."""
    result = 0
    shift = 0
    for i in range(5):
        x = b[p + i]
        result |= (x & 0x7F) << shift
        shift += 7
        if x < 0x80:
            if x & 0x40:
                result -= 1 << shift
            return result, p + i + 1
    raise TranslationError(f"malformed s33 LEB128 (too long) at offset {p}")


def skip_leb(b: bytes, p: int, maxlen: int) -> int:
    """The offset after the LEB128 at ``p``, which may take at most ``maxlen`` bytes."""
    for i in range(maxlen):
        if b[p + i] < 0x80:
            return p + i + 1
    raise TranslationError(f"malformed LEB128 (too long) at offset {p}")


_LEB_SMALL = tuple(bytes((i,)) for i in range(0x80))


def leb(n: int) -> bytes:
    """``n`` (not negative) in unsigned LEB128, canonical (shortest) form."""
    if n < 0x80:
        return _LEB_SMALL[n]
    out = bytearray()
    while True:
        x = n & 0x7F
        n >>= 7
        if n:
            out.append(x | 0x80)
        else:
            out.append(x)
            return bytes(out)


def sleb(n: int) -> bytes:
    """``n`` in signed LEB128, canonical form (type indices in block types)."""
    out = bytearray()
    while True:
        x = n & 0x7F
        n >>= 7
        if (n == 0 and not x & 0x40) or (n == -1 and x & 0x40):
            out.append(x)
            return bytes(out)
        out.append(x | 0x80)


# ---------------------------------------------------------------------------
# Types, heap types, block types
# ---------------------------------------------------------------------------

_HT_PREFIXES = (0x62, 0x65)  # exact (custom descriptors), shared (shared-everything)


def skip_heaptype(b: bytes, p: int) -> int:
    """The offset after the heap type at ``p`` (an s33, possibly prefixed)."""
    if b[p] in _HT_PREFIXES:
        p += 1
        if b[p] in _HT_PREFIXES:
            p += 1
    return skip_leb(b, p, 5)


def skip_valtype(b: bytes, p: int) -> int:
    """The offset after the value type at ``p``: one byte, or a reference type
    (0x63/0x64) followed by its heap type."""
    x = b[p]
    if x == 0x63 or x == 0x64:
        return skip_heaptype(b, p + 1)
    if 0x40 <= x < 0x80:
        return p + 1
    raise TranslationError(f"bad value type 0x{x:02x} at offset {p}")


def skip_blocktype(b: bytes, p: int) -> int:
    """The offset after the block type at ``p``: empty (0x40), a value type, or a type
    index (s33)."""
    x = b[p]
    if x == 0x63 or x == 0x64:
        return skip_heaptype(b, p + 1)
    if 0x40 <= x < 0x80:
        return p + 1
    return skip_leb(b, p, 5)


# ---------------------------------------------------------------------------
# Sections and function bodies
# ---------------------------------------------------------------------------


def sections(binary: bytes) -> list[tuple[int, int, int, int]]:
    """(id, header start, payload start, payload end) for every section, in order.

    Custom sections (id 0) may repeat; any other id appearing twice is an error.
    """
    if len(binary) < 8 or binary[:4] != b"\0asm":
        raise TranslationError("not a WebAssembly binary (bad magic)")
    if binary[4:8] != b"\x01\0\0\0":
        raise TranslationError("unsupported WebAssembly binary version (not a core module)")
    out = []
    seen: set[int] = set()
    p = 8
    n = len(binary)
    while p < n:
        sid = binary[p]
        size, q = u32(binary, p + 1)
        if q + size > n:
            raise TranslationError(f"section {sid} at offset {p} is truncated")
        if sid in seen:
            raise TranslationError(f"duplicate section {sid} at offset {p}")
        if sid:
            seen.add(sid)
        out.append((sid, p, q, q + size))
        p = q + size
    return out


def skip_locals(body: bytes) -> tuple[int, int, int]:
    """(number of local entries, end of that count, start of the code) of a body."""
    n, p = u32(body, 0)
    start = p
    for _ in range(n):
        p = skip_leb(body, p, 5)
        p = skip_valtype(body, p)
    return n, start, p
