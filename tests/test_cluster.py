"""beamr.cluster on a real two-node Ray cluster on this machine.

The cluster listens on loopback only: these tests run in a private network namespace
(``make test`` runs this file through ``python -m tests.private_network``) and skip,
saying why, anywhere else or without Ray.
"""

from __future__ import annotations

import os
import pickle
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import pytest

import beamr
from beamr import io

from .conftest import FIXTURES, exited, wasm
from .private_network import private_network

pytestmark = [pytest.mark.anyio, pytest.mark.private_network]

_REASON = private_network()
if _REASON is not None:
    pytest.skip(
        f"the cluster tests run in a private network namespace ({_REASON}); "
        "make test runs them through python -m tests.private_network",
        allow_module_level=True,
    )
ray = pytest.importorskip("ray", reason='Ray is not installed (pip install "beamr[ray]")')
from ray.cluster_utils import Cluster  # noqa: E402

from beamr import cluster  # noqa: E402

NODE_ARGS: dict[str, Any] = {
    "num_cpus": 1,
    "node_ip_address": "127.0.0.1",
    "object_store_memory": 128 << 20,
}


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[Cluster]:
    """Two nodes (the head and one more), this process connected as the driver."""
    tmp = tempfile.mkdtemp(prefix="br", dir="/tmp")  # short: Ray's socket paths
    ours = {"RAY_TMPDIR": tmp, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}
    saved = {key: os.environ.get(key) for key in ours}
    os.environ.update(ours)
    head = {**NODE_ARGS, "include_dashboard": False, "_system_config": cluster.HEALTH_CHECKS}
    made = Cluster(initialize_head=True, head_node_args=head)
    try:
        made.add_node(**NODE_ARGS)
        made.wait_for_nodes()
        ray.init(address=made.address, logging_level="warning")
        yield made
    finally:
        ray.shutdown()
        made.shutdown()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
async def c(ray_cluster: Cluster) -> AsyncIterator[cluster.Cluster]:
    async with await cluster.connect() as connection:
        yield connection


@pytest.fixture(autouse=True)
def no_leaked_workers() -> None:
    """(Overrides conftest's: this process is the parent of the Ray cluster's own
    daemons. Workers on the nodes are checked by the tests themselves, and whatever
    the run leaves in its network namespace by ``tests.private_network``.)"""
    return


def ancestors(pid: int) -> list[int]:
    found = []
    while pid > 1:
        with open(f"/proc/{pid}/status") as f:
            pid = next(int(line.split()[1]) for line in f if line.startswith("PPid:"))
        found.append(pid)
    return found


def status_field(pid: int, name: str) -> str:
    with open(f"/proc/{pid}/status") as f:
        return next(line.split()[1] for line in f if line.startswith(f"{name}:"))


# ----------------------------------------------------------------- placement


async def test_instances_spread_over_the_nodes_in_turn(c: cluster.Cluster) -> None:
    nodes = c.nodes
    assert len(nodes) == 2
    instances = [await c.start(wasm("edge")) for _ in range(4)]
    try:
        placed = [i.node for i in instances]
        assert placed[0] != placed[1]
        assert placed[:2] == placed[2:]
        assert set(placed) == set(nodes)
        for instance in instances:
            # one sandboxed worker process per instance, under its node's host
            assert instance.host_pid in ancestors(instance.pid)
            assert status_field(instance.pid, "Seccomp") == "2"
            assert await io.size(instance) == 65536
        assert len({i.pid for i in instances}) == 4
        assert len({i.host_pid for i in instances}) == 2
        await instances[0].aclose()  # its node now has the fewest: the next goes there
        fifth = await c.start(wasm("edge"))
        instances.append(fifth)
        assert fifth.node == placed[0]
    finally:
        for instance in instances:
            await beamr.stop(instance)


async def test_start_on_a_chosen_node(c: cluster.Cluster) -> None:
    for node in c.nodes:
        async with await c.start(wasm("edge"), node=node) as instance:
            assert instance.node == node
    with pytest.raises(ValueError, match="no live node"):
        await c.start(wasm("edge"), node="f" * 56)


