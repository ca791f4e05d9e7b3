"""beamr.io: the hb_beamr_io eunit tests, ported, then every rule of DESIGN §2."""

from __future__ import annotations

from typing import Any

import pytest

import beamr
from beamr import io

from .conftest import wasm

pytestmark = pytest.mark.anyio

PAGE = 65536


# ------------------------------------------------------------ ported from hb_beamr_io


async def test_size() -> None:
    async with await beamr.start(wasm("test_print")) as instance:
        assert await io.size(instance) == 1 * PAGE
    async with await beamr.start(wasm("big_memory")) as instance:
        assert await io.size(instance) == 193 * PAGE


async def test_write() -> None:
    async with await beamr.start(wasm("test_print")) as instance:
        await io.write(instance, 0, b"Hello, World!")
        assert await io.read(instance, 0, 13) == b"Hello, World!"
        with pytest.raises(beamr.OutOfBounds):
            await io.write(instance, 1000000, b"Bad hello world!")


async def test_read() -> None:
    async with await beamr.start(wasm("test_print")) as instance:
        assert await io.read(instance, 66, 13) == b"Hello, World!"
        with pytest.raises(beamr.OutOfBounds):
            await io.read(instance, 1000000, 13)


async def test_malloc() -> None:
    async with await beamr.start(wasm("calling")) as instance:
        ptr = await io.malloc(instance, 100)
        assert 0 < ptr < await io.size(instance)
        # The module's memory is capped at 259 pages (~16 MiB).
        with pytest.raises(beamr.MallocFailed):
            await io.malloc(instance, 128 * 1024 * 1024)


async def test_string_write_and_read() -> None:
    async with await beamr.start(wasm("calling")) as instance:
        ptr = await io.write_string(instance, b"Hello, World!")
        assert await io.read_string(instance, ptr) == b"Hello, World!"


# ------------------------------------------------------------------------ memory rules


async def test_size_without_memory_is_zero() -> None:
    async with await beamr.start(wasm("fac")) as instance:
        assert await io.size(instance) == 0
        with pytest.raises(beamr.OutOfBounds):
            await io.read(instance, 0, 1)
        assert await io.read(instance, 0, 0) == b""


async def test_size_follows_memory_growth() -> None:
    async with await beamr.start(wasm("edge")) as instance:
        assert await beamr.call(instance, "grow", [3]) == [1]
        assert await io.size(instance) == 4 * PAGE
        await io.write(instance, 4 * PAGE - 4, b"tail")
        assert await io.read(instance, 4 * PAGE - 4, 4) == b"tail"


async def test_edges_of_memory() -> None:
    async with await beamr.start(wasm("test_print")) as instance:
        assert await io.read(instance, PAGE, 0) == b""
        assert await io.read(instance, PAGE - 1, 1) == b"\0"
        await io.write(instance, PAGE - 2, b"ab")
        assert await io.read(instance, PAGE - 2, 2) == b"ab"
        await io.write(instance, PAGE, b"")
        snapshot = await beamr.serialize(instance)
        for offset, size in [(PAGE - 1, 2), (PAGE, 1), (PAGE + 1, 0), (2**63, 1), (0, PAGE + 1)]:
            with pytest.raises(beamr.OutOfBounds):
                await io.read(instance, offset, size)
        for offset, data in [(PAGE - 1, b"xy"), (PAGE + 1, b""), (2**64, b"x")]:
            with pytest.raises(beamr.OutOfBounds):
                await io.write(instance, offset, data)
        assert await beamr.serialize(instance) == snapshot, "a refused write changed memory"


async def test_read_string_finds_nul_in_one_pass() -> None:
    async with await beamr.start(wasm("test_print")) as instance:
        long = b"x" * 40000
        await io.write(instance, 100, long + b"\0")
        assert await io.read_string(instance, 100) == long
        assert await io.read_string(instance, 100 + 39999) == b"x"
        assert await io.read_string(instance, 0) == b""  # memory starts zeroed
        assert await io.read_string(instance, 66, chunk_size=3) == b"Hello, World!"


