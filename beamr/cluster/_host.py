"""The host: one Ray actor per node, holding the beamr instances placed there.

It is an async actor: its methods run on one asyncio loop in the actor process, and
beamr runs there as in any asyncio program (each instance a sandboxed worker forked
from the node's fork-server, a child of the actor). Every method answers
``(True, value)`` or ``(False, failure)``: an error raised by beamr on the node
crosses whole (:func:`failure` / :func:`raise_failure`), never wrapped in Ray's
``RayTaskError``. Large byte strings travel as out-of-band pickle buffers, so they
stay in Ray's object store until read (:func:`out_of_band`).
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Awaitable, Callable
from typing import Any

import ray
from ray import cloudpickle

import beamr
from beamr import io
from beamr import protocol as p
from beamr.errors import BeamrError
from beamr.instance import Instance

__all__ = ["BIG", "Host", "Stored", "answer_of", "failure", "out_of_band", "raise_failure"]

#: byte strings from this size travel through the object store as buffers of their own
BIG = 256 << 10

Outcome = tuple[bool, Any]

#: what a remote instance may run on its node, by the name the functions forward
OPERATIONS: dict[str, Callable[..., Awaitable[Any]]] = {
    "call": beamr.call,
    "get_global": beamr.get_global,
    "set_global": beamr.set_global,
    "serialize": beamr.serialize,
    "deserialize": beamr.deserialize,
    "io.size": io.size,
    "io.read": io.read,
    "io.write": io.write,
    "io.read_string": io.read_string,
    "io.write_string": io.write_string,
    "io.malloc": io.malloc,
    "io.free": io.free,
    "io.batch": io.batch,
}


class Stored:
    """An argument that went through the object store: the ``index``-th of the call's
    extra arguments (Ray resolves those before the method runs)."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index


def out_of_band(value: Any) -> Any:
    """``value``, with a large byte string made an out-of-band buffer (one copy into
    the object store, read in place by the receiver)."""
    if isinstance(value, bytes | bytearray) and len(value) >= BIG:
        return pickle.PickleBuffer(value)
    return value


def _pack(error: BaseException) -> bytes:
    """An exception pickled as (class, args, attributes): exceptions of their own
    pickle as ``cls(*args)``, which fails for an ``__init__`` of another shape."""
    return bytes(cloudpickle.dumps((type(error), error.args, dict(vars(error)))))


def _unpack(blob: bytes) -> BaseException:
    cls, args, state = cloudpickle.loads(blob)
    if not (isinstance(cls, type) and issubclass(cls, BaseException)):
        raise TypeError(f"not an exception class: {cls!r}")
    error: BaseException = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


def failure(error: BaseException) -> tuple[bytes | None, str, str, Any]:
    """An exception as it can cross: pickled (with its cause, pickled too where it can
    be, else its text), and its type's name and text for when it cannot be unpickled."""
    cause = error.__cause__
    cause_blob: Any = None
    if cause is not None:
        try:
            cause_blob = _pack(cause)
        except Exception:
            cause_blob = f"{type(cause).__name__}: {cause}"
    try:
        blob: bytes | None = _pack(error)
    except Exception:
        blob = None
    return blob, type(error).__name__, str(error), cause_blob


def raise_failure(crossed: tuple[bytes | None, str, str, Any]) -> None:
    """Raise the exception :func:`failure` packed, as it was raised on the node."""
    blob, name, text, cause_blob = crossed
    error: BaseException | None = None
    if blob is not None:
        try:
            error = _unpack(blob)
        except Exception:
            error = None
    if error is None:
        error = BeamrError(f"{name}: {text}")
    cause: BaseException | None = None
    if isinstance(cause_blob, bytes):
        try:
            cause = _unpack(cause_blob)
        except Exception:
            cause = BeamrError("(an exception that could not be unpickled here)")
    elif isinstance(cause_blob, str):
        cause = BeamrError(cause_blob)
    if cause is not None:
        raise error from cause
    raise error


def answer_of(answer: bytes | Outcome) -> Outcome:
    """A host method's ``(ok, value)``, as :meth:`Host.run` sent it: pickled bytes,
    or the tuple itself when it carries a buffer for the object store."""
    return pickle.loads(answer) if isinstance(answer, bytes) else answer