# ------------------------------------------------------ the same API, the same answers


async def _script(instance: Any) -> list[Any]:
    """Every module-level function, on a local or a remote instance alike."""
    out: list[Any] = [await io.size(instance)]
    await io.write(instance, 1024, b"remote bytes")
    out.append(await io.read(instance, 1024, 12))
    pointer = await io.write_string(instance, "a string")
    out.append(await io.read_string(instance, pointer))
    out.append(await beamr.call(instance, "str_upper", [pointer]))
    out.append(await io.read_string(instance, pointer))
    out.append(await beamr.call(instance, "add", [2, 40]))
    out.append(await beamr.call(instance, "fac", [10.0]))
    out.append(await beamr.call(instance, "fib", [50]))
    block = await io.malloc(instance, 64)
    await io.free(instance, block)
    ops = [io.Op.size(), io.Op.write(2048, b"xyz"), io.Op.read(2048, 3), io.Op.call("add", [1, 2])]
    out.append(await io.batch(instance, ops))
    snapshot = await beamr.serialize(instance)
    await io.write(instance, 0, b"\xff" * 16)
    await beamr.deserialize(instance, snapshot)
    out.append(await io.read(instance, 0, 16) == snapshot[:16])
    out.append(await beamr.call(instance, "print_hello", []))
    out.append(await instance.output())
    out.append([(e.kind, e.name, e.signature) for e in instance.exports])
    out.append(list(instance.imports))
    out.append(instance.signature("add"))
    return out


async def test_every_function_answers_as_on_a_local_instance(c: cluster.Cluster) -> None:
    handlers = {"env": {"host_mul": lambda w, a, b: a * b, "host_log": lambda w, p: None,
                        "host_string": lambda w: 0}}  # fmt: skip
    async with await beamr.start(wasm("calling"), imports=handlers, wasi=True) as local:
        expected = await _script(local)
    for node in c.nodes:
        async with await c.start(wasm("calling"), imports=handlers, wasi=True, node=node) as remote:
            assert await _script(remote) == expected


async def test_globals(c: cluster.Cluster) -> None:
    async with await c.start(wasm("edge")) as instance:
        assert await beamr.get_global(instance, "counter") == 0
        await beamr.set_global(instance, "counter", -7)
        assert await beamr.get_global(instance, "counter") == -7
        with pytest.raises(beamr.ExportNotFound):
            await beamr.get_global(instance, "nope")


# ----------------------------------------------------------------- errors


class Refused(Exception):
    """A handler's own exception, from this module (pickled by value to the node)."""

    def __init__(self, why: str, code: int) -> None:
        super().__init__(why)
        self.code = code


class Unpicklable(Exception):
    def __init__(self) -> None:
        super().__init__("holds a lock")
        self.lock = threading.Lock()


def refuse(w: Any, a: int, b: int) -> int:
    raise Refused("not today", 42)


def refuse_unpicklably(w: Any, a: int, b: int) -> int:
    raise Unpicklable()


async def _error_of(instance: Any, operation: str, *args: Any) -> BaseException:
    function = (
        getattr(io, operation[3:]) if operation.startswith("io.") else getattr(beamr, operation)
    )
    with pytest.raises(Exception) as caught:
        await function(instance, *args)
    return caught.value


ERRORS: list[tuple[Any, ...]] = [
    ("call", "unreachable", []),
    ("call", "div", [1, 0]),
    ("call", "nothing", []),
    ("call", "div", [1]),
    ("call", "div", [1, "2"]),
    ("call", "div", [2**40, 1]),
    ("io.read", 65530, 100),
    ("io.read", -1, 1),
    ("io.write", 70000, b"x"),
    ("io.read_string", 1 << 20),
    ("set_global", "counter", 1.5),
]