async def test_read_string_without_nul_is_out_of_bounds() -> None:
    async with await beamr.start(wasm("test_print")) as instance:
        await io.write(instance, PAGE - 5, b"abcde")
        with pytest.raises(beamr.OutOfBounds):
            await io.read_string(instance, PAGE - 5)
        with pytest.raises(beamr.OutOfBounds):
            await io.read_string(instance, PAGE)
        with pytest.raises(beamr.OutOfBounds):
            await io.read_string(instance, PAGE + 10)


async def test_write_accepts_bytes_like() -> None:
    async with await beamr.start(wasm("test_print")) as instance:
        await io.write(instance, 0, bytearray(b"one"))
        await io.write(instance, 3, memoryview(b"two"))
        await io.write(instance, 6, memoryview(b"xxthreexx")[2:7])
        assert await io.read(instance, 0, 11) == b"onetwothree"


async def test_write_string_str_and_bytes() -> None:
    async with await beamr.start(wasm("calling")) as instance:
        cases: list[tuple[str | bytes | bytearray | memoryview, bytes]] = [
            ("héllo wörld", "héllo wörld".encode()),
            (b"bytes", b"bytes"),
            (bytearray(b"array"), b"array"),
            (memoryview(b"view"), b"view"),
            ("", b""),
        ]
        for data, expected in cases:
            ptr = await io.write_string(instance, data)
            assert await io.read_string(instance, ptr) == expected
            assert await io.read(instance, ptr + len(expected), 1) == b"\0"
            await io.free(instance, ptr)


async def test_write_string_then_c_code_reads_it() -> None:
    async with await beamr.start(wasm("calling")) as instance:
        ptr = await io.write_string(instance, "beamr")
        assert await beamr.call(instance, "str_len", [ptr]) == [5]
        assert await beamr.call(instance, "str_upper", [ptr]) == [ptr]
        assert await io.read_string(instance, ptr) == b"BEAMR"
        greeting = int((await beamr.call(instance, "greet", [ptr]))[0])
        assert await io.read_string(instance, greeting) == b"Hello, BEAMR!"
        await io.free(instance, greeting)


async def test_write_string_frees_the_block_when_the_write_fails() -> None:
    # bad_malloc hands out the last byte of memory; free logs its pointers at 0, 4...
    async with await beamr.start(wasm("bad_malloc")) as instance:
        with pytest.raises(beamr.OutOfBounds):
            await io.write_string(instance, "too long to fit")
        count = int.from_bytes(await io.read(instance, 0, 4), "little")
        freed = int.from_bytes(await io.read(instance, 4, 4), "little")
        assert (count, freed) == (1, PAGE - 1)
        # a 0-byte string fits (just the NUL): no free then
        assert await io.write_string(instance, "") == PAGE - 1
        assert int.from_bytes(await io.read(instance, 0, 4), "little") == 1


@pytest.mark.parametrize(
    ("fixture", "error"),
    [
        pytest.param("edge", beamr.MallocFailed, id="malloc-returns-zero"),  # always 0
        pytest.param("test_print", beamr.ExportNotFound, id="no-malloc"),
    ],
)
async def test_a_missing_or_failing_allocator_is_a_clear_error(
    fixture: str, error: type[beamr.BeamrError]
) -> None:
    async with await beamr.start(wasm(fixture)) as instance:
        with pytest.raises(error):
            await io.malloc(instance, 16)
        with pytest.raises(error):
            await io.write_string(instance, "x")
        if error is beamr.ExportNotFound:
            with pytest.raises(error):
                await io.free(instance, 16)


async def test_malloc_and_free_reuse() -> None:
    async with await beamr.start(wasm("calling")) as instance:
        ptrs = [await io.malloc(instance, 64) for _ in range(10)]
        assert len(set(ptrs)) == 10
        for ptr in ptrs:
            await io.free(instance, ptr)


async def test_wasm64_memory_io() -> None:
    async with await beamr.start(wasm("wasm64")) as instance:
        assert await io.size(instance) == 2 * PAGE
        assert await io.read(instance, 66, 13) == b"Hello, World!"
        ptr = await io.write_string(instance, "sixty-four")
        assert ptr >= 1024
        assert await io.read_string(instance, ptr) == b"sixty-four"
        await io.free(instance, ptr)
        assert instance.signature("malloc") == "(I)I"


