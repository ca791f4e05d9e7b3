"""Translate legacy WebAssembly exception handling into standard exnref form.

Emscripten's ``-fwasm-exceptions`` (before 2024) emits the *legacy* (phase 3)
exception-handling instructions::

    try bt ... catch $tag ... catch_all ... end      (0x06, 0x07, 0x19, 0x0b)
    try bt ... delegate $label                       (0x06, 0x18)
    rethrow $label                                   (0x09)

Engines that implement the standardised proposal, wasmtime among them, only
accept ``try_table`` (0x1f) with ``catch``/``catch_ref``/``catch_all``/
``catch_all_ref`` clauses, ``throw_ref`` (0x0a) and the value type ``exnref``
(0x69); ``throw`` (0x08) is the same in both. :func:`translate` rewrites a
binary module from the former to the latter, with the semantics of binaryen's
``wasm-opt --translate-to-exnref``, but directly on the binary instruction
stream rather than on an expression tree, so operands stay on the stack and the
only locals added are ``exnref`` ones.

Public API
----------
``VERSION``
    Bumped whenever the output for some input changes (part of cache keys).
``uses_legacy_exceptions(binary)``
    True if some function body uses a legacy opcode.
``translate(binary)``
    ``binary`` itself if it uses no legacy opcode, else the rewritten module.
``TranslationError``
    A ``ValueError``: the input is malformed, or uses an instruction the decoder
    does not know in a body it must read. Nothing else escapes.

How
---
Only the code section changes, and the type section when new multi-value block
types are needed (function types are appended, so no type index moves). Every
other section, custom sections included, and every body without legacy opcodes
is copied byte for byte. The modules, bottom up:

* :mod:`~workers.exnref.binary`: LEB128, value/block types, sections.
* :mod:`~workers.exnref.decoder`: the table-driven instruction decoder.
* :mod:`~workers.exnref.fastscan`: regular expressions that skip runs of
  instructions, to find the bodies to rewrite and their structural instructions.
* :mod:`~workers.exnref.module_types`: the module's function and tag types, and
  the type section with new function types.
* :mod:`~workers.exnref.control`: pass 1, a body's control structure (events),
  validated, and what each ``try`` needs.
* :mod:`~workers.exnref.emit`: pass 2, the rewritten body.

The cost is linear in the input: every loop consumes input bytes, reads are
bounded by the current section or body, nothing is allocated from counts found
in the input, and the output grows by a bounded number of bytes per legacy
instruction. Code offsets inside rewritten functions change, so DWARF, source
maps and branch hints that point into those functions become stale (they are
copied unchanged).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from .binary import TranslationError, leb
from .emit import rewrite_body
from .fastscan import CodeScan
from .module_types import ModuleTypes, type_section

__all__ = ["VERSION", "TranslationError", "translate", "uses_legacy_exceptions"]

#: bumped whenever the output for some input changes: compiled-module caches key on it
VERSION = 1

_T = TypeVar("_T")


def _guard(fn: Callable[[], _T]) -> _T:
    """Run ``fn``; what malformed input makes the readers raise becomes a
    :class:`TranslationError` (a final guard: the readers convert most of it)."""
    try:
        return fn()
    except TranslationError:
        raise
    except (IndexError, KeyError, OverflowError, RecursionError, MemoryError) as err:
        raise TranslationError(f"malformed module ({type(err).__name__})") from None


def uses_legacy_exceptions(binary: bytes) -> bool:
    """True if some function body uses try/catch/catch_all/delegate/rethrow.

    Decodes the bodies (a byte search would not do: 0x06 and the other legacy
    opcodes are common immediates) up to the first that uses one, so the bodies
    after it are not checked. Raises :class:`TranslationError` if the module or a
    body it reads is malformed.
    """
    return _guard(lambda: bool(CodeScan(bytes(binary), True).found))


def translate(binary: bytes) -> bytes:
    """Rewrite legacy exception handling into exnref form.

    Returns ``binary`` itself (same object) when there is nothing to rewrite;
    raises :class:`TranslationError` on malformed input.
    """
    return _guard(lambda: _translate(binary))


def _translate(binary: bytes) -> bytes:
    """Rewrite the bodies with legacy opcodes, then reassemble the code section and
    (when new function types are needed) the type section around the others."""
    data = bytes(binary)
    scan = CodeScan(data, False)
    if not scan.found:
        return binary
    mod = ModuleTypes(data, scan.sections)
    bodies = scan.bodies
    if len(mod.func_types) != len(bodies):
        raise TranslationError("function and code section counts differ")
    payload = scan.payload
    pieces: list[bytes] = [payload[: scan.count_end]]
    last = scan.count_end
    for i in scan.found:
        s, e = bodies[i]
        nparams = len(mod.functype(mod.func_types[i], f"function {i}")[0])
        try:
            new = rewrite_body(payload[s:e], mod, nparams)
        except IndexError:
            raise TranslationError(f"function body {i} is truncated") from None
        except TranslationError as err:
            raise TranslationError(f"function body {i}: {err}") from None
        entry_start = bodies[i - 1][1] if i else scan.count_end  # where the size LEB starts
        pieces.append(payload[last:entry_start])
        pieces.append(leb(len(new)))
        pieces.append(new)
        last = e
    pieces.append(payload[last:])
    new_code = b"".join(pieces)

    out: list[bytes] = [data[:8]]
    need_types = bool(mod.new_types)
    for idx, (sid, hstart, pstart, pend) in enumerate(scan.sections):
        if need_types and sid != 0:
            if sid == 1:
                out.append(type_section(data[pstart:pend], mod))
                need_types = False
                continue
            out.append(type_section(b"", mod))  # no type section: insert one first
            need_types = False
        if idx == scan.code_pos:
            out.append(b"\x0a" + leb(len(new_code)) + new_code)
        else:
            out.append(data[hstart:pend])
    return b"".join(out)
