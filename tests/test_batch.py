"""io.batch: several commands in one round trip, run in order, with references."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import beamr
from beamr import io
from beamr import protocol as p
from beamr.io import Op

from .conftest import wasm

pytestmark = pytest.mark.anyio

CALLING = wasm("calling")


async def test_write_call_read_in_one_round_trip(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[str] = []
    async with await beamr.start(CALLING, wasi=True) as instance:
        original = instance.request

        async def counting(command: p.Command[Any], **kwargs: Any) -> Any:
            sent.append(command.KIND)
            return await original(command, **kwargs)

        monkeypatch.setattr(instance, "request", counting)
        pointer = await io.malloc(instance, 16)
        sent.clear()
        results = await io.batch(
            instance,
            [
                Op.write(pointer, b"hello\0"),
                Op.call("str_upper", [pointer]),
                Op.read(pointer, 6),
                Op.size(),
            ],
        )
        assert results == [None, [pointer], b"HELLO\0", 131072]
        assert sent == ["batch"]


async def test_references_carry_a_pointer_into_later_ops(start_mode: str) -> None:
    async with await beamr.start(wasm("ao_process"), wasi=True) as instance:
        msg, env = Op.write_string(b"hello"), Op.write_string("{}")
        out = Op.call("handle", [msg, env])
        msg_ptr, env_ptr, reply, text = await io.batch(
            instance, [msg, env, out, Op.read_string(out)]
        )
        assert text == b"count=1 len=5"
        assert await io.read_string(instance, msg_ptr) == b"hello"
        assert await io.read_string(instance, env_ptr) == b"{}"
        assert reply == [int(reply[0])]


async def test_the_first_failure_ends_the_batch_with_its_index() -> None:
    async with await beamr.start(CALLING, wasi=True) as instance:
        pointer = await io.malloc(instance, 8)
        await io.write(instance, pointer, b"before\0\0")
        with pytest.raises(beamr.OutOfBounds) as caught:
            await io.batch(
                instance,
                [Op.size(), Op.read(1 << 40, 4), Op.write(pointer, b"after\0")],
            )
        assert caught.value.batch_index == 1  # type: ignore[attr-defined]
        assert caught.value.batch_results == [131072]  # type: ignore[attr-defined]
        assert await io.read(instance, pointer, 7) == b"before\0"  # the write never ran


@pytest.mark.parametrize(
    ("ops", "error"),
    [
        ([Op.call("unreachable_export_nobody_has", [])], beamr.ExportNotFound),
        (
            [Op.call("fac", [1.0]), Op.call("add", [1, 2]), Op.read_string(1 << 30)],
            beamr.OutOfBounds,
        ),
        ([Op.free(0), Op.get_global("missing")], beamr.ExportNotFound),
    ],
)
async def test_errors_are_what_the_single_op_raises(ops: list[Op], error: type[Exception]) -> None:
    async with await beamr.start(CALLING, wasi=True) as instance:
        with pytest.raises(error):
            await io.batch(instance, ops)
        assert await beamr.call(instance, "add", [2, 2]) == [4]  # usable after


async def test_ops_are_checked_before_anything_is_sent() -> None:
    later = Op.size()
    async with await beamr.start(CALLING, wasi=True) as instance:
        with pytest.raises(ValueError, match="before it"):
            await io.batch(instance, [Op.read(later, 4), later])
        twice = Op.size()
        with pytest.raises(ValueError, match="twice"):
            await io.batch(instance, [twice, twice])
        with pytest.raises(TypeError, match="takes 2 arguments"):
            await io.batch(instance, [Op.call("add", [1])])
        with pytest.raises(TypeError, match="float"):
            await io.batch(instance, [Op.call("fac", [Op.size()])])
        with pytest.raises(ValueError, match="reads hold"):
            await io.batch(instance, [Op.read(0, 5 << 20), Op.read(0, 5 << 20)])
        with pytest.raises(TypeError):
            await io.batch(instance, [Op.size(), "size"])  # type: ignore[list-item]
        with pytest.raises(ValueError, match="out of range"):
            await io.batch(instance, [Op.call("add", [1 << 40, 1])])
    with pytest.raises(TypeError):
        Op.read(-1.0, 4)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Op.read(0, -4)
    with pytest.raises(ValueError, match="NUL"):
        Op.write_string(b"a\0b")
    with pytest.raises(TypeError):
        Op.write(0, "text")  # type: ignore[arg-type]


async def test_an_empty_batch_is_nothing() -> None:
    async with await beamr.start(CALLING, wasi=True) as instance:
        assert await io.batch(instance, []) == []


async def test_a_failing_malloc_is_malloc_failed() -> None:
    async with await beamr.start(wasm("edge")) as instance:  # its malloc returns 0
        with pytest.raises(beamr.MallocFailed) as caught:
            await io.batch(instance, [Op.size(), Op.write_string("x")])
        assert caught.value.batch_index == 1  # type: ignore[attr-defined]


async def test_a_runaway_call_in_a_batch_times_out_and_the_instance_lives() -> None:
    limits = beamr.Limits(call_timeout=0.5)
    async with await beamr.start(wasm("edge"), limits=limits) as instance:
        with pytest.raises(beamr.CallTimeout):
            await io.batch(instance, [Op.size(), Op.call("spin", []), Op.size()])
        assert await io.batch(instance, [Op.call("div", [84, 2])]) == [[42]]


async def test_cancelling_a_batch_interrupts_it() -> None:
    running = anyio.Event()
    handlers = {"env": {"ready": lambda instance: running.set()}}
    async with await beamr.start(wasm("ready_spin"), imports=handlers) as instance:
        async with anyio.create_task_group() as tg:
            tg.start_soon(io.batch, instance, [Op.size(), Op.call("spin", [])])
            await running.wait()
            tg.cancel_scope.cancel()
        assert await io.batch(instance, [Op.call("noop", [])]) == [[]]


async def test_each_call_in_a_batch_gets_its_own_fuel() -> None:
    """fib(90) needs a few hundred units: ten of them fit only if each has its own."""
    limits = beamr.Limits(fuel=1000)
    async with await beamr.start(CALLING, wasi=True, limits=limits) as instance:
        calls = [Op.call("fib", [90]) for _ in range(10)]
        assert await io.batch(instance, calls) == [[2880067194370816120]] * 10
        with pytest.raises(beamr.Trap, match="fuel"):
            await io.batch(instance, [Op.call("fib", [90]), Op.call("sum_bytes", [0, 100_000])])


async def test_a_handler_may_use_the_instance_during_a_batch() -> None:
    async def host_log(instance: beamr.Instance, pointer: int) -> None:
        logged.append(await io.read_string(instance, pointer))

    logged: list[bytes] = []
    async with await beamr.start(CALLING, imports={"env": {"host_log": host_log}}, wasi=True) as w:
        name = Op.write_string("batch")
        results = await io.batch(w, [name, Op.call("log_greeting", [name])])
        assert results[1] == [len("Hello, batch!")]
        assert logged == [b"Hello, batch!"]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("w"), st.integers(0, 4000), st.binary(min_size=1, max_size=64)),
            st.tuples(st.just("r"), st.integers(0, 4000), st.integers(0, 64)),
        ),
        min_size=1,
        max_size=20,
    )
)
async def test_a_batch_of_reads_and_writes_matches_a_model(
    steps: list[tuple[str, int, Any]],
) -> None:
    model = bytearray(4096 + 64)
    ops: list[Op] = []
    expected: list[Any] = []
    for kind, offset, arg in steps:
        if kind == "w":
            ops.append(Op.write(offset, arg))
            model[offset : offset + len(arg)] = arg
            expected.append(None)
        else:
            ops.append(Op.read(offset, arg))
            expected.append(bytes(model[offset : offset + arg]))
    async with await beamr.start(wasm("test_print")) as instance:
        await io.write(instance, 0, bytes(4096 + 64))
        assert await io.batch(instance, ops) == expected