async def test_serialize_and_deserialize() -> None:
    """hb_beamr's state export/restore."""
    async with await beamr.start(wasm("calling")) as instance:
        ptr = await io.write_string(instance, "state one")
        snapshot = await beamr.serialize(instance)
        assert len(snapshot) == await io.size(instance)
        await io.write(instance, ptr, b"STATE TWO")
        await beamr.deserialize(instance, snapshot)
        assert await io.read_string(instance, ptr) == b"state one"
        assert await beamr.serialize(instance) == snapshot
        async with await beamr.start(wasm("calling")) as other:
            await beamr.deserialize(other, snapshot)
            assert await io.read_string(other, ptr) == b"state one"


async def test_deserialize_too_large_is_refused_and_changes_nothing() -> None:
    async with await beamr.start(wasm("test_print")) as instance:
        before = await beamr.serialize(instance)
        with pytest.raises(beamr.OutOfBounds):
            await beamr.deserialize(instance, b"\xff" * (PAGE + 1))
        assert await beamr.serialize(instance) == before
        with pytest.raises(TypeError):
            await beamr.deserialize(instance, "text")  # type: ignore[arg-type]


# ---------------------------------------------------------------------- validation

BAD_INTS: list[tuple[Any, type[Exception]]] = [
    ("1", TypeError),
    (1.0, TypeError),
    (True, TypeError),
    (None, TypeError),
    (-1, ValueError),
    (-(2**70), ValueError),
]


@pytest.mark.parametrize(("value", "error"), BAD_INTS)
async def test_io_validates_before_sending(value: Any, error: type[Exception]) -> None:
    # Validation comes before any I/O: a stopped instance still gets the
    # TypeError/ValueError, not InstanceClosed.
    instance = await beamr.start(wasm("calling"))
    await beamr.stop(instance)
    for attempt in (
        lambda: io.read(instance, value, 1),
        lambda: io.read(instance, 0, value),
        lambda: io.write(instance, value, b"x"),
        lambda: io.read_string(instance, value),
        lambda: io.malloc(instance, value),
        lambda: io.free(instance, value),
    ):
        with pytest.raises(error):
            await attempt()


async def test_io_rejects_bad_data_and_instances() -> None:
    instance = await beamr.start(wasm("calling"))
    try:
        for data in ("text", 5, None, [1, 2]):
            with pytest.raises(TypeError):
                await io.write(instance, 0, data)  # type: ignore[arg-type]
        for data in (5, None, [1]):
            with pytest.raises(TypeError):
                await io.write_string(instance, data)  # type: ignore[arg-type]
        for with_nul in ("a\0b", b"\0", bytearray(b"x\0")):
            with pytest.raises(ValueError, match="NUL"):
                await io.write_string(instance, with_nul)
        with pytest.raises(ValueError):
            await io.read_string(instance, 0, chunk_size=0)
        with pytest.raises(TypeError):
            await io.size("not an instance")  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            await beamr.call(object(), "fac", [1.0])  # type: ignore[arg-type]
    finally:
        await beamr.stop(instance)
    with pytest.raises(beamr.InstanceClosed):
        await io.size(instance)


async def test_grow_makes_room_within_the_maximum_and_never_shrinks() -> None:
    """The protocol's ``grow`` (what a move to another node restores memory with)."""
    from beamr import protocol as p

    async with await beamr.start(wasm("edge")) as instance:  # 1 page, at most 64
        assert await instance.request(p.Grow(3 * 65536 + 1)) == 4 * 65536
        assert await io.size(instance) == 4 * 65536
        assert await instance.request(p.Grow(100)) == 4 * 65536
        with pytest.raises(beamr.OutOfBounds, match="cannot grow"):
            await instance.request(p.Grow(65 * 65536))
        assert await io.size(instance) == 4 * 65536
    async with await beamr.start(wasm("fac")) as instance:  # no memory at all
        with pytest.raises(beamr.OutOfBounds, match="no memory"):
            await instance.request(p.Grow(1))
