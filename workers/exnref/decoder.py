"""The reference instruction decoder: how long is the instruction at an offset.

The translator never needs the meaning of most instructions, only where each one
ends, so that it can step over it and find the next structural one. The decoder is
table driven: every opcode (and every sub-opcode of the 0xFB GC, 0xFC
misc/bulk-memory, 0xFD SIMD and 0xFE atomics prefixes) maps to the kind of immediate
that follows it, and :func:`skip_instr` skips that immediate. An opcode missing from
the tables is rejected as unknown, so a proposal the decoder does not cover fails
loudly instead of being mis-stepped.

This is the slow, authoritative path. :mod:`workers.exnref.fastscan` derives its
regular expressions from the same tables and falls back here for every instruction
they do not match; the tests check the two agree on random instructions.
"""

from __future__ import annotations

from .binary import TranslationError, skip_blocktype, skip_heaptype, skip_leb, skip_valtype, u32

# Immediate kinds: what follows an opcode (or a prefix's sub-opcode).
(
    K_NONE,
    K_U32,
    K_U64,
    K_2U32,
    K_MEMARG,
    K_F32,
    K_F64,
    K_BT,
    K_BRTABLE,
    K_SELECTT,
    K_HEAPTYPE,
    K_TRYTABLE,
    K_MEMARG_LANE,
    K_LANE,
    K_V128,
    K_BRCAST,
    K_BYTE,
    K_PREFIX,
) = range(18)

UNKNOWN = -1  # not an opcode this decoder knows

# One-byte opcodes, indexed by opcode. The legacy ones are here too (try 0x06 has a
# block type, catch 0x07 / rethrow 0x09 / delegate 0x18 a u32, catch_all 0x19 none).
OPS: list[int] = [UNKNOWN] * 256
for _op in (0x00, 0x01, 0x05, 0x0A, 0x0B, 0x0F, 0x19, 0x1A, 0x1B, 0xD1, 0xD3, 0xD4):
    OPS[_op] = K_NONE
for _op in range(0x45, 0xC5):
    OPS[_op] = K_NONE
for _op in (0x02, 0x03, 0x04, 0x06):
    OPS[_op] = K_BT
for _op in (0x07, 0x08, 0x09, 0x0C, 0x0D, 0x10, 0x12, 0x14, 0x15, 0x18, 0x3F, 0x40, 0x41):
    OPS[_op] = K_U32
for _op in (0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0xD2, 0xD5, 0xD6):
    OPS[_op] = K_U32
for _op in range(0x28, 0x3F):
    OPS[_op] = K_MEMARG
OPS[0x0E] = K_BRTABLE
OPS[0x11] = K_2U32
OPS[0x13] = K_2U32
OPS[0x1C] = K_SELECTT
OPS[0x1F] = K_TRYTABLE
OPS[0x42] = K_U64
OPS[0x43] = K_F32
OPS[0x44] = K_F64
OPS[0xD0] = K_HEAPTYPE
for _op in (0xFB, 0xFC, 0xFD, 0xFE):
    OPS[_op] = K_PREFIX

# 0xFC: saturating truncation, bulk memory / table ops, wide arithmetic.
FC: dict[int, int] = {i: K_NONE for i in (*range(8), 0x13, 0x14, 0x15, 0x16)}
FC.update({0x08: K_2U32, 0x09: K_U32, 0x0A: K_2U32, 0x0B: K_U32, 0x0C: K_2U32})
FC.update({0x0D: K_U32, 0x0E: K_2U32, 0x0F: K_U32, 0x10: K_U32, 0x11: K_U32})

# 0xFD: SIMD (final spec) and relaxed SIMD.
_SIMD_GAPS = frozenset((0x9A, 0xA2, 0xA5, 0xA6, 0xAF, 0xB0, 0xB2, 0xB3, 0xB4, 0xBB)).union(
    (0xC2, 0xC5, 0xC6, 0xCF, 0xD0, 0xD2, 0xD3, 0xD4, 0xE2, 0xEE)
)
FD: dict[int, int] = {i: K_NONE for i in range(0x0E, 0x100) if i not in _SIMD_GAPS}
FD.update({i: K_NONE for i in range(0x100, 0x114)})
FD.update({i: K_MEMARG for i in (*range(0x0C), 0x5C, 0x5D)})
FD.update({i: K_LANE for i in range(0x15, 0x23)})
FD.update({i: K_MEMARG_LANE for i in range(0x54, 0x5C)})
FD[0x0C] = K_V128
FD[0x0D] = K_V128

