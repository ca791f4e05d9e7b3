"""Several commands in one round trip: :func:`batch` and its ops (:class:`Op`).

::

    msg = io.Op.write_string(message)          # op 0: a pointer
    env = io.Op.write_string(environment)      # op 1
    out = io.Op.call("handle", [msg, env])     # an op stands for its first value
    text = io.Op.read_string(out)
    *_, reply = await io.batch(wasm, [msg, env, out, text])

The ops run in the worker in order, in one round trip; an op given where an int is
expected (an offset, a pointer, a call argument) is the first value of that op's
result, which must come earlier in the same batch. Each op is checked as its
:mod:`beamr.io` or :func:`beamr.call` counterpart checks its arguments, before
anything is sent. Reads and strings share the reply: at most 8 MiB together (read
larger ones with :mod:`beamr.io`). The first op that fails ends the batch: its error
is raised as the single op would raise it, with ``batch_index`` (the op's index) and
``batch_results`` (the results before it) as attributes; the ops after it do not run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from beamr import protocol as p
from beamr._remote import Remote
from beamr.errors import BeamrError, error_for
from beamr.instance import Instance
from beamr.types import INT_RANGES, check_signature_value, split_signature

__all__ = ["Op", "batch"]

#: the largest frame of ops the parent sends (the worker accepts up to 2 GiB)
MAX_BATCH_BYTES = 1 << 30


@dataclass(frozen=True, eq=False)
class Op:
    """One op of a :func:`batch`; make it with the class methods, which check their
    arguments as the :mod:`beamr.io` function of the same name does."""

    kind: str
    fields: tuple[Any, ...]

    @classmethod
    def size(cls) -> Op:
        return cls("size", ())

    @classmethod
    def read(cls, offset: int | Op, size: int) -> Op:
        return cls("read", (_offset(offset, "offset"), _count(size, "size")))

    @classmethod
    def write(cls, offset: int | Op, data: bytes | bytearray | memoryview) -> Op:
        return cls("write", (_offset(offset, "offset"), _data(data)))

    @classmethod
    def read_string(cls, offset: int | Op) -> Op:
        return cls("read_string", (_offset(offset, "offset"),))

    @classmethod
    def write_string(cls, data: str | bytes | bytearray | memoryview) -> Op:
        raw = data.encode() if isinstance(data, str) else _data(data)
        if b"\0" in raw:
            raise ValueError("a string written with write_string cannot contain a NUL byte")
        return cls("write_string", (raw,))

    @classmethod
    def free(cls, pointer: int | Op) -> Op:
        return cls("free", (_offset(pointer, "pointer"),))

    @classmethod
    def call(cls, name: str, args: Sequence[int | float | Op] = ()) -> Op:
        if not isinstance(name, str):
            raise TypeError(f"the export name must be a str, got {type(name).__name__}")
        if isinstance(args, str | bytes) or not isinstance(args, Sequence):
            raise TypeError(f"args must be a list, got {type(args).__name__}")
        for i, value in enumerate(args):
            if not isinstance(value, Op) and (
                type(value) is bool or not isinstance(value, int | float)
            ):
                raise TypeError(f"argument {i} of {name} must be a number or an Op")
        return cls("call", (name, tuple(args)))

    @classmethod
    def get_global(cls, name: str) -> Op:
        return cls("get_global", (_name(name),))

    @classmethod
    def set_global(cls, name: str, value: int | float) -> Op:
        if type(value) is bool or not isinstance(value, int | float):
            raise TypeError(f"the value must be a number, got {type(value).__name__}")
        return cls("set_global", (_name(name), value))


def _name(name: Any) -> str:
    if not isinstance(name, str):
        raise TypeError(f"the name must be a str, got {type(name).__name__}")
    return name


def _count(value: Any, what: str) -> int:
    if type(value) is bool or not isinstance(value, int):
        raise TypeError(f"{what} must be an int, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{what} must not be negative, got {value}")
    return int(value)


def _offset(value: Any, what: str) -> int | Op:
    return value if isinstance(value, Op) else _count(value, what)


def _data(data: Any) -> bytes:
    if isinstance(data, str) or not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"data must be bytes-like, got {type(data).__name__}")
    return bytes(data)


def _wire(ops: Sequence[Op], instance: Instance) -> list[list[Any]]:
    """The ops as the worker takes them: references as ``[index]``, call arguments
    converted by the export's signature."""
    index: dict[int, int] = {}
    wire: list[list[Any]] = []
    reads = 0

    def ref(value: Any, at: int) -> Any:
        if not isinstance(value, Op):
            return value
        found = index.get(id(value))
        if found is None:
            raise ValueError(f"op {at} refers to an op that does not come before it")
        return [found]

    for at, op in enumerate(ops):
        if not isinstance(op, Op):
            raise TypeError(f"op {at} is not a beamr.io.Op, got {type(op).__name__}")
        if id(op) in index:
            raise ValueError(f"op {at} appears twice in the batch")
        if op.kind == "call":
            name, args = op.fields
            fields: tuple[Any, ...] = (name, _call_args(instance, name, args, at, ref))
        else:
            fields = tuple(ref(value, at) for value in op.fields)
        if op.kind == "read":
            reads += op.fields[1]
        wire.append([op.kind, *fields])
        index[id(op)] = at
    if reads > p.INLINE_CHUNK:
        raise ValueError(
            f"the batch reads {reads} bytes; a batch's reads hold {p.INLINE_CHUNK} "
            "(read more with io.read)"
        )
    return wire


