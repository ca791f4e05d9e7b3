"""Random programs that use legacy exception handling, as WAT text: fuzz input.

A program is a group of functions ``$p<N>_f<i>`` (``(param $x i32) (result i32)``,
one local ``$acc``) and a driver export ``run<N>`` that calls ``$p<N>_f0`` and
catches every tag, turning which one arrived (and its payload) into the result.
Bodies nest block / loop / if / try-catch(-all) / try-delegate / try with
parameters, and use br / br_if / br_table (function-level targets included),
rethrow, throw, return and calls to later functions, with unreachable code after
throws and branches. Every choice depends on ``$x`` or on the random source only,
and ``env.log`` records which code ran. Loops are bounded by a global fuel counter
that the driver resets, so every program terminates.

The random source is a :class:`random.Random`; the tests pass hypothesis' own
(``st.randoms()``), so failing programs shrink. The bodies are flat instruction
sequences in the subset of WAT that :mod:`tests.exnref_eval` interprets.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

TAGS = ("$e0", "$e1", "$e2")

HEADER = """(module
  (import "env" "log" (func $log (param i32)))
  (type $p1 (func (param i32) (result i32)))
  (tag $e0)
  (tag $e1 (param i32))
  (tag $e2 (param i32 i64))
  (global $fuel (mut i32) (i32.const 0))
"""

#: fuel each driver call starts with: how many backward branches a run may take
FUEL = 25


@dataclass
class Label:
    kind: str  # func, block, loop, if, try, catch, delegate-try
    result: bool  # carries one i32 when branched to
    exit_label: bool = False  # a loop's surrounding exit block


@dataclass
class Gen:
    rng: random.Random
    prefix: str
    nfuncs: int
    budget: int = 0
    ids: int = 0
    out: list[str] = field(default_factory=list)

    def uid(self) -> int:
        self.ids += 1
        return self.ids

    def emit(self, line: str) -> None:
        self.out.append(line)

    def cond(self) -> None:
        bit = self.rng.choice((1, 2, 4, 8))
        self.emit(f"local.get $x i32.const {bit} i32.and")
        if self.rng.random() < 0.3:
            self.emit("i32.eqz")

    # -- statements ------------------------------------------------------
    def stmts(self, labels: list[Label], fidx: int, depth: int) -> None:
        for _ in range(self.rng.randint(0, 4)):
            if self.budget <= 0:
                return
            self.stmt(labels, fidx, depth)

    def stmt(self, labels: list[Label], fidx: int, depth: int) -> None:
        self.budget -= 1
        r = self.rng.random()
        nest = depth < 6
        if r < 0.12:
            self.emit(f"i32.const {self.uid()} call $log")
        elif r < 0.2:
            self.emit(f"local.get $acc i32.const {self.uid()} i32.add local.set $acc")
        elif r < 0.3:
            conditional = self.rng.random() < 0.7
            if conditional:
                self.cond()
                self.emit("if")
            self.throw()
            if conditional:
                self.emit("end")
        elif r < 0.36 and fidx + 1 < self.nfuncs:
            callee = self.rng.randrange(fidx + 1, self.nfuncs)
            self.emit(f"local.get $x i32.const {self.uid()} i32.xor call ${self.prefix}_f{callee}")
            self.emit("local.get $acc i32.add local.set $acc")
        elif r < 0.46:
            self.branch(labels)
        elif r < 0.52:
            self.rethrow(labels)
        elif r < 0.54:
            self.cond()
            self.emit("if local.get $acc return end")
        elif not nest:
            self.emit(f"i32.const {self.uid()} call $log")
        elif r < 0.62:
            self.block(labels, fidx, depth)
        elif r < 0.67:
            self.loop(labels, fidx, depth)
        elif r < 0.73:
            self.cond()
            self.emit("if")
            labels.append(Label("if", False))
            self.stmts(labels, fidx, depth + 1)
            self.emit("else")
            self.stmts(labels, fidx, depth + 1)
            labels.pop()
            self.emit("end")
        elif r < 0.88:
            self.try_catch(labels, fidx, depth)
        elif r < 0.95:
            self.try_delegate(labels, fidx, depth)
        else:
            self.try_params(labels, fidx, depth)

    def throw(self) -> None:
        tag = self.rng.choice(TAGS)
        if tag == "$e0":
            self.emit("throw $e0")
        elif tag == "$e1":
            self.emit(f"i32.const {self.uid()} throw $e1")
        else:
            self.emit(f"i32.const {self.uid()} i64.const {self.uid()} throw $e2")

    def branch(self, labels: list[Label]) -> None:
        k = self.rng.randrange(len(labels))
        lab = labels[-1 - k]
        kind = self.rng.random()
        if lab.kind == "loop":
            # bounded by fuel: exit through the loop's exit block when empty
            self.emit("global.get $fuel i32.const 1 i32.sub global.set $fuel global.get $fuel")
            self.emit(f"i32.const 0 i32.gt_s br_if {k}")
            return
        val = f"i32.const {self.uid()}" if lab.result else ""
        if lab.kind == "func":
            val = "local.get $acc"
        if kind < 0.4:
            self.emit(f"{val} br {k}")
        elif kind < 0.8:
            self.emit(val)
            self.cond()
            self.emit(f"br_if {k}")
            if val:
                self.emit("drop")
        else:
            # br_table over labels with the same arity (loops excluded)
            same = [
                i
                for i, lb in enumerate(reversed(labels))
                if lb.kind != "loop"
                and (lb.result or lb.kind == "func") == (lab.result or lab.kind == "func")
            ]
            targets = [self.rng.choice(same) for _ in range(self.rng.randint(1, 3))]
            # a function-level target needs $acc, others a constant: keep one kind
            if any(labels[-1 - t].kind == "func" for t in targets) and val:
                val = "local.get $acc"
            self.emit(f"{val} local.get $x i32.const 3 i32.rem_u")
            self.emit("br_table " + " ".join(str(t) for t in targets) + f" {k}")

    def rethrow(self, labels: list[Label]) -> None:
        catches = [i for i, lb in enumerate(reversed(labels)) if lb.kind == "catch"]
        if not catches:
            self.emit(f"i32.const {self.uid()} call $log")
            return
        k = self.rng.choice(catches)
        if self.rng.random() < 0.6:
            self.cond()
            self.emit(f"if rethrow {k + 1} end")
        else:
            self.emit(f"rethrow {k}")

    def value_end(self, result: bool) -> None:
        if result:
            self.emit(f"i32.const {self.uid()}")

    def consume(self, result: bool) -> None:
        if result:
            self.emit("local.get $acc i32.add local.set $acc")

    def block(self, labels: list[Label], fidx: int, depth: int) -> None:
        result = self.rng.random() < 0.4
        self.emit("block (result i32)" if result else "block")
        labels.append(Label("block", result))
        self.stmts(labels, fidx, depth + 1)
        self.value_end(result)
        labels.pop()
        self.emit("end")
        self.consume(result)

    def loop(self, labels: list[Label], fidx: int, depth: int) -> None:
        self.emit("block loop")
        labels.append(Label("block", False, exit_label=True))
        labels.append(Label("loop", False))
        self.emit(f"i32.const {self.uid()} call $log")
        self.stmts(labels, fidx, depth + 1)
        # maybe iterate again
        if self.rng.random() < 0.5:
            self.emit("global.get $fuel i32.const 1 i32.sub global.set $fuel global.get $fuel")
            self.emit("i32.const 0 i32.gt_s br_if 0")
        labels.pop()
        labels.pop()
        self.emit("end end")

    def handler_payload(self, tag: str | None) -> None:
        if tag == "$e1":
            self.emit("call $log" if self.rng.random() < 0.5 else "local.set $acc")
        elif tag == "$e2":
            self.emit("i32.wrap_i64 i32.add call $log")

    def try_catch(self, labels: list[Label], fidx: int, depth: int) -> None:
        result = self.rng.random() < 0.4
        self.emit("try (result i32)" if result else "try")
        lab = Label("try", result)
        labels.append(lab)
        self.stmts(labels, fidx, depth + 1)
        self.value_end(result)
        tags = self.rng.sample(TAGS, self.rng.randint(0, 3))
        catch_all = self.rng.random() < 0.5
        for tag in [*tags, *([None] if catch_all else [])]:
            self.emit(f"catch {tag}" if tag else "catch_all")
            lab.kind = "catch"
            self.emit(f"i32.const {self.uid()} call $log")
            self.handler_payload(tag)
            self.stmts(labels, fidx, depth + 1)
            self.value_end(result)
        labels.pop()
        self.emit("end")
        self.consume(result)

    def try_delegate(self, labels: list[Label], fidx: int, depth: int) -> None:
        self.emit("try")
        labels.append(Label("delegate-try", False))
        self.stmts(labels, fidx, depth + 1)
        labels.pop()
        # 0 .. len(labels) - 1; len(labels) - 1 is the function label
        k = self.rng.randrange(len(labels))
        self.emit(f"delegate {k}")

    def try_params(self, labels: list[Label], fidx: int, depth: int) -> None:
        self.emit(f"i32.const {self.uid()} try (type $p1)")
        lab = Label("try", True)
        labels.append(lab)
        self.emit("local.get $acc i32.add local.set $acc")
        self.stmts(labels, fidx, depth + 1)
        self.emit("local.get $acc")
        tags: list[str | None] = list(self.rng.sample(TAGS, self.rng.randint(0, 2)))
        if not tags or self.rng.random() < 0.3:
            tags.append(None)
        for tag in tags:
            self.emit(f"catch {tag}" if tag else "catch_all")
            lab.kind = "catch"
            self.handler_payload(tag)
            self.stmts(labels, fidx, depth + 1)
            self.value_end(True)
        labels.pop()
        self.emit("end local.set $acc")

    # -- functions --------------------------------------------------------
    def function(self, fidx: int) -> str:
        """The body of function ``fidx``: flat instructions, ending with its result."""
        self.out = []
        self.budget = self.rng.randint(5, 40)
        labels = [Label("func", True)]
        self.stmts(labels, fidx, 0)
        return "\n    ".join([*self.out, "local.get $acc"])


@dataclass
class Program:
    """One random program: the bodies of its functions, and its driver."""

    index: int
    bodies: list[str]

    @property
    def export(self) -> str:
        return f"run{self.index}"

    def function_name(self, fidx: int) -> str:
        return f"$p{self.index}_f{fidx}"

    @property
    def driver(self) -> str:
        """The driver's body: reset the fuel, call the first function, catch every tag."""
        return f"""i32.const {FUEL} global.set $fuel
    try (result i32)
      local.get $x call {self.function_name(0)}
    catch $e0 i32.const -1000
    catch $e1 i32.const 1000000 i32.add
    catch $e2 i32.wrap_i64 i32.add i32.const 3000000 i32.add
    end"""

    def wat(self) -> str:
        """The functions and the exported driver, as module fields."""
        funcs = [
            f"  (func {self.function_name(i)} (param $x i32) (result i32) (local $acc i32)\n"
            f"    {body})\n"
            for i, body in enumerate(self.bodies)
        ]
        return "".join(
            [
                *funcs,
                f'  (func (export "{self.export}") (param $x i32) (result i32)\n'
                f"    {self.driver})\n",
            ]
        )


def program(rng: random.Random, index: int) -> Program:
    """A random program numbered ``index`` (its names are unique in a module)."""
    nfuncs = rng.randint(1, 4)
    gen = Gen(rng, f"p{index}", nfuncs)
    return Program(index, [gen.function(i) for i in range(nfuncs)])


def module(programs: list[Program]) -> str:
    """A module (WAT) holding these programs."""
    return HEADER + "".join(p.wat() for p in programs) + ")\n"


def seeded(seeds: list[int]) -> list[Program]:
    """Programs from these seeds, numbered in order (reproducible corpora)."""
    return [program(random.Random(seed), i) for i, seed in enumerate(seeds)]


_FUNC = re.compile(
    r"^  \(func \$p(\d+)_f(\d+) \(param \$x i32\) \(result i32\) \(local \$acc i32\)\n"
    r"    (.*?)\)\n(?=  \(func )",
    re.MULTILINE | re.DOTALL,
)


def programs_in(wat: str) -> list[Program]:
    """The programs of a module :func:`module` wrote (the inverse of :func:`module`)."""
    bodies: dict[int, list[str]] = {}
    for m in _FUNC.finditer(wat):
        funcs = bodies.setdefault(int(m[1]), [])
        assert int(m[2]) == len(funcs), m[0][:60]
        funcs.append(m[3])
    return [Program(index, funcs) for index, funcs in sorted(bodies.items())]