async def test_errors_cross_whole(c: cluster.Cluster) -> None:
    async with await beamr.start(wasm("edge")) as local, await c.start(wasm("edge")) as remote:
        for operation, *args in ERRORS:
            here = await _error_of(local, operation, *args)
            there = await _error_of(remote, operation, *args)
            assert type(there) is type(here), (operation, args)
            assert there.args == here.args
            assert vars(there) == vars(here)  # Trap.code and the like
        assert await beamr.call(remote, "div", [9, 3]) == [3]  # still usable


async def test_a_handlers_exception_is_the_cause(c: cluster.Cluster) -> None:
    async with await c.start(wasm("pow"), imports={"my_lib": {"mul": refuse}}) as instance:
        with pytest.raises(beamr.ImportHandlerError) as caught:
            await beamr.call(instance, "pow", [2, 3])
        cause: Any = caught.value.__cause__
        assert type(cause).__name__ == "Refused"
        assert cause.args == ("not today",)
        assert cause.code == 42
    bad = {"my_lib": {"mul": refuse_unpicklably}}
    async with await c.start(wasm("pow"), imports=bad) as instance:
        with pytest.raises(beamr.ImportHandlerError) as caught:
            await beamr.call(instance, "pow", [2, 3])
        assert isinstance(caught.value.__cause__, beamr.BeamrError)
        assert "Unpicklable: holds a lock" in str(caught.value.__cause__)


async def test_start_errors_cross(c: cluster.Cluster) -> None:
    async with await c.start(wasm("pow")) as instance:  # nobody answers my_lib.mul
        with pytest.raises(beamr.MissingImport) as caught:
            await beamr.call(instance, "pow", [2, 2])
        assert (caught.value.module, caught.value.name) == ("my_lib", "mul")
    with pytest.raises(beamr.InvalidModule):
        await c.start(wasm("bad"))
    with pytest.raises(TypeError):
        await c.start("not bytes")  # type: ignore[arg-type]
    lock = threading.Lock()
    with pytest.raises(TypeError, match="cannot be sent to a node"):
        await c.start(wasm("pow"), imports={"my_lib": {"mul": lambda w, a, b: lock and a * b}})


# ----------------------------------------------------------------- handlers


async def test_handlers_run_on_the_hosting_node_with_its_instance(c: cluster.Cluster) -> None:
    async def reads_memory(w: Any, x: int) -> int:
        # ``w`` is the local instance on the node: io and nested calls stay there
        assert isinstance(w, beamr.Instance)
        (value,) = await beamr.call(w, "call_f32", [0.5])  # nested, through f32_to_f32
        return int.from_bytes(await io.read(w, 0, 4), "little") + x + int(value)

    handlers = {
        "env": {
            "i32_to_i32": reads_memory,
            "f32_to_f32": lambda w, x: os.getpid(),
            "i64_to_i64": lambda w, x: os.getpid(),
            "f64_to_f64": lambda w, x: x,
            "pair": lambda w, x: (x, x),
            "void_fn": lambda w, x: None,
            "unused": lambda w: None,
        }
    }
    for node in c.nodes:
        async with await c.start(wasm("imports"), imports=handlers, node=node) as instance:
            assert await beamr.call(instance, "call_i64", [0]) == [instance.host_pid]
            await io.write(instance, 0, (1000).to_bytes(4, "little"))
            assert await beamr.call(instance, "call_i32", [5]) == [1005 + instance.host_pid]
    in_worker = {"my_lib": {"mul": "tests.hostfns:mul"}}
    async with await c.start(wasm("pow"), imports=in_worker) as instance:
        assert await beamr.call(instance, "pow", [3, 4]) == [81]


# ----------------------------------------------------------------- big io


