"""Finding legacy exception handling fast: regular expressions over the instruction stream.

A Python loop over every instruction of a multi-megabyte code section would
dominate the cost of loading a module, and nearly every body uses no legacy
opcode at all. So the instruction encodings are also compiled into regular
expressions: an alternation of every encoding, grouped by immediate kind (no
immediate, one LEB128, a memarg with its optional memory index and u64 offset, the
prefixed 0xFB/0xFC/0xFD/0xFE sub-opcodes, ...), repeated possessively (``*+``) so a
whole run of instructions is stepped over inside the C regex engine without
backtracking. Two such runs exist:

* ``NOLEGACY_RUN`` skips everything but the legacy opcodes (``try``, ``catch``,
  ``catch_all``, ``rethrow``, ``delegate``): :func:`body_has_legacy` answers
  "does this body need rewriting?" with it.
* ``SIMPLE_RUN`` also stops at every control instruction (block/loop/if/else/end,
  branches, ``try_table``): pass 1 (:mod:`workers.exnref.control`) uses it to jump
  from one structural instruction to the next.

Where a run stops at something it does not match (a ``br_table`` or ``select t``
vector, a non-canonical LEB128 too long for the pattern, a prefixed heap type, an
unknown opcode), the table-driven :func:`~workers.exnref.decoder.skip_instr` decodes
that one instruction (or rejects it) and the run resumes. The patterns are built
from the decoder's tables, and the tests check that both agree on the length of
random instructions (``ONE_SIMPLE``/``ONE_NOLEGACY`` match a single one).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .binary import TranslationError, sections, skip_locals, u32
from .decoder import FB, FC, FD, FE, K_2U32, K_HEAPTYPE, K_MEMARG, K_NONE, K_U32, skip_instr

# ---------------------------------------------------------------------------
# Regular expressions over instruction encodings
# ---------------------------------------------------------------------------


def _cls(ops: Sequence[int]) -> bytes:
    """A character class matching any of these byte values."""
    return b"[" + b"".join(b"\\x%02x" % o for o in sorted(set(ops))) + b"]"


_L32 = rb"[\x80-\xff]{0,4}[\x00-\x7f]"
_L64 = rb"[\x80-\xff]{0,9}[\x00-\x7f]"
# Heap type: a one-byte s33, or a multi-byte one; prefixed forms go to Python.
_HT = rb"(?:[\x00-\x61\x63\x64\x66-\x7f]|[\x80-\xff]{1,4}[\x00-\x7f])"
_VALTYPE = rb"(?:[\x63\x64]" + _HT + rb"|[\x40-\x62\x65-\x7f])"
_BLOCKTYPE = rb"(?:[\x63\x64]" + _HT + rb"|[\x00-\x62\x65-\x7f]|[\x80-\xff]{1,4}[\x00-\x7f])"
_MEMARG = rb"(?:[\x00-\x3f]|[\x40-\x7f]" + _L32 + rb")" + _L64


def _fd_alternatives() -> bytes:
    one_none = [i for i in range(0x80) if FD.get(i) == K_NONE]
    two_none = [i for i in range(0x80, 0x100) if FD.get(i) == K_NONE]
    return (
        rb"\xfd(?:"
        + _cls(one_none)
        + b"|"
        + _cls([i for i in range(0x80) if FD.get(i) == K_MEMARG])
        + _MEMARG
        + b"|"
        + _cls(range(0x15, 0x23))
        + b"."
        + b"|[\\x0c\\x0d].{16}|"
        + _cls(range(0x54, 0x5C))
        + _MEMARG
        + b".|"
        + _cls(two_none)
        + rb"\x01|[\x80-\x93]\x02)"
    )


_SIMPLE_NOIMM = [0x00, 0x01, 0x0A, 0x0F, 0x1A, 0x1B, 0xD1, 0xD3, 0xD4, *range(0x45, 0xC5)]
_SIMPLE_U32 = [0x08, 0x10, 0x12, 0x14, 0x15, *range(0x20, 0x27), 0x3F, 0x40, 0x41, 0xD2]

_SIMPLE_ALTS = [
    _cls(_SIMPLE_NOIMM),
    _cls(_SIMPLE_U32) + _L32,
    _cls(range(0x28, 0x3F)) + _MEMARG,
    rb"\x42" + _L64,
    rb"[\x11\x13]" + _L32 + _L32,
    rb"\x43.{4}",
    rb"\x44.{8}",
    rb"\xd0" + _HT,
    rb"\x1c\x01" + _VALTYPE,
    rb"\xfc(?:"
    + _cls([i for i, k in FC.items() if k == K_NONE])
    + b"|"
    + _cls([i for i, k in FC.items() if k == K_U32])
    + _L32
    + b"|"
    + _cls([i for i, k in FC.items() if k == K_2U32])
    + _L32
    + _L32
    + b")",
    _fd_alternatives(),
    rb"\xfe(?:" + _cls([i for i, k in FE.items() if k == K_MEMARG]) + _MEMARG + rb"|\x03.)",
    rb"\xfb(?:"
    + _cls([i for i, k in FB.items() if k == K_NONE])
    + b"|"
    + _cls([i for i, k in FB.items() if k == K_U32])
    + _L32
    + b"|"
    + _cls([i for i, k in FB.items() if k == K_HEAPTYPE])
    + _HT
    + b"|"
    + _cls([i for i, k in FB.items() if k == K_2U32])
    + _L32
    + _L32
    + b")",
]
# Structured control that is not legacy EH (only for the "any legacy op?" scan).
_CONTROL_ALTS = [
    rb"[\x05\x0b]",
    rb"[\x02\x03\x04]" + _BLOCKTYPE,
    rb"[\x0c\x0d\xd5\xd6]" + _L32,
]

_RE_FLAGS = re.DOTALL
# A run of instructions that are neither control flow nor legacy EH.
SIMPLE_RUN = re.compile(b"(?:" + b"|".join(_SIMPLE_ALTS) + b")*+", _RE_FLAGS).match
# A run of instructions that contains no legacy EH opcode.
NOLEGACY_RUN = re.compile(
    b"(?:" + b"|".join(_SIMPLE_ALTS[:2] + _CONTROL_ALTS + _SIMPLE_ALTS[2:]) + b")*+", _RE_FLAGS
).match
# One instruction (for tests of the regex against the Python decoder).
ONE_SIMPLE = re.compile(b"(?:" + b"|".join(_SIMPLE_ALTS) + b")", _RE_FLAGS).match
ONE_NOLEGACY = re.compile(b"(?:" + b"|".join(_SIMPLE_ALTS + _CONTROL_ALTS) + b")", _RE_FLAGS).match

LEGACY_OPS = frozenset((0x06, 0x07, 0x09, 0x18, 0x19))


# ---------------------------------------------------------------------------
# Which bodies use legacy opcodes
# ---------------------------------------------------------------------------


def body_has_legacy(body: bytes) -> bool:
    """Whether a function body (locals included) contains a legacy EH instruction.

    Decodes the body up to the first one; raises for malformed or unknown code there.
    """
    _, _, p = skip_locals(body)
    end = len(body)
    run = NOLEGACY_RUN
    while True:
        p = run(body, p).end()  # type: ignore[union-attr]
        if p >= end:
            return False
        if body[p] in LEGACY_OPS:
            return True
        p = skip_instr(body, p)


class CodeScan:
    """Sections of a module and the indices of bodies with legacy opcodes.

    ``sections`` as :func:`~workers.exnref.binary.sections` gives them; ``code_pos``
    is the code section's position in that list (-1 without one); ``payload`` the
    code section's payload, ``count_end`` the offset after its body count, ``bodies``
    the (start, end) of every body in ``payload`` (size prefix excluded), ``found``
    the indices of bodies with legacy opcodes, in order. With ``stop_at_first`` the
    scan stops at the first such body, leaving the bodies after it unread.
    """

    def __init__(self, data: bytes, stop_at_first: bool) -> None:
        self.sections = sections(data)
        self.code_pos = -1
        self.count_end = 0
        self.bodies: list[tuple[int, int]] = []
        self.found: list[int] = []
        code = [i for i, s in enumerate(self.sections) if s[0] == 10]
        if not code:
            return
        if len(code) > 1:
            raise TranslationError("more than one code section")
        self.code_pos = code[0]
        _, _, cstart, cend = self.sections[code[0]]
        self.payload = payload = data[cstart:cend]
        try:
            n, p = u32(payload, 0)
            self.count_end = p
            for _ in range(n):
                size, p = u32(payload, p)
                if p + size > len(payload):
                    raise IndexError(p)
                self.bodies.append((p, p + size))
                p += size
        except IndexError:
            raise TranslationError("code section is truncated") from None
        if p != len(payload):
            raise TranslationError("code section has trailing bytes")
        for i, (s, e) in enumerate(self.bodies):
            try:
                legacy = body_has_legacy(payload[s:e])
            except IndexError:
                raise TranslationError(f"function body {i} is truncated") from None
            except TranslationError as err:
                raise TranslationError(f"function body {i}: {err}") from None
            if legacy:
                self.found.append(i)
                if stop_at_first:
                    return
