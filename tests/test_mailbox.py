"""The instance's mailbox lock: free costs nothing, busy is FIFO, cancellation safe."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest

from beamr._lock import FairLock

pytestmark = pytest.mark.anyio


async def test_waiters_are_served_in_order_one_at_a_time() -> None:
    box = FairLock()
    order: list[int] = []
    inside = 0

    async def use(n: int) -> None:
        nonlocal inside
        async with box:
            inside += 1
            assert inside == 1
            order.append(n)
            await anyio.lowlevel.checkpoint()
            inside -= 1

    async with anyio.create_task_group() as tg:
        async with box:  # held: everyone queues in the order they arrive
            for n in range(10):
                tg.start_soon(use, n)
                await anyio.wait_all_tasks_blocked()
            assert order == []
    assert order == list(range(10))
    assert not box.locked()


async def run_waiters(box: FairLock, cancel_before_release: bool) -> list[str]:
    got: list[str] = []
    scopes: dict[str, anyio.CancelScope] = {}
    with anyio.fail_after(5):  # a lost handover would hang the group: fail instead
        await _run(box, cancel_before_release, got, scopes)
    return got


async def _run(
    box: FairLock,
    cancel_before_release: bool,
    got: list[str],
    scopes: dict[str, anyio.CancelScope],
) -> None:

    async def waiter(name: str) -> None:
        with anyio.CancelScope() as scope:
            scopes[name] = scope
            async with box:
                got.append(name)

    async with anyio.create_task_group() as tg:
        async with box:
            tg.start_soon(waiter, "a")
            await anyio.wait_all_tasks_blocked()
            tg.start_soon(waiter, "b")
            await anyio.wait_all_tasks_blocked()
            scopes["a"].cancel()
            if cancel_before_release:
                await anyio.wait_all_tasks_blocked()  # "a" has left the queue
        # released here: with the cancel still pending, "a" may be handed the box


async def test_a_cancelled_waiter_leaves_the_queue() -> None:
    box = FairLock()
    assert await run_waiters(box, cancel_before_release=True) == ["b"]
    assert not box.locked()


async def test_a_waiter_cancelled_as_it_is_handed_the_box_passes_it_on() -> None:
    box = FairLock()
    got = await run_waiters(box, cancel_before_release=False)
    assert got[-1] == "b"  # never lost: the next in line gets it
    assert not box.locked()
    async with box:  # and it is free
        pass
