"""Pass 1: the control structure of a body with legacy exception handling.

The body is walked once. Runs of instructions that neither open, close nor
branch to a label are stepped over with ``SIMPLE_RUN``
(:mod:`workers.exnref.fastscan`); every other instruction becomes an *event*
(block/loop/if, end, try, catch, catch_all, delegate, rethrow, try_table, br,
br_if, br_table, br_on_null, br_on_non_null, br_on_cast, br_on_cast_fail), which is
all pass 2 (:mod:`workers.exnref.emit`) has to change. Everything between events
is copied unchanged.

A stack of control frames checks the structure as it goes: every branch,
rethrow, delegate and try_table label must name an enclosing frame, catch and
catch_all must follow a ``try`` (no catch after its catch_all), else an ``if``,
rethrow must name a try in one of its handlers, tags must exist, nothing may
follow the function's final ``end``. Nesting is handled with that explicit stack,
never by recursion, so deeply nested code cannot exhaust Python's stack.

For every ``try`` it records (in :class:`Try`) what its rewriting depends on:

* its clauses (tag, or ``None`` for catch_all), and for each whether its handler
  contains a ``rethrow`` of this try: that clause must then capture the exception
  (``catch_ref``/``catch_all_ref``) and store it in a local;
* whether some ``delegate`` targets it (it then needs a trampoline), and where its
  own ``delegate`` goes, if it ends with one.

A ``delegate`` target is resolved as binaryen's ``--translate-to-exnref`` does:
starting at the named label and going outward, the nearest ``try`` still in its
``do`` part; a block, loop, if or try_table label, or a ``try`` already in its
handlers, is passed over (its handlers do not cover the delegating code). Running
out of labels means the exception goes to the caller.
"""

from __future__ import annotations

from typing import Any

from .binary import TranslationError, skip_blocktype, skip_heaptype, skip_leb, u32
from .decoder import skip_instr
from .fastscan import SIMPLE_RUN


class Try:
    """One legacy ``try``: what pass 1 learns about it, and pass 2's label bookkeeping.

    Pass 2 fields: ``exn_local`` (the exnref local its rethrows read), ``cur`` (the
    clause being emitted), ``outer_idx``/``tt_idx``/``tramp_idx`` (output label
    numbers of its outer block, its try_table and its delegate trampoline).
    """

    __slots__ = (
        "bt",
        "cur",
        "delegate_to",
        "delegates",
        "exn_local",
        "is_target",
        "outer_idx",
        "parent",
        "rdepth",
        "refs",
        "rethrown",
        "state",
        "tags",
        "tramp_idx",
        "tt_idx",
    )

    def __init__(self, bt: bytes, parent: Try | None) -> None:
        self.bt = bt
        self.parent = parent
        self.tags: list[int | None] = []  # one per catch clause; None for catch_all
        self.refs: list[bool] = []  # clause body rethrows this try: needs the exnref
        self.state = 0  # 0: in do body, 1: in a catch, 2: in catch_all
        self.is_target = False  # some delegate targets this try
        self.delegates = False  # this try ends with delegate ...
        self.delegate_to: Try | None = None  # ... to this try (None: to the caller)
        self.rethrown = False  # some rethrow names this try
        self.rdepth = 0  # rethrown trys around it (pass 2: picks its exnref local)
        self.exn_local = 0
        self.cur = 0
        self.outer_idx = 0
        self.tt_idx = 0
        self.tramp_idx = 0


# Event kinds: the instruction at body[start:stop] is one of these.
EV_BLOCK, EV_END, EV_BR, EV_BRTABLE, EV_TRY, EV_CATCH = range(6)
EV_DELEGATE, EV_RETHROW, EV_TRYTABLE = range(6, 9)

_F_FUNC, _F_BLOCK, _F_IF = 0, 1, 2  # control frames that are not a legacy try

# (start, stop, kind, try, payload): body[start:stop] is the instruction; ``try`` is
# the legacy try it belongs to (try, catch, delegate, rethrow, end of a try); the
# payload is what pass 2 needs to re-encode label depths: EV_BR (bytes before the
# depth, depth, bytes after it), EV_BRTABLE (the depths), EV_TRYTABLE (block type,
# [(clause bytes before the label, depth)]).
Event = tuple[int, int, int, "Try | None", Any]


