"""No zombie, no leaked descriptor, no orphan: after stop, after a crash, after a
cancelled start, when an instance is dropped, and when the event loop ends."""

from __future__ import annotations

import gc
import os
import resource
import select
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import anyio
import pytest

import beamr
from beamr import _forkserver, _spawn, io

from .conftest import FIXTURES, child_pids, gone, open_fds, wasm

pytestmark = pytest.mark.anyio

ROGUE = str(Path(__file__).with_name("rogue_worker.py"))


async def test_stop_escalates_to_sigkill(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_spawn, "WORKER_COMMAND", (sys.executable, ROGUE, "stubborn"))
    monkeypatch.setattr("beamr.instance.STOP_GRACE", 0.2)
    instance = await beamr.start(wasm("fac"))
    pid = instance.pid
    with anyio.fail_after(5):
        await beamr.stop(instance)
    assert pid not in child_pids()
    assert instance._process.returncode == -signal.SIGKILL


async def test_cancelled_start_leaves_nothing() -> None:
    before_fds, before_children = open_fds(), child_pids()
    for delay in (0.0, 0.005, 0.02, 0.05):
        with anyio.move_on_after(delay):
            instance = await beamr.start(wasm("calling"))
            await beamr.stop(instance)
    assert gone(child_pids() - before_children)
    assert open_fds() == before_fds


async def test_crash_releases_everything() -> None:
    before_fds = open_fds()
    instance = await beamr.start(wasm("edge"))
    os.kill(instance.pid, signal.SIGKILL)
    with pytest.raises(beamr.WorkerCrashed):
        await io.size(instance)
    assert gone(instance.pid)  # reaped, no zombie left
    assert open_fds() == before_fds  # descriptors closed before stop
    await beamr.stop(instance)  # still fine, and does nothing more


