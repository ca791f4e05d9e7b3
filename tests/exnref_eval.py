"""A reference interpreter for the programs of :mod:`tests.exnref_fuzz`.

It runs the *legacy* instructions directly, with the semantics of the legacy
exception-handling proposal, so the fuzz can tell what a translated module
should do without binaryen (or any other translator) as the oracle:

* ``try ... catch $t H ... catch_all H' end``: an exception escaping the body is
  handled by the first matching clause, whose handler starts from the try's
  operand height with the payload pushed; the handlers themselves are not covered
  by the try. A branch to the try's label leaves the try.
* ``rethrow k``: label ``k`` must be a try in one of its handlers; its exception
  (the same one, not a copy) is thrown again.
* ``try ... delegate k``: an exception escaping the body is thrown again *at*
  label ``k`` (counted from outside the try; the function's label means "to the
  caller"): if that label is a try still in its body, its clauses see it;
  otherwise it leaves that label's construct like any exception thrown there, so
  the next try outward whose body contains it handles it.

It understands only the flat subset of WAT the generator writes (one i32 result
per function, ``$x``/``$acc`` locals, the ``$fuel`` global, ``env.log``), and
checks operand heights as it goes, so a generator change it does not follow fails
loudly instead of computing nonsense.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .exnref_fuzz import FUEL, Program

#: the payload arity of each tag
TAG_ARITY = {"$e0": 0, "$e1": 1, "$e2": 2}
#: operands an instruction pops and pushes (block structure aside)
_EFFECTS = {
    "i32.add": (2, 1),
    "i32.sub": (2, 1),
    "i32.and": (2, 1),
    "i32.xor": (2, 1),
    "i32.gt_s": (2, 1),
    "i32.rem_u": (2, 1),
    "i32.eqz": (1, 1),
    "i32.wrap_i64": (1, 1),
    "drop": (1, 0),
}


def _i32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


@dataclass
class Node:
    """An instruction; structured ones carry their bodies."""

    op: str
    imm: list[str] = field(default_factory=list)
    arity: int = 0  # results of a block/loop/if/try (loops: 0, never typed here)
    params: int = 0  # parameters of a try (type $p1)
    body: list[Node] = field(default_factory=list)
    orelse: list[Node] = field(default_factory=list)
    catches: list[tuple[str | None, list[Node]]] = field(default_factory=list)
    delegate: int | None = None


_ONE_IMM = {"local.get", "local.set", "global.get", "global.set", "i32.const", "i64.const"}
_ONE_IMM |= {"call", "throw", "br", "br_if", "rethrow"}


def parse(text: str) -> list[Node]:
    """The instruction tree of a flat body."""
    toks = text.replace("(result i32)", " :result ").replace("(type $p1)", " :p1 ").split()
    pos = 0

    def seq(stops: tuple[str, ...]) -> tuple[list[Node], str]:
        nonlocal pos
        out: list[Node] = []
        while pos < len(toks):
            op = toks[pos]
            pos += 1
            if op in stops:
                return out, op
            node = Node(op)
            if op in _ONE_IMM:
                node.imm = [toks[pos]]
                pos += 1
            elif op == "br_table":
                while pos < len(toks) and toks[pos].isdigit():
                    node.imm.append(toks[pos])
                    pos += 1
            elif op in ("block", "loop", "if", "try"):
                if pos < len(toks) and toks[pos] in (":result", ":p1"):
                    node.arity = 1
                    node.params = 1 if toks[pos] == ":p1" else 0
                    pos += 1
                structured(node)
            out.append(node)
        if stops:
            raise AssertionError(f"unterminated body: expected one of {stops}")
        return out, ""

    def structured(node: Node) -> None:
        nonlocal pos
        if node.op == "if":
            node.body, stop = seq(("else", "end"))
            if stop == "else":
                node.orelse, stop = seq(("end",))
        elif node.op == "try":
            node.body, stop = seq(("catch", "catch_all", "end", "delegate"))
            while stop in ("catch", "catch_all"):
                tag = None
                if stop == "catch":
                    tag = toks[pos]
                    pos += 1
                handler, stop = seq(("catch", "catch_all", "end"))
                node.catches.append((tag, handler))
            if stop == "delegate":
                node.delegate = int(toks[pos])
                pos += 1
        else:
            node.body, _ = seq(("end",))

    body, _ = seq(())
    return body


class _Exn:
    """One thrown exception (identity matters: rethrow throws the same one)."""

    def __init__(self, tag: str, payload: list[int]) -> None:
        self.tag = tag
        self.payload = payload


class Thrown(Exception):
    def __init__(self, exn: _Exn) -> None:
        self.exn = exn


class _Delegated(Exception):
    """An exception on its way to the label (absolute index) a delegate named."""

    def __init__(self, exn: _Exn, target: int) -> None:
        self.exn = exn
        self.target = target


class _Branch(Exception):
    def __init__(self, depth: int) -> None:
        self.depth = depth


class _Return(Exception):
    pass


@dataclass
class _Label:
    kind: str
    caught: _Exn | None = None  # a try in a handler: its exception


class Machine:
    """Runs a program's driver; ``trace`` collects the values passed to env.log."""

    def __init__(self, program: Program) -> None:
        self.program = program
        self.funcs = {
            program.function_name(i): parse(body) for i, body in enumerate(program.bodies)
        }
        self.driver = parse(program.driver)
        self.fuel = 0
        self.trace: list[int] = []

    def run(self, x: int) -> tuple[tuple[int, ...], str, tuple[int, ...]]:
        """(log trace, outcome, results) of ``run<N>(x)``, as the tests record a call."""
        self.trace = []
        self.fuel = FUEL
        try:
            result = self.call(self.driver, x)
        except Thrown:
            return tuple(self.trace), "uncaught exception", ()
        return tuple(self.trace), "ok", (result,)

    def call(self, body: list[Node], x: int) -> int:
        stack: list[int] = []
        labels = [_Label("func")]
        local = {"$x": x, "$acc": 0}
        try:
            self.seq(body, stack, labels, local)
        except _Return:
            pass
        except _Branch as b:
            if b.depth:
                raise AssertionError(f"branch past the function: {b.depth}") from None
        except _Delegated as d:
            if d.target:
                raise AssertionError(f"delegate past the function: {d.target}") from None
            raise Thrown(d.exn) from None
        return stack[-1]

    def seq(
        self, body: list[Node], stack: list[int], labels: list[_Label], local: dict[str, int]
    ) -> None:
        for node in body:
            self.step(node, stack, labels, local)

    def step(
        self, node: Node, stack: list[int], labels: list[_Label], local: dict[str, int]
    ) -> None:
        op, imm = node.op, node.imm
        if op in _EFFECTS:
            npop, _ = _EFFECTS[op]
            args = [stack.pop() for _ in range(npop)][::-1]
            if op != "drop":
                stack.append(_binary(op, args))
        elif op == "local.get":
            stack.append(local[imm[0]])
        elif op == "local.set":
            local[imm[0]] = stack.pop()
        elif op == "global.get":
            stack.append(self.fuel)
        elif op == "global.set":
            self.fuel = stack.pop()
        elif op in ("i32.const", "i64.const"):
            stack.append(int(imm[0]))
        elif op == "call":
            arg = stack.pop()
            if imm[0] == "$log":
                self.trace.append(arg)
            else:
                stack.append(self.call(self.funcs[imm[0]], arg))
        elif op == "throw":
            n = TAG_ARITY[imm[0]]
            payload = stack[len(stack) - n :]
            del stack[len(stack) - n :]
            raise Thrown(_Exn(imm[0], payload))
        elif op == "br":
            raise _Branch(int(imm[0]))
        elif op == "br_if":
            if stack.pop():
                raise _Branch(int(imm[0]))
        elif op == "br_table":
            i = stack.pop() & 0xFFFFFFFF
            raise _Branch(int(imm[min(i, len(imm) - 1)]))
        elif op == "return":
            raise _Return
        elif op == "rethrow":
            exn = labels[-1 - int(imm[0])].caught
            assert exn is not None, "rethrow of a label that is not a try in a handler"
            raise Thrown(exn)
        elif op in ("block", "loop", "if"):
            self.block(node, stack, labels, local)
        elif op == "try":
            self.try_(node, stack, labels, local)
        else:
            raise AssertionError(f"the interpreter does not know {op}")

    def block(
        self, node: Node, stack: list[int], labels: list[_Label], local: dict[str, int]
    ) -> None:
        body = node.body
        if node.op == "if" and not stack.pop():
            body = node.orelse
        height = len(stack)
        labels.append(_Label(node.op))
        me = len(labels) - 1
        try:
            while True:
                try:
                    self.seq(body, stack, labels, local)
                except _Branch as b:
                    if b.depth:
                        raise _Branch(b.depth - 1) from None
                    if node.op == "loop":
                        del stack[height:]
                        continue
                    _keep(stack, height, node.arity)
                except _Delegated as d:
                    if d.target != me:
                        raise
                    # thrown where the label is: this construct does not catch
                    raise Thrown(d.exn) from None
                break
        finally:
            labels.pop()
        assert len(stack) == height + node.arity, (node.op, stack, height)

    def try_(
        self, node: Node, stack: list[int], labels: list[_Label], local: dict[str, int]
    ) -> None:
        height = len(stack) - node.params
        label = _Label("try")
        labels.append(label)
        me = len(labels) - 1
        try:
            try:
                self.seq(node.body, stack, labels, local)
                return
            except _Branch as b:
                if b.depth:
                    raise _Branch(b.depth - 1) from None
                _keep(stack, height, node.arity)
                return
            except Thrown as t:
                exn = t.exn
            except _Delegated as d:
                if d.target != me:
                    raise
                exn = d.exn
            if node.delegate is not None:
                raise _Delegated(exn, me - 1 - node.delegate) from None
            clause = next((c for c in node.catches if c[0] in (None, exn.tag)), None)
            if clause is None:
                raise Thrown(exn) from None
            tag, handler = clause
            del stack[height:]
            if tag is not None:  # catch_all gets no payload
                stack.extend(exn.payload)
            label.caught = exn
            try:
                self.seq(handler, stack, labels, local)
            except _Branch as b:
                if b.depth:
                    raise _Branch(b.depth - 1) from None
                _keep(stack, height, node.arity)
            except _Delegated as d:
                if d.target != me:
                    raise
                # a delegate from a handler naming its own try: the handler is not
                # covered by the try, so the exception leaves it
                raise Thrown(d.exn) from None
        finally:
            labels.pop()
            assert len(stack) >= height


def _keep(stack: list[int], height: int, arity: int) -> None:
    """A branch to a label: its results (the top ``arity`` operands) at its height."""
    vals = stack[len(stack) - arity :] if arity else []
    del stack[height:]
    stack.extend(vals)


def _binary(op: str, args: list[int]) -> int:
    if op == "i32.eqz":
        return int(args[0] == 0)
    if op == "i32.wrap_i64":
        return _i32(args[0])
    a, b = args
    if op == "i32.add":
        return _i32(a + b)
    if op == "i32.sub":
        return _i32(a - b)
    if op == "i32.and":
        return _i32(a & b)
    if op == "i32.xor":
        return _i32(a ^ b)
    if op == "i32.gt_s":
        return int(a > b)
    assert op == "i32.rem_u"
    return _i32((a & 0xFFFFFFFF) % (b & 0xFFFFFFFF))
