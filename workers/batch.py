"""A batch: several ops in one round trip (``beamr.io.batch``), run in order.

Ops are those of :data:`beamr.protocol.BATCH_OPS`. An int field, or a call argument,
may be a reference ``[i]``: the first value of op ``i``'s result (a pointer from a
``write_string``, a call's first result), so that ``write_string(msg)``,
``call("handle", [ref, ...])``, ``read_string(ref)`` need no round trip between them.
The first op that fails ends the batch: its index and error come back with the
results of the ops before it. Reads and strings share one reply: together at most
:data:`beamr.protocol.INLINE_CHUNK` bytes.
"""

from __future__ import annotations

from typing import Any, Protocol

from beamr import protocol as p
from workers.backend import CommandFailed, Number

__all__ = ["Runner", "run"]


class Runner(Protocol):
    """What a batch runs on (the command loop)."""

    @property
    def memory(self) -> Any: ...

    def call(self, name: str, args: list[Number]) -> list[Number]:
        """Call an export as an entry of this batch (interruptible, with fresh fuel)."""
        ...

    def signature(self, name: str) -> str | None:
        """The exported function's signature; None if there is none."""
        ...

    def get_global(self, name: str) -> Number: ...
    def set_global(self, name: str, value: Number) -> None: ...

    def check_interrupt(self) -> None:
        """Raise ``interrupt`` if the parent gave up on the batch."""
        ...


def run(runner: Runner, ops: list[list[Any]]) -> tuple[list[Any], list[Any]]:
    """The results of ``ops``, and ``[index, kind, text, code, detail]`` if one failed."""
    results: list[Any] = []
    room = p.INLINE_CHUNK
    for index, op in enumerate(ops):
        try:
            runner.check_interrupt()
            result = _run_one(runner, op, results, room)
        except CommandFailed as exc:
            return results, [index, exc.kind, exc.text, exc.code, exc.detail]
        if type(result) is bytes:
            room -= len(result)
        results.append(result)
    return results, []


def _value(results: list[Any], field: Any, what: str) -> Any:
    """A field, or the value a reference ``[i]`` names."""
    if type(field) is not list:
        return field
    if len(field) != 1 or type(field[0]) is not int or not 0 <= field[0] < len(results):
        raise CommandFailed("bad_command", f"{what}: {p.show(field)} names no earlier op")
    value = results[field[0]]
    if type(value) is list:
        value = value[0] if value else None
    if type(value) is not int:
        raise CommandFailed(
            "bad_argument", f"{what}: op {field[0]}'s result {p.show(value)} is not an int"
        )
    return value


def _run_one(runner: Runner, op: list[Any], results: list[Any], room: int) -> Any:
    kind = op[0]
    memory = runner.memory
    if kind == "size":
        return memory.size()
    if kind == "read":
        offset, size = _value(results, op[1], "read offset"), op[2]
        if size > room:
            raise CommandFailed("too_large", f"reads in a batch hold {p.INLINE_CHUNK} bytes")
        return memory.read(offset, size)
    if kind == "write":
        memory.write(_value(results, op[1], "write offset"), op[2])
        return None
    if kind == "read_string":
        return memory.read_string(_value(results, op[1], "read_string offset"), room)
    if kind == "call":
        if type(op[2]) is not list:
            raise CommandFailed("bad_command", "call arguments must be a list")
        args = [_value(results, arg, f"{op[1]} argument") for arg in op[2]]
        for arg in args:
            if type(arg) is not int and type(arg) is not float:
                raise CommandFailed("bad_argument", f"{op[1]} argument {p.show(arg)}")
        return runner.call(op[1], args)
    if kind == "get_global":
        return runner.get_global(op[1])
    if kind == "set_global":
        runner.set_global(op[1], op[2])
        return None
    if kind == "write_string":
        return _write_string(runner, op[1])
    if kind == "free":
        _allocator(runner, "free")
        runner.call("free", [_value(results, op[1], "free pointer")])
        return None
    raise CommandFailed("bad_command", f"unknown batch op {p.show(kind)}")  # pragma: no cover


def _allocator(runner: Runner, name: str) -> int:
    """The pointer width (32 or 64) of the module's malloc/free."""
    signature = runner.signature(name)
    widths = {"malloc": {"(i)i": 32, "(I)I": 64}, "free": {"(i)": 32, "(I)": 64}}[name]
    if signature not in widths:
        raise CommandFailed(
            "export_not_found",
            f"write_string needs an exported {name} of {' or '.join(widths)}, "
            f"found {signature or 'none'}",
        )
    return widths[signature]


def _write_string(runner: Runner, data: bytes) -> int:
    """malloc(len + 1), then data and a NUL; the block is freed if the write fails."""
    if b"\0" in data:
        raise CommandFailed("bad_argument", "a string written with write_string contains a NUL")
    bits = _allocator(runner, "malloc")
    (pointer,) = runner.call("malloc", [len(data) + 1])
    pointer = int(pointer) & ((1 << bits) - 1)
    if pointer == 0:
        raise CommandFailed("malloc_failed", f"malloc({len(data) + 1}) returned 0")
    try:
        runner.memory.write(pointer, data + b"\0")
    except CommandFailed:
        if runner.signature("free") is not None:
            runner.call("free", [pointer])
        raise
    return pointer