async def test_dropped_instance_is_killed_and_reaped() -> None:
    instance = await beamr.start(wasm("fac"))
    pid = instance.pid
    del instance
    gc.collect()
    assert gone(pid)
    assert not os.path.exists(f"/proc/{pid}")  # noqa: ASYNC240 - /proc, no disk io


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_event_loop_ending_with_open_instances_leaves_no_orphan(backend: str) -> None:
    script = textwrap.dedent(
        f"""
        import anyio, beamr
        kept = []
        async def main():
            binary = open({str(FIXTURES / "edge.wasm")!r}, "rb").read()
            for _ in range(3):
                kept.append(await beamr.start(binary))
            print(" ".join(str(i.pid) for i in kept), flush=True)
            await beamr.call(kept[0], "noop", [])
        anyio.run(main, backend={backend!r})
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    pids = [int(pid) for pid in done.stdout.split()]
    assert len(pids) == 3
    for pid in pids:
        assert not os.path.exists(f"/proc/{pid}"), f"worker {pid} outlived its parent"


def test_parent_killed_leaves_no_orphan() -> None:
    """A parent that dies without any cleanup: its workers notice and exit."""
    script = textwrap.dedent(
        f"""
        import os, signal, anyio, beamr
        async def main():
            binary = open({str(FIXTURES / "edge.wasm")!r}, "rb").read()
            a = await beamr.start(binary)
            b = await beamr.start(binary)
            print(a.pid, b.pid, flush=True)
            async with anyio.create_task_group() as tg:
                tg.start_soon(beamr.call, a, "spin", [])  # one of them mid-runaway
                await anyio.sleep(0.2)
                os.kill(os.getpid(), signal.SIGKILL)
        anyio.run(main)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == -signal.SIGKILL
    pids = [int(pid) for pid in done.stdout.split()]
    assert len(pids) == 2
    for pid in pids:
        # Reparented to init, they exit as soon as they see EOF on their pipes.
        assert exits_within(pid, 10), f"worker {pid} outlived its dead parent"


def exits_within(pid: int, seconds: float) -> bool:
    """Wait for a process that is not our child (no waitpid) through a pidfd."""
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        readable, _, _ = select.select([pidfd], [], [], seconds)
        return bool(readable)
    finally:
        os.close(pidfd)


def test_start_and_stop_leave_no_process_and_no_descriptor_in_a_fresh_program() -> None:
    """A plain start forks from the fork-server, which starts then; once the instance
    is stopped, the fork-server exits by itself after its idle time, and the program
    is left as it was: no process, no descriptor."""
    script = textwrap.dedent(
        f"""
        import glob, os, select, time, anyio, beamr
        from beamr import _forkserver

        def state():
            children = set()
            for path in glob.glob(f"/proc/{{os.getpid()}}/task/*/children"):
                children |= set(open(path).read().split())
            return len(os.listdir("/proc/self/fd")), children

        async def main():
            binary = open({str(FIXTURES / "edge.wasm")!r}, "rb").read()
            before = state()
            instance = await beamr.start(binary)
            assert type(instance._process).__name__ == "ForkedWorker"
            server = _forkserver.FORK_SERVER.pid
            pidfd = os.pidfd_open(server)
            await beamr.call(instance, "noop", [])
            await beamr.stop(instance)
            stopped = time.monotonic()
            # the fork-server's own exit, as an event (its pidfd turns readable)
            assert select.select([pidfd], [], [], _forkserver.IDLE_EXIT + 10)[0]
            idle = time.monotonic() - stopped
            os.close(pidfd)
            deadline = time.monotonic() + 5  # reaped by its thread a moment later
            while state() != before and time.monotonic() < deadline:
                time.sleep(0.005)
            assert state() == before, (state(), before)
            print(f"idle {{idle:.2f}}")

        anyio.run(main)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    idle = float(done.stdout.split()[1])
    assert _forkserver.IDLE_EXIT <= idle < _forkserver.IDLE_EXIT + 5


def test_the_fork_server_and_its_workers_end_with_the_program() -> None:
    """A program that exits with an instance still running leaves nothing behind."""
    script = textwrap.dedent(
        f"""
        import anyio, beamr
        from beamr import _forkserver

        async def main():
            binary = open({str(FIXTURES / "edge.wasm")!r}, "rb").read()
            instance = await beamr.start(binary)
            print(_forkserver.FORK_SERVER.pid, instance.pid, flush=True)

        anyio.run(main)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    for pid in map(int, done.stdout.split()):
        try:
            pidfd = os.pidfd_open(pid)
        except ProcessLookupError:
            continue  # gone already
        try:
            assert select.select([pidfd], [], [], 10)[0], f"process {pid} outlived the program"
        finally:
            os.close(pidfd)


def test_workers_exit_with_their_killed_parent_even_if_a_forked_child_lives_on() -> None:
    """Before, a child forked from the parent (multiprocessing's fork) inherited the
    interrupt pipes: after the parent was SIGKILLed, every worker and the fork-server
    ran on as long as that child lived, two of them spinning."""
    script = textwrap.dedent(
        f"""
        import os, signal, time, anyio, beamr
        from beamr import _forkserver, _workers

        async def main():
            binary = open({str(FIXTURES / "edge.wasm")!r}, "rb").read()
            spawned = await beamr.start(binary)
            with beamr.fork_server():  # held: its socket is inherited too
                forked = await beamr.start(binary)
                child = os.fork()
                if child == 0:  # holds what it inherited (but the test's pipes) a long time
                    devnull = os.open(os.devnull, os.O_WRONLY)
                    os.dup2(devnull, 1)
                    os.dup2(devnull, 2)
                    time.sleep(600)
                    os._exit(0)
                print(spawned.pid, forked.pid, _forkserver.FORK_SERVER.pid, child, flush=True)
                os.kill(os.getpid(), signal.SIGKILL)

        anyio.run(main)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    *ours, child = [int(pid) for pid in done.stdout.split()]
    try:
        assert len(ours) == 3
        assert os.path.exists(f"/proc/{child}")
        for pid in ours:  # two workers and the fork-server
            assert exits_within(pid, 5), f"process {pid} outlived its dead parent"
    finally:
        os.kill(child, signal.SIGKILL)  # the script's child: it is ours to end
    assert exits_within(child, 5)


def test_running_out_of_descriptors_is_a_clear_error() -> None:
    """The soft limit is raised to the hard one at import; past it, starting an
    instance says what ran out and what to do (before: a raw EMFILE at instance 254)."""
    script = textwrap.dedent(
        f"""
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
        import anyio, beamr
        assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == 64  # hard limit reached
        async def main():
            binary = open({str(FIXTURES / "edge.wasm")!r}, "rb").read()
            instances = []
            try:
                while True:
                    instances.append(await beamr.start(binary))
            except OSError as exc:
                print(len(instances), exc)
            finally:
                for instance in instances:
                    await beamr.stop(instance)
        anyio.run(main)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    count, _, message = done.stdout.strip().partition(" ")
    assert int(count) > 5
    assert "too many open files" in message
    assert "ulimit -n" in message
    raised = subprocess.run(
        [sys.executable, "-c", "import resource, beamr._workers; "
         "print(*resource.getrlimit(resource.RLIMIT_NOFILE))"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    soft, hard = map(int, raised.stdout.split())
    assert soft == hard or hard == resource.RLIM_INFINITY
