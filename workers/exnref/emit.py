"""Pass 2: emit the body with every legacy instruction replaced by standard exnref.

Runs between pass 1's events (:mod:`workers.exnref.control`) are copied as they
are; each event is re-emitted. Since the rewriting adds blocks, every label depth
changes: a stack maps each label of the original body to the output label a
branch to it must now target, and every branch, br_table, br_on_* and try_table
clause is re-encoded from it. ``depth`` counts the labels open in the output.

For ``try bt ... catch $t1 H1 ... catch_all Hn end`` (block type ``[P] -> [R]``,
tag payload types ``T1...``) the output is::

    block bt                                ;; $outer: the try's label for handlers
      block [P] -> []                       ;; $cn (catch_all)
        ...
          block [P] -> [T1]  (+ exnref)     ;; $c1
            try_table bt (catch $t1 $c1) ... (catch_all $cn)
              body                          ;; the try's label for the body
            end
            br $outer
          end
          [local.set $exn]                  ;; only for catch_ref
          H1                                ;; T1 is on the stack, as before
          br $outer
        end
        ...
      end
      Hn
    end

One block per clause, the first clause innermost; a clause whose handler rethrows
the try uses ``catch_ref``/``catch_all_ref`` and stores the exnref. A branch to the
try's label goes to the try_table from the body, to ``$outer`` from a handler.
The try's parameters are passed through every added block.

A catch-less ``try`` becomes a plain ``try_table bt``. A ``try ... delegate L``
becomes ``try_table bt (catch_all_ref $trampoline)``, where the trampoline
belongs to the target try: inside its try_table,
``block [P] -> [exnref] body br <try_table> end throw_ref``, so a delegated
exception is re-thrown right inside the target, where its handlers see it.
Delegating to the caller wraps the whole function body the same way
(``block (result exnref) body return end throw_ref``).

``rethrow L`` becomes ``local.get $exn throw_ref``. The ``exnref`` locals are
added after the existing ones (so local indices and the name section stay
valid), one per nesting level of rethrown trys, as binaryen does: nested handlers
never share a local.

Unreachable code stays valid: every added ``br``/``end`` is valid after a
stack-polymorphic instruction, and the block types of the original labels do not
change. The output grows by a bounded number of bytes per legacy instruction.
"""

from __future__ import annotations

from collections.abc import Callable

from .binary import TranslationError, leb, skip_locals, skip_valtype, u32
from .control import (
    EV_BLOCK,
    EV_BR,
    EV_BRTABLE,
    EV_CATCH,
    EV_DELEGATE,
    EV_END,
    EV_RETHROW,
    EV_TRY,
    Try,
    scan,
)
from .module_types import ModuleTypes


