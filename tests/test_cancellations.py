"""Cancelling any await interrupts the wasm; the instance stays usable, and no stale
reply is ever taken for a later command's."""

from __future__ import annotations

from typing import Any

import anyio
import anyio.abc
import pytest

import beamr
from beamr import io

from .conftest import record_error, wasm

pytestmark = pytest.mark.anyio


async def counter(instance: beamr.Instance) -> int:
    return int.from_bytes(await io.read(instance, 0, 4), "little")


async def test_cancel_scope_interrupts_a_runaway_call() -> None:
    async with await beamr.start(wasm("edge")) as instance:
        await io.write(instance, 64, b"intact")
        for _ in range(3):
            with anyio.move_on_after(0.2) as scope:
                await beamr.call(instance, "spin_counting", [0])
            assert scope.cancelled_caught
            # the stale reply of the interrupted call is drained, never misread:
            assert await beamr.call(instance, "id_i32", [12345]) == [12345]
            assert await io.read(instance, 64, 6) == b"intact"
        # and the wasm really stopped: the counter no longer moves
        first = await counter(instance)
        assert await beamr.call(instance, "noop", []) == []
        assert await counter(instance) == first


async def test_cancel_while_a_handler_waits_forever() -> None:
    started = anyio.Event()

    async def stuck(w: beamr.Instance, x: int) -> int:
        started.set()
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    handlers = {"env": {"i32_to_i32": stuck, "f64_to_f64": lambda w, x: x * 2}}
    async with await beamr.start(wasm("imports"), imports=handlers) as instance:
        with anyio.move_on_after(5) as scope:
            async with anyio.create_task_group() as tg:

                async def cancel_when_stuck() -> None:
                    await started.wait()
                    tg.cancel_scope.cancel()

                tg.start_soon(cancel_when_stuck)
                await beamr.call(instance, "call_i32", [1])
        assert not scope.cancelled_caught  # cancelled by the task group, not the timeout
        assert await beamr.call(instance, "call_f64", [2.0]) == [4.0]
        assert await io.size(instance) == 65536


async def test_cancel_a_nested_call_inside_a_handler() -> None:
    async def host_string(w: beamr.Instance) -> int:
        with anyio.move_on_after(0.2) as scope:
            await beamr.call(w, "spin_forever_nested", [])  # not exported: fails fast
        assert not scope.cancelled_caught
        return 0

    async def host_mul(w: beamr.Instance, a: int, b: int) -> int:
        # a nested call that runs away, cancelled; the handler carries on
        with anyio.move_on_after(0.2) as scope:
            await beamr.call(w, "log_greeting", [await io.write_string(w, "loop")])
        assert scope.cancelled_caught
        ptr = await io.write_string(w, "after")  # nested io still fine
        assert await io.read_string(w, ptr) == b"after"
        return a * b

    async def host_log(w: beamr.Instance, ptr: int) -> None:
        await anyio.sleep_forever()

    handlers = {"env": {"host_mul": host_mul, "host_log": host_log, "host_string": host_string}}
    async with await beamr.start(wasm("calling"), imports=handlers) as instance:
        assert await beamr.call(instance, "mul_via_host", [6, 7]) == [42]
        assert await beamr.call(instance, "add", [1, 1]) == [2]


async def test_stop_during_a_runaway_call() -> None:
    running = anyio.Event()
    handlers = {"env": {"ready": lambda w: running.set()}}
    instance = await beamr.start(wasm("ready_spin"), imports=handlers)
    pid = instance.pid
    outcome: list[BaseException] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(record_error, outcome, beamr.call, instance, "spin", [])
        await running.wait()  # the wasm is in its endless loop now
        await beamr.stop(instance)
    assert isinstance(outcome[0], beamr.InstanceClosed)
    assert not await anyio.Path(f"/proc/{pid}").exists()


async def test_timeout_variants_of_each_event_loop(anyio_backend: str) -> None:
    async with await beamr.start(wasm("edge")) as instance:
        if anyio_backend == "asyncio":
            import asyncio

            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.2):
                    await beamr.call(instance, "spin", [])
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(beamr.call(instance, "spin", []), 0.2)
        else:
            import trio

            with trio.move_on_after(0.2) as scope:
                await beamr.call(instance, "spin", [])
            assert scope.cancelled_caught
        assert await beamr.call(instance, "div", [10, 5]) == [2]


# ---------------------------------------------- handlers, nesting and cancellation


async def test_handler_returns_right_after_cancelling_a_nested_call() -> None:
    """The outer import's answer must reach the outer call, not the abandoned nested
    one (whose own import is still pending)."""

    async def host_log(w: beamr.Instance, ptr: int) -> None:
        await anyio.sleep_forever()

    async def host_mul(w: beamr.Instance, a: int, b: int) -> int:
        with anyio.move_on_after(0.1) as scope:
            await beamr.call(w, "log_greeting", [await io.write_string(w, "x")])
        assert scope.cancelled_caught
        return a * b  # straight back, nothing else in between

    handlers = {"env": {"host_mul": host_mul, "host_log": host_log}}
    async with await beamr.start(wasm("calling"), imports=handlers) as instance:
        assert await beamr.call(instance, "mul_via_host", [6, 7]) == [42]
        assert await beamr.call(instance, "add", [2, 3]) == [5]