async def _outcome(work: Awaitable[Any]) -> Outcome:
    try:
        return True, out_of_band(await work)
    except Exception as exc:
        return False, failure(exc)


@ray.remote(num_cpus=0, max_concurrency=100_000, max_restarts=0)
class Host:
    """A node's beamr instances, by handle."""

    def __init__(self) -> None:
        self._instances: dict[int, Instance] = {}
        self._next = 0

    async def hello(self) -> tuple[str, int]:
        """(node id, this actor's pid)."""
        return ray.get_runtime_context().get_node_id(), os.getpid()

    async def start(self, binary: Any, options: bytes) -> Outcome:
        async def start() -> Any:
            kwargs = cloudpickle.loads(options)
            instance = await beamr.start(binary, **kwargs)
            handle = self._next
            self._next += 1
            self._instances[handle] = instance
            return handle, instance.pid, _description(instance)

        return await _outcome(start())

    async def run(self, request: bytes) -> bytes | Outcome:
        """Run ``request`` (a pickled ``(handle, operation, args)``) on the instance.

        The request and, unless it carries a large buffer, the answer travel as one
        byte string each: Ray passes bytes without pickling them, and every argument
        it has to pickle costs about 0.1 ms on each call (and a variable number of
        arguments, a signature binding: large ones go to :meth:`run_stored`)."""
        return await self.run_stored(request)

    async def run_stored(self, request: bytes, *stored: Any) -> bytes | Outcome:
        """:meth:`run`, with arguments that went through the object store."""
        handle, operation, args = pickle.loads(request)
        instance = self._instances.get(handle)
        if instance is None:
            outcome: Outcome = False, failure(beamr.InstanceClosed("the instance is stopped"))
        else:
            # a stored argument arrives as a read-only buffer in the object store
            resolved = [memoryview(stored[a.index]) if isinstance(a, Stored) else a for a in args]
            outcome = await _outcome(OPERATIONS[operation](instance, *resolved))
        if isinstance(outcome[1], pickle.PickleBuffer):
            return outcome  # out of band, through the object store
        return pickle.dumps(outcome, protocol=5)

    async def output(self, handle: int) -> Outcome:
        instance = self._instances.get(handle)
        if instance is None:
            return False, failure(beamr.InstanceClosed("the instance is stopped"))

        async def output() -> Any:
            taken = await instance.output()
            return taken, instance.dropped_output

        return await _outcome(output())

    async def usable(self, handle: int) -> bool:
        instance = self._instances.get(handle)
        return instance is not None and instance.usable

    async def state(self, handle: int) -> Outcome:
        """What a move carries: the memory and every mutable global of a number type."""
        instance = self._instances.get(handle)
        if instance is None:
            return False, failure(beamr.InstanceClosed("the instance is stopped"))

        async def state() -> Any:
            # (the caller lets nothing else reach the instance during a move)
            memory = await beamr.serialize(instance)  # any size: bulk or in chunks
            values = {}
            for name, (char, mutable) in instance.global_types().items():
                if mutable and char in ("i", "I", "f", "F"):
                    values[name] = await beamr.get_global(instance, name)
            # into the object store from here: the target node reads it from there,
            # it never passes through the caller
            return [ray.put(pickle.PickleBuffer(memory))], values

        return await _outcome(state())

    async def restore(self, handle: int, values: dict[str, Any], memory: Any) -> Outcome:
        """Take a moved instance's state: grow the memory to its size, write it, set
        the globals."""
        instance = self._instances.get(handle)
        if instance is None:
            return False, failure(beamr.InstanceClosed("the instance is stopped"))

        async def restore() -> None:
            data = bytes(memory)
            await instance.request(p.Grow(len(data)))
            await beamr.deserialize(instance, data)
            for name, value in values.items():
                await beamr.set_global(instance, name, value)

        return await _outcome(restore())

    async def stop(self, handle: int) -> None:
        instance = self._instances.pop(handle, None)
        if instance is not None:
            await instance.aclose()

    async def close(self) -> int:
        """Stop every instance; how many there were."""
        instances = list(self._instances.values())
        self._instances.clear()
        for instance in instances:
            await instance.aclose()
        return len(instances)


def _description(instance: Instance) -> dict[str, Any]:
    return {
        "exports": instance.exports,
        "imports": instance.imports,
        "call_timeout": instance.call_timeout,
    }