def rewrite_body(body: bytes, mod: ModuleTypes, nparams: int) -> bytes:
    """Return the translated body (without its size prefix)."""
    nlocal_entries, count_end, code_start = skip_locals(body)
    events, trys, func_target = scan(body, code_start, len(mod.tag_types))

    # Exnref locals, after the existing ones: one per nesting level of
    # rethrow-targeted trys.
    nlocals = nparams
    p = count_end
    for _ in range(nlocal_entries):
        c, p = u32(body, p)
        nlocals += c
        p = skip_valtype(body, p)
    n_exn = 0
    for t in trys:
        par = t.parent
        if par is not None:
            t.rdepth = par.rdepth + (1 if par.rethrown else 0)
        if t.rethrown:
            t.exn_local = nlocals + t.rdepth
            n_exn = max(n_exn, t.rdepth + 1)
    if nlocals + n_exn > 0xFFFFFFFF:
        raise TranslationError("too many locals")

    out: list[bytes] = []
    emit = out.append
    if n_exn:
        emit(leb(nlocal_entries + 1))
        emit(body[count_end:code_start])
        emit(leb(n_exn) + b"\x69")
    else:
        emit(body[:code_start])

    # ``depth`` output labels are open (the function's is number 0);
    # ``labels[-1 - d]`` is the output label a branch to original depth d
    # now targets.
    depth = 1
    labels: list[int] = [0]
    if func_target:
        emit(b"\x02\x69")  # block (result exnref): the caller trampoline
        depth = 2
    prev = code_start

    for start, stop, kind, tr, data in events:
        if start > prev:
            emit(body[prev:start])
        prev = stop
        if kind == EV_BR:
            pre, d, post = data
            emit(pre + leb(depth - 1 - labels[-1 - d]) + post)
        elif kind == EV_BLOCK:
            emit(body[start:stop])
            labels.append(depth)
            depth += 1
        elif kind == EV_END:
            labels.pop()
            if tr is None:
                if not labels:  # end of the function
                    if func_target:
                        emit(b"\x0f\x0b\x0a")  # return; end (trampoline); throw_ref
                    emit(b"\x0b")
                    break
                emit(b"\x0b")
                depth -= 1
            elif tr.cur == 0:  # catch-less try
                depth = _close_do(tr, emit, depth)
            else:
                emit(b"\x0b")  # end $outer
                depth -= 1
        elif kind == EV_BRTABLE:
            emit(b"\x0e" + leb(len(data) - 1))
            emit(b"".join([leb(depth - 1 - labels[-1 - d]) for d in data]))
        elif kind == EV_TRY:
            assert tr is not None
            depth = _open_try(tr, mod, emit, depth)
            labels.append(tr.tt_idx)
        elif kind == EV_CATCH:
            assert tr is not None
            if tr.cur == 0:
                depth = _close_do(tr, emit, depth)
            emit(b"\x0c" + leb(depth - 1 - tr.outer_idx) + b"\x0b")  # br $outer; end
            depth -= 1
            if tr.refs[tr.cur]:
                emit(b"\x21" + leb(tr.exn_local))  # local.set $exn (catch_ref)
            tr.cur += 1
            labels[-1] = tr.outer_idx
        elif kind == EV_RETHROW:
            assert tr is not None
            emit(b"\x20" + leb(tr.exn_local) + b"\x0a")  # local.get $exn; throw_ref
        elif kind == EV_DELEGATE:
            assert tr is not None
            depth = _close_do(tr, emit, depth)
            labels.pop()
        else:  # EV_TRYTABLE
            bt, tclauses = data
            parts = [b"\x1f", bt, leb(len(tclauses))]
            for head, d in tclauses:
                parts.append(head + leb(depth - 1 - labels[-1 - d]))
            emit(b"".join(parts))
            labels.append(depth)
            depth += 1
    return b"".join(out)


def _open_try(t: Try, mod: ModuleTypes, emit: Callable[[bytes], None], depth: int) -> int:
    """Emit what replaces ``try bt``; return the new number of open labels."""
    params, _ = mod.blocktype(t.bt)
    tags = t.tags
    n = len(tags)
    if n:
        emit(b"\x02" + t.bt)  # block $outer
        t.outer_idx = depth
        depth += 1
        idxs = [0] * n
        for i in range(n - 1, -1, -1):  # one block per clause, first clause innermost
            tag = tags[i]
            res = mod.tag_params(tag) if tag is not None else ()
            if t.refs[i]:
                res = (*res, b"\x69")
            emit(b"\x02" + mod.encode_blocktype(params, res))
            idxs[i] = depth
            depth += 1
        parts = [b"\x1f", t.bt, leb(n)]
        for i in range(n):
            tag = tags[i]
            ref = t.refs[i]
            if tag is None:
                parts.append(b"\x03" if ref else b"\x02")
            else:
                parts.append((b"\x01" if ref else b"\x00") + leb(tag))
            parts.append(leb(depth - 1 - idxs[i]))
        emit(b"".join(parts))
    elif t.delegates:
        target = t.delegate_to
        tramp = 1 if target is None else target.tramp_idx
        emit(b"\x1f" + t.bt + b"\x01\x03" + leb(depth - 1 - tramp))  # catch_all_ref
    else:
        emit(b"\x1f" + t.bt + b"\x00")
    t.tt_idx = depth
    depth += 1
    if t.is_target:  # trampoline for delegates that target this try
        emit(b"\x02" + mod.encode_blocktype(params, (b"\x69",)))
        t.tramp_idx = depth
        depth += 1
    return depth


def _close_do(t: Try, emit: Callable[[bytes], None], depth: int) -> int:
    """Emit the end of a try's do part (the try_table); return open labels."""
    if t.is_target:
        emit(b"\x0c\x01\x0b\x0a")  # br <try_table>; end (trampoline); throw_ref
        depth -= 1
    emit(b"\x0b")  # end (try_table)
    return depth - 1