async def test_task_started_by_a_handler_outlives_it() -> None:
    """It uses the instance after the handler returned: it waits its turn, no mixup."""
    results: list[object] = []
    groups: list[anyio.abc.TaskGroup] = []

    async def later(w: beamr.Instance) -> None:
        size = await io.size(w)
        results.append((size, await beamr.call(w, "add", [2, 3])))

    async def host_mul(w: beamr.Instance, a: int, b: int) -> int:
        groups[0].start_soon(later, w)
        await io.size(w)  # meanwhile `later` queues behind us at this nesting level
        return a * b

    async with await beamr.start(wasm("calling"), imports={"env": {"host_mul": host_mul}}) as inst:
        async with anyio.create_task_group() as tg:
            groups.append(tg)
            for _ in range(5):
                assert await beamr.call(inst, "mul_via_host", [6, 7]) == [42]
        # the task group waited for every `later`
    # (the `later` tasks may run in any order among themselves; each gets its own replies)
    assert results == [(131072, [5])] * 5


async def test_cancelled_call_while_a_handlers_task_is_mid_nested_call() -> None:
    """Recovery waits for that task instead of reading the stream alongside it."""
    outcomes: list[str] = []

    async with anyio.create_task_group() as tg:

        async def nested(w: beamr.Instance) -> None:
            try:
                await beamr.call(w, "spin", [])
            except beamr.Trap as exc:
                outcomes.append(f"nested {exc.code}")

        calls = {"ready": 0}

        async def ready(w: beamr.Instance) -> None:
            calls["ready"] += 1
            if calls["ready"] == 1:
                tg.start_soon(nested, w)
                await anyio.sleep_forever()

        async with await beamr.start(wasm("ready_spin"), imports={"env": {"ready": ready}}) as inst:
            with anyio.move_on_after(0.3):
                await beamr.call(inst, "spin", [])
            assert await beamr.call(inst, "noop", []) == []
            assert await beamr.call(inst, "noop", []) == []
    assert outcomes == ["nested interrupt"]


@pytest.mark.parametrize("from_child_task", [False, True])
async def test_instances_calling_each_other_through_handlers(from_child_task: bool) -> None:
    """A's handler calls B; B's handler uses A, which is suspended in its import."""
    a: beamr.Instance | None = None

    async def b_handler(w: beamr.Instance, x: int, y: int) -> int:
        assert a is not None
        if from_child_task:
            out: list[int] = []
            async with anyio.create_task_group() as tg:

                async def use_a() -> None:
                    assert a is not None
                    out.append(int((await beamr.call(a, "add", [x, y]))[0]))

                tg.start_soon(use_a)
            return out[0] - x - y + x * y
        (total,) = await beamr.call(a, "add", [x, y])  # A is mid-call: re-entrancy
        return int(total) - x - y + x * y

    async def a_mul(w: beamr.Instance, x: int, y: int) -> int:
        (product,) = await beamr.call(b, "pow", [x, 1])  # B calls b_handler -> A
        return int(product) * y

    async with await beamr.start(wasm("pow"), imports={"my_lib": {"mul": b_handler}}) as b:
        async with await beamr.start(wasm("calling"), imports={"env": {"host_mul": a_mul}}) as a:
            assert await beamr.call(a, "mul_via_host", [6, 7]) == [42]


async def test_stop_releases_a_call_whose_handler_never_returns() -> None:
    """Before, stop returned and the worker was gone, yet the call stayed blocked in
    its handler, and a command queued behind it got InstanceClosed only seconds later."""
    entered = anyio.Event()
    outcomes: dict[str, BaseException] = {}

    async def forever(instance: beamr.Instance, value: int) -> int:
        entered.set()
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    ended = {"call": anyio.Event(), "queued": anyio.Event()}

    async def attempt(name: str, operation: Any) -> None:
        try:
            await operation
        except beamr.BeamrError as exc:
            outcomes[name] = exc
        finally:
            ended[name].set()

    instance = await beamr.start(wasm("imports"), imports={"env": {"i32_to_i32": forever}})
    async with anyio.create_task_group() as tg:
        tg.start_soon(attempt, "call", beamr.call(instance, "call_i32", [1]))
        await entered.wait()
        tg.start_soon(attempt, "queued", io.size(instance))
        await anyio.wait_all_tasks_blocked()
        await beamr.stop(instance)
        with anyio.fail_after(2):  # both end now, not when something times out
            await ended["call"].wait()
            await ended["queued"].wait()
    assert isinstance(outcomes["call"], beamr.InstanceClosed)
    assert isinstance(outcomes["queued"], beamr.InstanceClosed)
