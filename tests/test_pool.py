"""beamr.Pool: warm instances of one module, checked out one task at a time."""

from __future__ import annotations

import os
import signal

import anyio
import anyio.lowlevel
import pytest

import beamr
from beamr import io

from .conftest import child_pids, exited, gone, wasm

pytestmark = pytest.mark.anyio


async def wait_idle(pool: beamr.Pool, count: int) -> None:
    with anyio.fail_after(10):
        while pool.idle < count:  # noqa: ASYNC110 - a condition, polled with a deadline
            await anyio.sleep(0.005)


async def test_instances_are_warm_before_the_first_checkout() -> None:
    before = child_pids()
    async with beamr.Pool(wasm("edge"), size=3) as pool:
        await wait_idle(pool, 3)
        assert len(child_pids() - before) == 3
        async with pool.instance() as instance:
            assert instance.pid in child_pids()
            assert await beamr.call(instance, "id_i32", [7]) == [7]
    assert gone(child_pids() - before)


async def test_each_checkout_gets_a_fresh_instance_by_default() -> None:
    async with beamr.Pool(wasm("edge"), size=2) as pool:
        pids = []
        for _ in range(4):
            async with pool.instance() as instance:
                pids.append(instance.pid)
                # nothing the previous request left behind is visible
                assert await io.read(instance, 100, 5) == b"\0" * 5
                await io.write(instance, 100, b"dirty")
        assert len(set(pids)) == 4
        with anyio.fail_after(10):
            await exited(set(pids))  # each stopped once returned, in the background
    assert gone(set(pids))  # and reaped: the pool waited for its stops


async def test_max_uses_reuses_then_replaces() -> None:
    async with beamr.Pool(wasm("edge"), size=1, max_uses=3) as pool:
        pids = []
        for _ in range(6):
            async with pool.instance() as instance:
                pids.append(instance.pid)
        assert pids[0] == pids[1] == pids[2] != pids[3]
        assert pids[3] == pids[4] == pids[5]


async def test_a_crashed_instance_is_replaced() -> None:
    async with beamr.Pool(wasm("edge"), size=1, max_uses=None) as pool:
        async with pool.instance() as instance:
            victim = instance.pid
            os.kill(victim, signal.SIGKILL)
            with pytest.raises(beamr.WorkerCrashed):
                await io.size(instance)
        async with pool.instance() as instance:
            assert instance.pid != victim
            assert await io.size(instance) == 65536


async def test_an_instance_that_died_while_idle_is_skipped() -> None:
    async with beamr.Pool(wasm("edge"), size=1, max_uses=None) as pool:
        async with pool.instance() as instance:
            first = instance
        os.kill(first.pid, signal.SIGKILL)
        with pytest.raises(beamr.WorkerCrashed):  # the pool sees it at the next checkout
            await io.size(first)
        async with pool.instance() as instance:
            assert instance is not first
            assert await io.size(instance) == 65536


@pytest.mark.parametrize("how", ["exception", "cancel", "timeout"])
async def test_an_instance_left_mid_way_is_discarded(how: str) -> None:
    limits = beamr.Limits(call_timeout=0.2) if how == "timeout" else None
    async with beamr.Pool(wasm("edge"), size=1, max_uses=None, limits=limits) as pool:
        used: list[beamr.Instance] = []

        async def use() -> None:
            async with pool.instance() as instance:
                used.append(instance)
                if how == "exception":
                    raise RuntimeError("request failed")
                await beamr.call(instance, "spin", [])

        if how == "exception":
            with pytest.raises(RuntimeError):
                await use()
        elif how == "cancel":
            with anyio.move_on_after(0.2):
                await use()
        else:
            with pytest.raises(beamr.CallTimeout):
                await use()
        assert used[0].closed
        async with pool.instance() as instance:
            assert instance is not used[0]
            assert await beamr.call(instance, "id_i32", [1]) == [1]