def _call_args(
    instance: Instance, name: str, args: tuple[Any, ...], at: int, ref: Any
) -> list[Any]:
    params, results = split_signature(instance.signature(name))
    if len(args) != len(params):
        raise TypeError(f"{name}{instance.signature(name)} takes {len(params)} arguments")
    if not set(results) <= set("iIfF"):
        raise TypeError(f"{name} returns values that cannot cross to Python")
    converted = []
    for i, (char, value) in enumerate(zip(params, args, strict=True)):
        if isinstance(value, Op):
            if char not in INT_RANGES:
                raise TypeError(f"argument {i} of {name} is a float: an Op gives an int")
            converted.append(ref(value, at))
        else:
            converted.append(check_signature_value(char, value, f"argument {i} of {name}"))
    return converted


async def batch(wasm: Instance | Remote, ops: Sequence[Op]) -> list[Any]:
    """Run ``ops`` in the worker, in order, in one round trip; their results, in order:
    ``size`` an int, ``read``/``read_string`` bytes, ``write``/``set_global``/``free``
    None, ``write_string`` the pointer, ``call`` its list of results, ``get_global``
    the value. See the module documentation for references and errors."""
    if not isinstance(wasm, Instance | Remote):
        raise TypeError(f"expected a beamr.Instance, got {type(wasm).__name__}")
    if isinstance(ops, Op) or not isinstance(ops, Sequence):
        raise TypeError("ops must be a list of beamr.io.Op")
    if isinstance(wasm, Remote):  # checked there, against the instance's signatures
        return list(await wasm.invoke("io.batch", (list(ops),)))
    wire = _wire(ops, wasm)
    if sum(len(op[-1]) for op in wire if op[0] in ("write", "write_string")) > MAX_BATCH_BYTES:
        raise ValueError(f"a batch carries at most {MAX_BATCH_BYTES} bytes of data")
    if not wire:
        return []
    results, error = await wasm.request(p.Batch(wire), time_limit=_time_limit(wasm, wire))
    for at, value in enumerate(results):
        if not _plausible(wire[at][0], value):
            await wasm.violation(f"batch op {at} ({wire[at][0]}) answered {p.show(value)}")
    if error:
        raise _failure(error, results)
    return results


def _time_limit(wasm: Instance, wire: list[list[Any]]) -> float | None:
    """A call's time limit, once per call in the batch (each may run that long)."""
    timeout = wasm.call_timeout
    calls = sum(1 for op in wire if op[0] in ("call", "write_string", "free"))
    return None if timeout is None or not calls else timeout * calls


_PLAUSIBLE: dict[str, tuple[type, ...]] = {
    "size": (int,),
    "read": (bytes,),
    "read_string": (bytes,),
    "write": (type(None),),
    "set_global": (type(None),),
    "free": (type(None),),
    "write_string": (int,),
    "call": (list,),
    "get_global": (int, float),
}


def _plausible(kind: str, value: Any) -> bool:
    if type(value) not in _PLAUSIBLE[kind]:
        return False
    if kind == "call":
        return all(type(v) is int or type(v) is float for v in value)
    return not (type(value) is int and value < 0 and kind in ("size", "write_string"))


def _failure(error: list[Any], results: list[Any]) -> Exception:
    if len(error) != 5:
        return BeamrError(f"a batch failed with {p.show(error)}")
    index, kind, text, code, detail = error
    failure = error_for(kind, text, code, detail)
    failure.batch_index = index  # type: ignore[attr-defined]
    failure.batch_results = list(results)  # type: ignore[attr-defined]
    return failure