def scan(body: bytes, code_start: int, ntags: int) -> tuple[list[Event], list[Try], bool]:
    """Pass 1: collect structural events, validate nesting and label depths.

    Returns the events, every try in order of appearance, and whether some
    delegate sends exceptions to the caller.
    """
    events: list[Event] = []
    add = events.append
    trys: list[Try] = []
    frames: list[int | Try] = [_F_FUNC]
    try_stack: list[Try] = []
    func_target = False
    run = SIMPLE_RUN
    end = len(body)
    p = code_start
    while True:
        m = run(body, p)
        assert m is not None  # a possessive "*+" always matches
        p = m.end()
        op = body[p]
        if op == 0x0B:  # end
            f = frames.pop()
            if isinstance(f, Try):
                try_stack.pop()
                add((p, p + 1, EV_END, f, None))
            else:
                add((p, p + 1, EV_END, None, None))
            p += 1
            if not frames:
                if p != end:
                    raise TranslationError(f"bytes after the end of the function at offset {p}")
                return events, trys, func_target
        elif op == 0x0C or op == 0x0D or op == 0xD5 or op == 0xD6:  # br, br_if, br_on_(non_)null
            depth, q = u32(body, p + 1)
            if depth >= len(frames):
                raise TranslationError(f"branch depth {depth} out of range at offset {p}")
            add((p, q, EV_BR, None, (body[p : p + 1], depth, b"")))
            p = q
        elif 0x02 <= op <= 0x04:  # block, loop, if
            q = skip_blocktype(body, p + 1)
            add((p, q, EV_BLOCK, None, None))
            frames.append(_F_IF if op == 0x04 else _F_BLOCK)
            p = q
        elif op == 0x05:  # else: same label, copied as it is
            if frames[-1] != _F_IF:
                raise TranslationError(f"else without a matching if at offset {p}")
            frames[-1] = _F_BLOCK
            p += 1
        elif op == 0x06:  # try
            q = skip_blocktype(body, p + 1)
            t = Try(body[p + 1 : q], try_stack[-1] if try_stack else None)
            trys.append(t)
            try_stack.append(t)
            frames.append(t)
            add((p, q, EV_TRY, t, None))
            p = q
        elif op == 0x07 or op == 0x19:  # catch, catch_all
            f = frames[-1]
            if not isinstance(f, Try) or f.state == 2:
                name = "catch" if op == 0x07 else "catch_all"
                raise TranslationError(f"{name} without a matching try at offset {p}")
            if op == 0x07:
                tag, q = u32(body, p + 1)
                if tag >= ntags:
                    raise TranslationError(f"catch: unknown tag {tag} at offset {p}")
                f.tags.append(tag)
                f.state = 1
            else:
                q = p + 1
                f.tags.append(None)
                f.state = 2
            f.refs.append(False)
            add((p, q, EV_CATCH, f, None))
            p = q
        elif op == 0x09:  # rethrow
            depth, q = u32(body, p + 1)
            idx = len(frames) - 1 - depth
            f = frames[idx] if idx >= 1 else _F_FUNC
            if not isinstance(f, Try) or f.state == 0:
                raise TranslationError(f"rethrow depth {depth} is not a catch at offset {p}")
            f.rethrown = True
            f.refs[-1] = True
            add((p, q, EV_RETHROW, f, None))
            p = q
        elif op == 0x18:  # delegate
            depth, q = u32(body, p + 1)
            f = frames[-1]
            if not isinstance(f, Try) or f.state != 0:
                raise TranslationError(f"delegate without a matching try at offset {p}")
            idx = len(frames) - 2 - depth
            if idx < 0:
                raise TranslationError(f"delegate depth {depth} out of range at offset {p}")
            # Like binaryen: the nearest try (at or outside the label) that is
            # still in its do part, else the caller.
            target: Try | None = None
            while idx > 0:
                g = frames[idx]
                if isinstance(g, Try) and g.state == 0:
                    target = g
                    break
                idx -= 1
            if target is None:
                func_target = True
            else:
                target.is_target = True
            f.delegates = True
            f.delegate_to = target
            frames.pop()
            try_stack.pop()
            add((p, q, EV_DELEGATE, f, None))
            p = q
        elif op == 0x0E:  # br_table
            n, q = u32(body, p + 1)
            depths = []
            for _ in range(n + 1):
                depth, q = u32(body, q)
                if depth >= len(frames):
                    raise TranslationError(f"br_table depth {depth} out of range at offset {p}")
                depths.append(depth)
            add((p, q, EV_BRTABLE, None, depths))
            p = q
        elif op == 0x1F:  # try_table (already standard; its labels may move)
            bt_end = skip_blocktype(body, p + 1)
            n, q = u32(body, bt_end)
            clauses = []
            for _ in range(n):
                k = body[q]
                if k > 3:
                    raise TranslationError(f"bad try_table catch kind {k} at offset {q}")
                lab = skip_leb(body, q + 1, 5) if k < 2 else q + 1
                depth, r = u32(body, lab)
                if depth >= len(frames):
                    raise TranslationError(f"try_table label {depth} out of range at offset {p}")
                clauses.append((body[q:lab], depth))
                q = r
            add((p, q, EV_TRYTABLE, None, (body[p + 1 : bt_end], clauses)))
            frames.append(_F_BLOCK)
            p = q
        elif op == 0xFB:
            sub, lab = u32(body, p + 1)
            if sub == 0x18 or sub == 0x19:  # br_on_cast(_fail) flags label ht ht
                lab += 1
                depth, q = u32(body, lab)
                if depth >= len(frames):
                    raise TranslationError(f"br_on_cast depth {depth} out of range at offset {p}")
                r = skip_heaptype(body, skip_heaptype(body, q))
                add((p, r, EV_BR, None, (body[p:lab], depth, body[q:r])))
                p = r
            else:
                p = skip_instr(body, p)
        else:
            p = skip_instr(body, p)