async def test_many_tasks_share_a_small_pool() -> None:
    in_use: set[int] = set()
    served: list[int] = []

    async def request(n: int) -> None:
        async with pool.instance() as instance:
            assert instance.pid not in in_use  # one task at a time per instance
            in_use.add(instance.pid)
            assert await beamr.call(instance, "id_i32", [n]) == [n]
            await anyio.lowlevel.checkpoint()
            in_use.discard(instance.pid)
            served.append(n)

    async with beamr.Pool(wasm("edge"), size=4, max_uses=5) as pool:
        async with anyio.create_task_group() as tg:
            for n in range(20):
                tg.start_soon(request, n)
    assert sorted(served) == list(range(20))


async def test_an_invalid_module_fails_when_the_pool_opens() -> None:
    before = child_pids()
    with pytest.raises(beamr.InvalidModule):
        async with beamr.Pool(wasm("bad"), size=2):
            pass
    assert gone(child_pids() - before)


async def test_closing_stops_everything_and_refuses_checkouts() -> None:
    before = child_pids()
    async with beamr.Pool(wasm("edge"), size=3) as pool:
        await wait_idle(pool, 3)
        async with pool.instance() as held:
            await pool.aclose()
            assert pool.idle == 0
            assert await io.size(held) == 65536  # still usable until returned
        assert held.closed
        with pytest.raises(beamr.InstanceClosed):
            async with pool.instance():
                pass
    assert gone(child_pids() - before)


async def test_a_cancelled_checkout_loses_nothing() -> None:
    """Checkouts cancelled while waiting for the next instance to start: none of the
    instances started meanwhile is lost; the pool ends with exactly ``size`` idle."""
    before = child_pids()
    async with beamr.Pool(wasm("edge"), size=2) as pool:
        await wait_idle(pool, 2)
        async with pool.instance(), pool.instance():  # the idle set is empty now
            for delay in (0.0, 0.001, 0.003, 0.01):
                with anyio.move_on_after(delay):
                    async with pool.instance():
                        pass
        await wait_idle(pool, 2)
        with anyio.fail_after(10):
            while len(child_pids() - before) != 2:  # noqa: ASYNC110 - workers still stopping
                await anyio.sleep(0.005)
        assert pool.idle == 2


async def test_arguments_are_checked() -> None:
    with pytest.raises(TypeError):
        beamr.Pool("text")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        beamr.Pool(wasm("edge"), size=0)
    with pytest.raises(TypeError):
        beamr.Pool(wasm("edge"), size=2.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        beamr.Pool(wasm("edge"), max_uses=0)
    with pytest.raises(RuntimeError):
        async with beamr.Pool(wasm("edge")).instance():
            pass


async def test_a_worker_killed_while_idle_is_never_handed_out() -> None:
    """Before, an idle instance whose worker had died was checked out, and its first
    call raised WorkerCrashed."""
    async with beamr.Pool(wasm("edge"), size=1, max_uses=None) as pool:
        async with pool.instance() as instance:
            first = instance
        exited = os.pidfd_open(first.pid)
        try:
            os.kill(first.pid, signal.SIGKILL)
            with anyio.fail_after(10):
                await anyio.wait_readable(exited)  # the worker has exited (not reaped)
        finally:
            os.close(exited)
        assert not first.usable
        async with pool.instance() as instance:
            assert instance is not first
            assert await io.size(instance) == 65536  # its first call works


async def test_cancelled_checkouts_leave_no_traceback_on_stderr(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before, a worker whose parent reset the connection printed a
    ConnectionResetError traceback on the parent's stderr."""
    from beamr import _forkserver

    _forkserver.FORK_SERVER.shutdown()  # a fork-server of this test's: its stderr is captured
    async with beamr.Pool(wasm("edge"), size=4) as pool:
        for round_ in range(20):
            with anyio.move_on_after(0.001 * (round_ % 5)):
                async with pool.instance() as instance:
                    await beamr.call(instance, "spin", [])
    captured = capfd.readouterr()
    assert "Traceback" not in captured.err, captured.err
