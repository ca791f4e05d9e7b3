"""Property: beamr.io against a model of linear memory (a bytearray).

Random reads, writes, string reads and memory growth, at random offsets (negative,
huge, at the edges) and sizes: every valid operation agrees with the model, every
invalid one raises its typed error and leaves the memory as it was.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import beamr
from beamr import io

from .conftest import wasm

pytestmark = pytest.mark.anyio

PAGE = 65536
MAX_PAGES = 64  # edge.wasm: 1 page, maximum 64

EDGES = [0, 1, PAGE - 1, PAGE, PAGE + 1, 2 * PAGE - 1, 2 * PAGE, 2**31, 2**32, 2**63, 2**64 - 1]
offsets = st.one_of(
    st.integers(0, 2 * PAGE + 16),
    st.sampled_from(EDGES),
    st.integers(-(2**64), -1),
    st.sampled_from([True, 1.0, "0", None]),
)
sizes = st.one_of(
    st.integers(0, 256), st.sampled_from([0, PAGE, PAGE + 1, 2**40]), st.integers(-5, -1)
)
data = st.one_of(
    st.binary(max_size=64),
    st.binary(min_size=1, max_size=8).map(lambda b: b * 1000),
    st.sampled_from(["text", 5]),
)
operations = st.lists(
    st.one_of(
        st.tuples(st.just("read"), offsets, sizes),
        st.tuples(st.just("write"), offsets, data),
        st.tuples(st.just("read_string"), offsets),
        st.tuples(st.just("grow"), st.integers(0, 3)),
        st.tuples(st.just("size")),
    ),
    min_size=20,
    max_size=120,
)


def expected_error(op: tuple[Any, ...], memory: bytearray) -> type[Exception] | None:
    """What the model says this operation must raise, or None if it must succeed."""
    kind = op[0]
    if kind in ("grow", "size"):
        return None
    offset = op[1]
    if type(offset) is not int:
        return TypeError
    if kind == "read":
        size = op[2]
        if type(size) is not int:
            return TypeError
        if offset < 0 or size < 0:
            return ValueError
        return beamr.OutOfBounds if offset + size > len(memory) else None
    if kind == "write":
        payload = op[2]
        if offset < 0:
            return ValueError
        if not isinstance(payload, bytes):
            return TypeError
        return beamr.OutOfBounds if offset + len(payload) > len(memory) else None
    # read_string
    if offset < 0:
        return ValueError
    if offset >= len(memory) or memory.find(b"\0", offset) < 0:
        return beamr.OutOfBounds
    return None


async def attempt(instance: beamr.Instance, op: tuple[Any, ...]) -> object:
    if op[0] == "read":
        return await io.read(instance, op[1], op[2])
    if op[0] == "write":
        await io.write(instance, op[1], op[2])
        return None
    return await io.read_string(instance, op[1])


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations)
async def test_io_agrees_with_a_model_of_linear_memory(
    ops: list[tuple[Any, ...]], io_path: str
) -> None:
    """Through frames and through bulk copies alike (the ``io_path`` fixture)."""
    async with await beamr.start(wasm("edge")) as instance:
        assert instance.bulk == (io_path == "bulk")
        memory = bytearray(await beamr.serialize(instance))
        assert len(memory) == PAGE
        for op in ops:
            error = expected_error(op, memory)
            if error is not None:
                with pytest.raises(error):
                    await attempt(instance, op)
                continue
            if op[0] == "read":
                offset, size = op[1], op[2]
                assert await io.read(instance, offset, size) == memory[offset : offset + size]
            elif op[0] == "write":
                offset, payload = op[1], op[2]
                await io.write(instance, offset, payload)
                memory[offset : offset + len(payload)] = payload
            elif op[0] == "read_string":
                offset = op[1]
                end = memory.index(b"\0", offset)
                assert await io.read_string(instance, offset) == memory[offset:end]
            elif op[0] == "grow":
                pages = len(memory) // PAGE
                (previous,) = await beamr.call(instance, "grow", [op[1]])
                if pages + op[1] <= MAX_PAGES:
                    assert previous == pages
                    memory.extend(bytes(op[1] * PAGE))
                else:
                    assert previous == -1
            else:
                assert await io.size(instance) == len(memory)
        # zero divergence, refused operations included
        assert await beamr.serialize(instance) == memory