# 0xFE: threads / atomics.
FE: dict[int, int] = {i: K_MEMARG for i in (0, 1, 2, *range(0x10, 0x4F))}
FE[0x03] = K_BYTE

# 0xFB: GC (enough to skip immediates; br_on_cast* carry a label).
FB: dict[int, int] = {i: K_NONE for i in (0x0F, 0x1A, 0x1B, 0x1C, 0x1D, 0x1E)}
FB.update({i: K_U32 for i in (0x00, 0x01, 0x06, 0x07, 0x0B, 0x0C, 0x0D, 0x0E, 0x10)})
FB.update({i: K_2U32 for i in (0x02, 0x03, 0x04, 0x05, 0x08, 0x09, 0x0A, 0x11, 0x12, 0x13)})
FB.update({i: K_HEAPTYPE for i in (0x14, 0x15, 0x16, 0x17)})
FB.update({0x18: K_BRCAST, 0x19: K_BRCAST})

PREFIX_TABLES: dict[int, dict[int, int]] = {0xFB: FB, 0xFC: FC, 0xFD: FD, 0xFE: FE}


def _skip_memarg(b: bytes, p: int) -> int:
    """A memarg: alignment flags (bit 6: a memory index follows), then a u64 offset."""
    align, p = u32(b, p)
    if align & 0x40:
        p = skip_leb(b, p, 5)
    return skip_leb(b, p, 10)


def skip_instr(b: bytes, p: int) -> int:
    """Return the offset just past the instruction starting at ``p``."""
    op = b[p]
    kind = OPS[op]
    q = p + 1
    if kind == K_PREFIX:
        sub, q = u32(b, q)
        kind = PREFIX_TABLES[op].get(sub, UNKNOWN)
        if kind == UNKNOWN:
            raise TranslationError(f"unknown opcode 0x{op:02x} {sub} at offset {p}")
    if kind == K_NONE:
        return q
    if kind == K_U32:
        return skip_leb(b, q, 5)
    if kind == K_MEMARG:
        return _skip_memarg(b, q)
    if kind == K_2U32:
        return skip_leb(b, skip_leb(b, q, 5), 5)
    if kind == K_U64:
        return skip_leb(b, q, 10)
    if kind == K_BT:
        return skip_blocktype(b, q)
    if kind == K_F32:
        q += 4
    elif kind == K_F64:
        q += 8
    elif kind == K_V128:
        q += 16
    elif kind in (K_LANE, K_BYTE):
        q += 1
    elif kind == K_MEMARG_LANE:
        q = _skip_memarg(b, q) + 1
    elif kind == K_HEAPTYPE:
        return skip_heaptype(b, q)
    elif kind == K_BRTABLE:
        n, q = u32(b, q)
        for _ in range(n + 1):
            q = skip_leb(b, q, 5)
        return q
    elif kind == K_SELECTT:
        n, q = u32(b, q)
        for _ in range(n):
            q = skip_valtype(b, q)
        return q
    elif kind == K_BRCAST:
        q = skip_leb(b, q + 1, 5)
        return skip_heaptype(b, skip_heaptype(b, q))
    elif kind == K_TRYTABLE:
        q = skip_blocktype(b, q)
        n, q = u32(b, q)
        for _ in range(n):
            k = b[q]
            if k > 3:
                raise TranslationError(f"bad try_table catch kind {k} at offset {q}")
            q += 1
            if k < 2:
                q = skip_leb(b, q, 5)
            q = skip_leb(b, q, 5)
        return q
    else:
        raise TranslationError(f"unknown opcode 0x{op:02x} at offset {p}")
    if q > len(b):
        raise IndexError(q)
    return q