async def test_large_io_goes_through_the_object_store(
    c: cluster.Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    put: list[Any] = []
    real_put = ray.put

    def spy(value: Any, **kw: Any) -> Any:
        put.append(value)
        return real_put(value, **kw)

    monkeypatch.setattr(ray, "put", spy)
    answers: list[Any] = []
    real_invoke = cluster.RemoteInstance.invoke

    async def invoke(self: Any, operation: str, args: tuple[Any, ...]) -> Any:
        answer = await real_invoke(self, operation, args)
        answers.append(answer)
        return answer

    monkeypatch.setattr(cluster.RemoteInstance, "invoke", invoke)
    data = os.urandom(3 << 20)
    async with await c.start(wasm("edge")) as instance:
        await beamr.call(instance, "grow", [60])
        await io.write(instance, 4096, data)
        assert any(isinstance(p, pickle.PickleBuffer) and len(p.raw()) == len(data) for p in put)
        answers.clear()
        assert await io.read(instance, 4096, len(data)) == data
        # an out-of-band buffer read from the object store, not bytes copied through
        # the actor call's reply
        assert not isinstance(answers[0], bytes)
        assert len(memoryview(answers[0])) == len(data)
        snapshot = await beamr.serialize(instance)
        assert snapshot[4096 : 4096 + len(data)] == data
        await beamr.deserialize(instance, bytes(len(snapshot)))
        assert await io.read(instance, 4096, 16) == bytes(16)


# ----------------------------------------------------------------- failures


class Signal:
    """A datagram socket the test waits on; :meth:`handler` makes an import handler
    (run on the node) that sends to it: "the wasm is running now", with no polling."""

    def __init__(self, directory: str) -> None:
        self.path = os.path.join(directory, "ready")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.setblocking(False)

    def handler(self) -> Any:
        path = self.path

        def ready(wasm: Any) -> None:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.sendto(b"!", path)

        return ready

    async def wait(self) -> None:
        await anyio.wait_readable(self.sock)
        self.sock.recv(16)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def signal_() -> Iterator[Signal]:
    made = Signal(tempfile.mkdtemp(prefix="brs", dir="/tmp"))  # short: a socket path
    yield made
    made.close()
    shutil.rmtree(os.path.dirname(made.path), ignore_errors=True)


async def test_a_dead_worker_raises_worker_crashed(c: cluster.Cluster) -> None:
    node = c.nodes[0]
    async with (
        await c.start(wasm("edge"), node=node) as doomed,
        await c.start(wasm("edge"), node=node) as neighbour,
    ):
        os.kill(doomed.pid, signal.SIGKILL)
        with anyio.fail_after(10), pytest.raises(beamr.WorkerCrashed):
            await beamr.call(doomed, "noop", [])
        assert await beamr.call(neighbour, "div", [8, 2]) == [4]


async def test_a_dead_host_fails_its_instances_promptly(
    c: cluster.Cluster, signal_: Signal
) -> None:
    victim_node, other_node = c.nodes
    ready = {"env": {"ready": signal_.handler()}}
    busy = await c.start(wasm("ready_spin"), imports=ready, node=victim_node)
    idle = await c.start(wasm("edge"), node=victim_node)
    elsewhere = await c.start(wasm("edge"), node=other_node)
    workers = {busy.pid, idle.pid}
    errors: list[BaseException] = []
    try:
        async with anyio.create_task_group() as tg:

            async def spin() -> None:
                try:
                    await beamr.call(busy, "spin", [])
                except beamr.WorkerCrashed as exc:
                    errors.append(exc)

            tg.start_soon(spin)
            with anyio.fail_after(10):
                await signal_.wait()  # the wasm is spinning in its worker now
            os.kill(busy.host_pid, signal.SIGKILL)
            with anyio.fail_after(10):
                await exited(busy.host_pid)
        assert len(errors) == 1
        with pytest.raises(beamr.WorkerCrashed):
            await beamr.call(idle, "noop", [])
        assert not idle.usable
        with anyio.fail_after(10):
            await exited(workers)  # the workers ended with their host
        assert await beamr.call(elsewhere, "div", [9, 3]) == [3]
        async with await c.start(wasm("edge"), node=victim_node) as again:  # a new host
            assert await io.size(again) == 65536
    finally:
        for instance in (busy, idle, elsewhere):
            await instance.aclose()


async def test_a_dead_node_fails_its_instances_and_spares_the_others(
    c: cluster.Cluster, ray_cluster: Cluster, signal_: Signal
) -> None:
    extra = ray_cluster.add_node(**NODE_ARGS)
    ray_cluster.wait_for_nodes()
    node = extra.node_id
    ready = {"env": {"ready": signal_.handler()}}
    doomed = await c.start(wasm("ready_spin"), imports=ready, node=node)
    survivors = [await c.start(wasm("edge"), node=n) for n in c.nodes if n != node]
    errors: list[BaseException] = []
    try:
        with anyio.fail_after(30):  # the call on the dead node must end
            async with anyio.create_task_group() as tg:

                async def spin() -> None:
                    try:
                        await beamr.call(doomed, "spin", [])
                    except beamr.WorkerCrashed as exc:
                        errors.append(exc)

                tg.start_soon(spin)
                await signal_.wait()  # the wasm is spinning on the doomed node
                started = time.monotonic()
                await anyio.to_thread.run_sync(
                    lambda: ray_cluster.remove_node(extra, allow_graceful=False)
                )
        elapsed = time.monotonic() - started
        assert len(errors) == 1
        # Ray's detection with HEALTH_CHECKS: 0.5 s checks, three misses
        assert elapsed < 15, f"the call took {elapsed:.1f}s to fail"
        assert node not in c.nodes
        for survivor in survivors:
            assert await beamr.call(survivor, "div", [6, 2]) == [3]
        with pytest.raises(beamr.WorkerCrashed):
            await io.size(doomed)
    finally:
        for instance in (doomed, *survivors):
            await instance.aclose()


async def test_timeouts_and_cancellation_reach_the_wasm(c: cluster.Cluster) -> None:
    limits = beamr.Limits(call_timeout=0.3)
    async with await c.start(wasm("edge"), limits=limits) as instance:
        with anyio.fail_after(10), pytest.raises(beamr.CallTimeout):
            await beamr.call(instance, "spin", [])
        assert await beamr.call(instance, "div", [4, 2]) == [2]
    async with await c.start(wasm("edge")) as instance:
        with anyio.move_on_after(0.3) as scope:
            await beamr.call(instance, "spin", [])
        assert scope.cancelled_caught
        with anyio.fail_after(10):  # the spin was interrupted: the worker answers
            assert await beamr.call(instance, "div", [4, 2]) == [2]
        with anyio.CancelScope() as scope:
            scope.cancel()
            await beamr.set_global(instance, "counter", 9)  # cancelled before it starts
        assert await beamr.get_global(instance, "counter") == 0


async def test_stop_and_close_leave_nothing(ray_cluster: Cluster) -> None:
    async with await cluster.connect() as c:
        instances = [await c.start(wasm("edge")) for _ in range(4)]
        workers = {i.pid for i in instances}
        hosts = {i.host_pid for i in instances}
        await beamr.stop(instances[0])
        await beamr.stop(instances[0])  # idempotent
        with anyio.fail_after(10):
            await exited(instances[0].pid)
        with pytest.raises(beamr.InstanceClosed):
            await io.size(instances[0])
    with anyio.fail_after(15):
        await exited(workers | hosts)
    with pytest.raises(beamr.InstanceClosed):
        await io.size(instances[1])
    with pytest.raises(beamr.InstanceClosed):
        await c.start(wasm("edge"))
    assert ray.is_initialized()  # connect() did not start it: it stays


# ----------------------------------------------------------------- moving


async def slow_mul(wasm: Any, a: int, b: int) -> int:
    await anyio.sleep(0.05)  # (on the node) a call that stays in flight a while
    return a * b


async def test_a_move_waits_for_calls_in_flight(c: cluster.Cluster) -> None:
    source, target = c.nodes
    async with await c.start(
        wasm("pow"), imports={"my_lib": {"mul": slow_mul}}, node=source
    ) as instance:
        events: list[str] = []
        async with anyio.create_task_group() as tg:

            async def slow_call() -> None:
                assert await beamr.call(instance, "pow", [2, 6]) == [64]
                events.append("call answered")

            tg.start_soon(slow_call)
            await anyio.wait_all_tasks_blocked()  # the call is in flight
            await c.move(instance, target)
            events.append("moved")
        assert events == ["call answered", "moved"]
        assert instance.node == target
        assert await beamr.call(instance, "pow", [3, 2]) == [9]


async def test_a_memory_past_a_frame_moves_whole(c: cluster.Cluster) -> None:
    source, target = c.nodes
    async with await c.start(wasm("grow32"), node=source) as instance:
        await beamr.call(instance, "grow", [400])  # 401 pages: 26 MB, past a frame
        tail = os.urandom(1 << 20)
        await io.write(instance, 401 * 65536 - len(tail), tail)
        await c.move(instance, target)
        assert instance.node == target
        assert await io.size(instance) == 401 * 65536
        assert await io.read(instance, 401 * 65536 - len(tail), len(tail)) == tail


async def test_stopping_during_a_move_stops_where_it_ends(c: cluster.Cluster) -> None:
    source, target = c.nodes
    instance = await c.start(wasm("edge"), node=source)
    old = instance.pid
    async with anyio.create_task_group() as tg:
        tg.start_soon(c.move, instance, target)
        await anyio.wait_all_tasks_blocked()  # the move is under way
        await instance.aclose()  # waits for the move, then stops the moved worker
    assert instance.node == target
    with anyio.fail_after(10):
        await exited({old, instance.pid})
    with pytest.raises(beamr.InstanceClosed):
        await io.size(instance)


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{current}/task/{task}/children") as f:
                    children = {int(p) for p in f.read().split()}
            except OSError:
                continue
            todo.extend(children - found)
            found |= children
    return found


async def test_a_cancelled_start_leaves_no_worker(c: cluster.Cluster) -> None:
    node = c.nodes[0]
    async with await c.start(wasm("edge"), node=node) as first:  # the host is up
        host = first.host_pid
        before = _descendants(host)
        with anyio.move_on_after(1.0) as scope:
            await c.start(wasm("start_spin"), node=node)  # its start never returns
        assert scope.cancelled_caught
        with anyio.fail_after(10):
            await exited(_descendants(host) - before)
        assert await io.size(first) == 65536  # the host goes on


async def test_move_carries_memory_and_globals_and_keeps_the_handle(c: cluster.Cluster) -> None:
    source, target = c.nodes
    instance = await c.start(wasm("edge"), node=source)
    try:
        await beamr.call(instance, "grow", [20])  # larger than a fresh instance's memory
        data = os.urandom(1 << 20)
        await io.write(instance, 12345, data)
        await beamr.set_global(instance, "counter", 77)
        old_pid = instance.pid
        calls: list[Any] = []
        async with anyio.create_task_group() as tg:

            async def keep_calling() -> None:
                for _ in range(20):
                    calls.append(await beamr.call(instance, "div", [10, 2]))

            tg.start_soon(keep_calling)
            await c.move(instance, target)
        assert calls == [[5]] * 20  # calls made during the move all answered
        assert instance.node == target
        assert instance.pid != old_pid
        assert await io.size(instance) == 21 * 65536
        assert await io.read(instance, 12345, len(data)) == data
        assert await beamr.get_global(instance, "counter") == 77
        with anyio.fail_after(10):
            await exited(old_pid)
        await c.move(instance, target)  # already there: nothing to do
        await c.move(instance, source)
        assert instance.node == source
        assert await beamr.get_global(instance, "counter") == 77
        with pytest.raises(ValueError):
            await c.move(instance, "0" * 56)
        with pytest.raises(TypeError):
            await c.move(await beamr.start(wasm("edge")), target)  # type: ignore[arg-type]
    finally:
        await instance.aclose()
    with pytest.raises(beamr.InstanceClosed):
        await c.move(instance, target)


async def test_a_move_that_cannot_fit_leaves_the_instance_where_it_was(
    c: cluster.Cluster,
) -> None:
    source, target = c.nodes
    limits = beamr.Limits(memory_bytes=4 << 20)
    async with await c.start(wasm("edge"), node=source, limits=limits) as instance:
        await beamr.call(instance, "grow", [30])
        await io.write(instance, 0, b"kept")
        with pytest.MonkeyPatch.context() as patch:
            # the target is given a smaller budget than the memory now holds
            smaller = beamr.Limits(memory_bytes=1 << 20)
            options = pickle.loads(instance.start_arguments[1])
            options["limits"] = smaller
            arguments = (instance.start_arguments[0], pickle.dumps(options))
            patch.setattr(instance, "start_arguments", arguments)
            with pytest.raises(beamr.OutOfBounds):
                await c.move(instance, target)
        assert instance.node == source
        assert await io.read(instance, 0, 4) == b"kept"


# ----------------------------------------------------------------- connecting


async def test_connect_probes_an_address_before_ray_does() -> None:
    with socket.socket() as bound:  # bound, not listening: nothing answers there
        bound.bind(("127.0.0.1", 0))
        port = bound.getsockname()[1]
        with anyio.fail_after(10), pytest.raises(ConnectionError, match="no Ray at"):
            await cluster._probe(f"127.0.0.1:{port}")
    with pytest.raises(TypeError):
        await cluster.connect(address=6379)  # type: ignore[arg-type]


def _ray_processes_of(tmp: str) -> set[int]:
    """Processes whose environment names this RAY_TMPDIR: a Ray started with it."""
    marker = f"RAY_TMPDIR={tmp}".encode()
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/environ", "rb") as f:
                    if marker in f.read().split(b"\0"):
                        found.add(int(entry))
            except OSError:
                continue
    return found


def _wait_gone(pids: set[int], timeout: float) -> set[int]:
    """Those of ``pids`` still running after ``timeout`` (each waited on by pidfd)."""
    deadline = time.monotonic() + timeout
    left = set()
    for pid in pids:
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            continue
        try:
            if not select.select([fd], [], [], max(0.0, deadline - time.monotonic()))[0]:
                left.add(pid)
        finally:
            os.close(fd)
    return left


def test_connect_without_an_address_starts_a_local_ray_and_stops_it() -> None:
    tmp = tempfile.mkdtemp(prefix="br", dir="/tmp")
    script = textwrap.dedent(
        """
        import anyio, beamr, sys
        from beamr import cluster
        binary = open(sys.argv[1], "rb").read()
        async def main():
            async with await cluster.connect() as c:
                assert len(c.nodes) == 1
                async with await c.start(binary) as wasm:
                    print(await beamr.call(wasm, "div", [7, 2]), wasm.pid, flush=True)
        anyio.run(main)
        """
    )
    token = os.path.expanduser("~/.ray/auth_token")
    had_token = os.path.exists(token)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env["RAY_TMPDIR"] = tmp
    try:
        done = subprocess.run(
            [sys.executable, "-c", script, str(FIXTURES / "edge.wasm")],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.split()[0] == "[3]"
        left = _wait_gone(_ray_processes_of(tmp), 10)
        assert not left, f"processes of the local Ray left behind: {sorted(left)}"
        assert had_token or not os.path.exists(token), "connect() wrote Ray's token to ~/.ray"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


async def test_relative_wasi_dirs_are_the_callers(
    c: cluster.Cluster, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Relative host paths resolve against the caller's working directory, as for a
    local start, not the host actor's on the node."""
    (tmp_path / "data").mkdir()
    monkeypatch.chdir(tmp_path)
    sent: list[dict[str, Any]] = []
    from beamr.cluster import _pickling

    real = _pickling.pickled_options

    def spy(options: dict[str, Any]) -> bytes:
        sent.append(options)
        return real(options)

    monkeypatch.setattr(_pickling, "pickled_options", spy)
    config = beamr.WasiConfig(dirs={"data": "/data"})
    async with await c.start(wasm("wasi_hello"), wasi=config) as instance:
        assert await beamr.call(instance, "hello", []) == [0]
    assert dict(sent[0]["wasi"].dirs) == {str(tmp_path / "data"): "/data"}
