"""beamr across the nodes of a Ray cluster (extra: ``pip install "beamr[ray]"``).

>>> from beamr import cluster
>>> async with await cluster.connect() as c:        # None: a local Ray; else its address
...     wasm = await c.start(binary, imports={"env": {"log": log}})
...     await beamr.call(wasm, "fac", [5.0])          # every beamr function takes it
...     await c.move(wasm, c.nodes[1])                # memory and globals move along

Each node runs one host (:class:`beamr.cluster._host.Host`, a Ray actor placed on
that node) which starts beamr's own workers there: one sandboxed process per
instance, forked from the node's fork-server. A remote instance forwards each
module-level function by name to its host, which runs the same function on the local
instance; errors come back as the same exceptions. Callable handlers are pickled by
value (cloudpickle) and run in the host, on the hosting node; string handlers run in
the worker. Large byte strings (io, snapshots) travel through Ray's object store.

Failures: an instance whose worker dies raises :class:`~beamr.WorkerCrashed` as a
local one does; when its host or its node dies, every instance there raises
``WorkerCrashed`` from then on (a node's death once Ray has detected it: a Ray that
:func:`connect` starts checks its nodes every 0.5 s, three misses; for a cluster of
your own, Ray's health-check settings decide). Other nodes' instances go on.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import itertools
import os
import pickle
import sys
import sysconfig
import time
from collections.abc import Callable, Mapping
from types import ModuleType, TracebackType
from typing import Any

import anyio
import anyio.lowlevel

try:
    import ray
    from ray import cloudpickle
    from ray.exceptions import RayActorError, RayError, TaskCancelledError
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
except ImportError as exc:  # pragma: no cover - the extra is installed in tests
    raise ImportError('beamr.cluster needs Ray: pip install "beamr[ray]"') from exc

import beamr
from beamr._remote import Remote
from beamr.cluster._host import BIG, Host, Stored, raise_failure
from beamr.errors import BeamrError, InstanceClosed, WorkerCrashed
from beamr.types import Export, Import, Limits, Output, WasiConfig

__all__ = ["HEALTH_CHECKS", "Cluster", "RemoteInstance", "connect"]

#: Ray's node health checks in a Ray that :func:`connect` starts: a node that stops
#: answering is declared dead (and its instances raise) within about 1.5-3 s.
HEALTH_CHECKS = {
    "health_check_initial_delay_ms": 0,
    "health_check_period_ms": 500,
    "health_check_timeout_ms": 500,
    "health_check_failure_threshold": 3,
}

#: how long connect() waits for a TCP connection to a given address
PROBE_TIMEOUT = 5.0
#: how long stopping an instance, or closing a host, may wait for its node to answer
#: (past it the host actor is killed: its workers end with it)
STOP_WAIT = 10.0
#: how long the list of live nodes that placement uses is kept
NODES_TTL = 1.0


async def _wait(ref: Any) -> Any:
    """The value of ``ref``, awaited on either anyio backend without a thread; if the
    waiting task is cancelled, the remote task is cancelled too (Ray does not do that
    by itself)."""
    future = ref.future()  # a concurrent.futures.Future, completed on a Ray thread
    done = anyio.Event()
    token = _Token.current()

    def wake(_: Any) -> None:
        token.wake(done.set)

    future.add_done_callback(wake)
    try:
        await done.wait()
    except BaseException:
        if not future.done():
            with contextlib.suppress(Exception):
                ray.cancel(ref)
        raise
    return future.result()


class _Token:
    """A way into the current event loop from another thread."""

    def __init__(self, call_soon: Callable[[Callable[[], None]], None]) -> None:
        self.wake = call_soon

    @classmethod
    def current(cls) -> _Token:
        import asyncio

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not asyncio: anyio's other backend, trio
            import trio

            trio_token = trio.lowlevel.current_trio_token()

            def call_soon(func: Callable[[], None]) -> None:
                with contextlib.suppress(trio.RunFinishedError):
                    trio_token.run_sync_soon(func)

            return cls(call_soon)

        def call_soon_asyncio(func: Callable[[], None]) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is closed
                loop.call_soon_threadsafe(func)

        return cls(call_soon_asyncio)


class _HostRef:
    """This connection's view of one node's host."""

    def __init__(self, node: str, actor: Any) -> None:
        self.node = node
        self.actor = actor
        self.pid = 0
        self.live = 0
        self.dead: BaseException | None = None


class RemoteInstance(Remote):
    """An instance on a node of the cluster: every ``beamr.*`` and ``beamr.io.*``
    function takes it as it takes a local :class:`beamr.Instance`."""

    exports: tuple[Export, ...]
    imports: tuple[Import, ...]

    def __init__(
        self, cluster: Cluster, host: _HostRef, placed: tuple[int, int, dict[str, Any]], start: Any
    ) -> None:
        self._cluster = cluster
        self._host = host
        self._handle, self.pid, description = placed
        self._describe(description)
        self._start = start  # (binary ref, pickled options): what a move starts again
        self._closed = False
        self._last_dropped = (0, 0)
        self._inflight = 0
        self._idle = anyio.Event()
        self._moving: anyio.Event | None = None

    def _describe(self, description: dict[str, Any]) -> None:
        self.exports = tuple(description["exports"])
        self.imports = tuple(description["imports"])
        self._functions = {e.name: e.signature for e in self.exports if e.kind == "func"}
        self._call_timeout = description["call_timeout"]

    @property
    def node(self) -> str:
        """The id of the node the instance runs on (one of :attr:`Cluster.nodes`)."""
        return self._host.node

    @property
    def host_pid(self) -> int:
        """The pid of the host (the Ray actor) holding the instance on its node."""
        return self._host.pid

    @property
    def usable(self) -> bool:
        """False once stopped, or once its host or node is known to be gone."""
        return not self._closed and self._host.dead is None

    @property
    def call_timeout(self) -> float | None:
        return self._call_timeout  # type: ignore[no-any-return]

    def signature(self, name: str) -> str:
        """The signature of the exported function ``name``; ExportNotFound if none."""
        try:
            return self._functions[name]
        except KeyError:
            raise beamr.ExportNotFound(f"the module exports no function named {name!r}") from None

    def __repr__(self) -> str:
        state = "closed" if self._closed else "lost" if self._host.dead else "running"
        return f"<beamr.cluster.RemoteInstance node={self.node[:12]} pid={self.pid} {state}>"

    def _check(self) -> None:
        if self._closed:
            raise InstanceClosed("the instance is stopped")
        if self._host.dead is not None:
            raise WorkerCrashed(
                f"worker {self.pid} on node {self.node[:12]}: its host is gone ({self._host.dead})"
            )

    @contextlib.asynccontextmanager
    async def _using(self) -> Any:
        # cancelled already: nothing is sent (a remote task, once sent, may run)
        await anyio.lowlevel.checkpoint_if_cancelled()
        while self._moving is not None:
            await self._moving.wait()
        self._check()
        self._inflight += 1
        try:
            yield self._host
        finally:
            self._inflight -= 1
            if not self._inflight:
                self._idle.set()

    async def invoke(self, operation: str, args: tuple[Any, ...]) -> Any:
        async with self._using() as host:
            stored: list[Any] = []
            wire: list[Any] = []
            for arg in args:
                if isinstance(arg, bytes | bytearray) and len(arg) >= BIG:
                    stored.append(ray.put(pickle.PickleBuffer(arg)))
                    wire.append(Stored(len(stored) - 1))
                else:
                    wire.append(arg)
            request = pickle.dumps((self._handle, operation, wire), protocol=5)
            if stored:
                ref = host.actor.run_stored.remote(request, *stored)
            else:
                ref = host.actor.run.remote(request)
            return await self._cluster._outcome(ref, host)

    async def output(self) -> Output:
        """WASI output captured since the last call (see :meth:`beamr.Instance.output`)."""
        async with self._using() as host:
            ref = host.actor.output.remote(self._handle)
            taken, self._last_dropped = await self._cluster._outcome(ref, host)
            return Output(bytes(taken.stdout), bytes(taken.stderr))

    @property
    def dropped_output(self) -> tuple[int, int]:
        return self._last_dropped

    async def aclose(self) -> None:
        with anyio.CancelScope(shield=True):
            while self._moving is not None:  # a move under way ends first
                await self._moving.wait()
            if self._closed:
                return
            self._closed = True
            self._cluster._instances.discard(self)
            host = self._host
            host.live -= 1
            await _stop(host, self._handle)

    async def __aenter__(self) -> RemoteInstance:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class Cluster:
    """A connection to a Ray cluster, placing beamr instances on its nodes."""

    def __init__(self, owned: bool) -> None:
        self._owned = owned
        self._hosts: dict[str, _HostRef] = {}
        self._starting: dict[str, anyio.Lock] = {}
        self._binaries: dict[bytes, Any] = {}
        self._turn = itertools.count()
        self._last: str | None = None
        self._instances: set[RemoteInstance] = set()
        self._closed = False
        self._nodes: tuple[float, tuple[str, ...]] = (0.0, ())

    @property
    def nodes(self) -> tuple[str, ...]:
        """The ids of the cluster's live nodes, sorted."""
        nodes = tuple(sorted(n["NodeID"] for n in ray.nodes() if n.get("Alive")))
        self._nodes = (time.monotonic(), nodes)
        return nodes

    def _live_nodes(self) -> tuple[str, ...]:
        """:attr:`nodes`, asked of Ray at most every :data:`NODES_TTL` seconds."""
        when, nodes = self._nodes
        if time.monotonic() - when > NODES_TTL:
            return self.nodes
        return nodes

    # ---------------------------------------------------------------- starting

    async def start(
        self,
        binary: bytes | bytearray | memoryview,
        *,
        imports: Any = None,
        wasi: bool | WasiConfig | None = None,
        limits: Limits | None = None,
        sandbox: bool = True,
        node: str | None = None,
    ) -> RemoteInstance:
        """Start an instance on the node with the fewest live instances (or ``node``);
        the arguments are :func:`beamr.start`'s, with the same checks and errors."""
        if self._closed:
            raise InstanceClosed("the cluster connection is closed")
        if isinstance(binary, str) or not isinstance(binary, bytes | bytearray | memoryview):
            raise TypeError(f"the module must be bytes-like, got {type(binary).__name__}")
        await anyio.lowlevel.checkpoint_if_cancelled()
        if isinstance(wasi, WasiConfig) and wasi.dirs:
            wasi = _absolute_dirs(wasi)
        options = _pickled({"imports": imports, "wasi": wasi, "limits": limits, "sandbox": sandbox})
        start = (self._binary(bytes(binary)), options)
        for attempt in (1, 2):
            host = await self._place(node)
            try:
                placed = await self._started(host, start)
            except WorkerCrashed:
                # a host that died unnoticed is replaced once, if its node lives on
                if attempt == 2 or host.dead is None:
                    raise
                continue
            if self._closed:
                await _stop(host, placed[0])
                raise InstanceClosed("the cluster connection was closed meanwhile")
            instance = RemoteInstance(self, host, placed, start)
            self._instances.add(instance)
            return instance
        raise AssertionError("unreachable")  # pragma: no cover

    async def _started(self, host: _HostRef, start: Any) -> Any:
        """Start an instance on ``host`` (whose count is taken): (handle, pid,
        description). If this is cancelled, or fails, the count is given back and an
        instance that started all the same is stopped."""
        ref = host.actor.start.remote(*start)
        try:
            return await self._outcome(ref, host)
        except BaseException as exc:
            host.live -= 1
            if not isinstance(exc, Exception):  # cancelled: it may have started anyway
                with (
                    anyio.CancelScope(shield=True),
                    anyio.move_on_after(STOP_WAIT),
                    contextlib.suppress(Exception),
                ):
                    answer = await _wait(ref)
                    ok, value = pickle.loads(answer) if isinstance(answer, bytes) else answer
                    if ok:
                        await _stop(host, value[0])
            raise

    def _binary(self, data: bytes) -> Any:
        """The module in the object store, put there once per distinct module."""
        digest = hashlib.sha256(data).digest()
        ref = self._binaries.get(digest)
        if ref is None:
            ref = self._binaries[digest] = ray.put(data)
        return ref

    async def _place(self, node: str | None) -> _HostRef:
        """The host a new instance goes to, its count already taken (so that starts
        made at once spread too)."""
        nodes = self._live_nodes()
        if node is not None and node not in nodes:
            nodes = self.nodes  # a node that joined since
        if node is not None:
            if node not in nodes:
                raise ValueError(f"no live node {node!r} in the cluster (see .nodes)")
        else:
            if not nodes:
                raise WorkerCrashed("the cluster has no live node")
            load = {n: self._hosts[n].live if n in self._hosts else 0 for n in nodes}
            fewest = min(load.values())
            ties = [n for n in nodes if load[n] == fewest]
            after = [n for n in ties if self._last is None or n > self._last]
            node = (after or ties)[0]
        self._last = node
        host = self._hosts.get(node)
        if host is None or host.dead is not None:
            host = await self._new_host(node)
        host.live += 1
        return host

    async def _new_host(self, node: str) -> _HostRef:
        lock = self._starting.setdefault(node, anyio.Lock())
        async with lock:
            host = self._hosts.get(node)
            if host is not None and host.dead is None:
                return host
            strategy = NodeAffinitySchedulingStrategy(node_id=node, soft=False)
            actor = Host.options(scheduling_strategy=strategy).remote()  # type: ignore[attr-defined]
            host = _HostRef(node, actor)
            try:
                _, host.pid = await _wait(actor.hello.remote())
            except BaseException as exc:
                with contextlib.suppress(Exception):
                    ray.kill(actor)
                if isinstance(exc, RayError):
                    raise WorkerCrashed(f"no beamr host started on node {node}: {exc}") from None
                raise
            if self._closed:
                with contextlib.suppress(Exception):
                    ray.kill(actor)
                raise InstanceClosed("the cluster connection was closed meanwhile")
            live = self._hosts.get(node)
            host.live = live.live if live is not None and live.dead is None else 0
            self._hosts[node] = host
            return host

    async def _outcome(self, ref: Any, host: _HostRef) -> Any:
        """A host method's answer; its errors raised as on the node, the host's or the
        node's loss as WorkerCrashed."""
        try:
            answer = await _wait(ref)
            ok, value = pickle.loads(answer) if isinstance(answer, bytes) else answer
        except TaskCancelledError:  # (our own cancellations re-raise before this)
            raise BeamrError("the call was cancelled on its node by someone else") from None
        except RayActorError as exc:
            self._lost(host, exc)
            raise WorkerCrashed(
                f"the host on node {host.node[:12]} is gone: {type(exc).__name__}"
            ) from None
        except RayError as exc:  # an object lost with its owner, a system error
            raise WorkerCrashed(f"node {host.node[:12]}: {type(exc).__name__}: {exc}") from None
        if not ok:
            raise_failure(value)
        return value

    def _lost(self, host: _HostRef, error: BaseException) -> None:
        """The host is gone (or unreachable): its instances are lost. Killed, in case
        it was only unreachable: its workers end with it."""
        if host.dead is not None:
            return
        host.dead = error
        if self._hosts.get(host.node) is host:
            del self._hosts[host.node]
        self._nodes = (0.0, ())
        with contextlib.suppress(Exception):
            ray.kill(host.actor)

    # ------------------------------------------------------------------- moving

    async def move(self, wasm: RemoteInstance, node: str) -> None:
        """Move a running instance to ``node``: a new worker there starts the same
        module with the same arguments, takes the memory (grown to its size) and every
        mutable global, then the old one stops. The handle stays valid; calls made
        meanwhile wait for the move. On failure the instance stays where it was."""
        if not isinstance(wasm, RemoteInstance) or wasm._cluster is not self:
            raise TypeError("move takes an instance started by this cluster connection")
        if node not in self.nodes:
            raise ValueError(f"no live node {node!r} in the cluster (see .nodes)")
        if wasm.node == node:
            wasm._check()
            return
        while wasm._moving is not None:
            await wasm._moving.wait()
        wasm._check()
        wasm._moving = moving = anyio.Event()
        try:
            while wasm._inflight:
                wasm._idle = anyio.Event()
                await wasm._idle.wait()
            wasm._check()
            source = wasm._host
            memory, values = await self._outcome(source.actor.state.remote(wasm._handle), source)
            target = await self._place(node)
            placed = await self._started(target, wasm._start)
            handle = placed[0]
            try:
                ref = target.actor.restore.remote(handle, values, memory[0])
                await self._outcome(ref, target)
                if wasm._closed:  # the connection closed meanwhile
                    raise InstanceClosed("the instance was stopped during its move")
            except BaseException:
                target.live -= 1
                await _stop(target, handle)
                raise
            old = (source, wasm._handle)
            wasm._host = target
            wasm._handle, wasm.pid, description = placed
            wasm._describe(description)
            source.live -= 1
            await _stop(*old)
        finally:
            wasm._moving = None
            moving.set()

    # ------------------------------------------------------------------ closing

    async def aclose(self) -> None:
        """Stop every instance and host this connection started; shut down the Ray
        that :func:`connect` started, if it did."""
        if self._closed:
            return
        self._closed = True
        with anyio.CancelScope(shield=True):
            for instance in self._instances:
                instance._closed = True
            self._instances.clear()
            hosts = list(self._hosts.values())
            self._hosts.clear()

            async def close(host: _HostRef) -> None:
                # each host stops its workers; one that does not answer in time is
                # killed all the same (its workers end with it)
                with anyio.move_on_after(STOP_WAIT), contextlib.suppress(RayError):
                    await _wait(host.actor.close.remote())
                with contextlib.suppress(Exception):
                    ray.kill(host.actor)

            async with anyio.create_task_group() as group:
                for host in hosts:
                    group.start_soon(close, host)
            self._binaries.clear()
            if self._owned and ray.is_initialized():
                ray.shutdown()

    async def __aenter__(self) -> Cluster:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def _absolute_dirs(wasi: WasiConfig) -> WasiConfig:
    """Relative WASI host paths are the caller's, as for a local start: made absolute
    here (whether they exist is the node's business)."""
    dirs = {os.path.abspath(host): guest for host, guest in wasi.dirs.items()}
    return dataclasses.replace(wasi, dirs=dirs)


async def _stop(host: _HostRef, handle: int) -> None:
    """Stop the instance ``handle`` on ``host``, whatever happens to the caller."""
    if host.dead is not None:
        return
    with (
        anyio.CancelScope(shield=True),
        anyio.move_on_after(STOP_WAIT),
        contextlib.suppress(RayError),
    ):
        await _wait(host.actor.stop.remote(handle))


async def connect(address: str | None = None) -> Cluster:
    """Connect to Ray: to the Ray this process already has; else to ``address``
    (``"host:port"`` of a running cluster's head, or any address ``ray.init`` takes);
    else (None) start a local Ray, listening on loopback only, that the connection
    shuts down when it closes. A ``host:port`` nothing answers on is a
    ConnectionError within :data:`PROBE_TIMEOUT` seconds, not Ray's long retries."""
    if address is not None and not isinstance(address, str):
        raise TypeError(f"address must be a str or None, got {type(address).__name__}")
    if ray.is_initialized():
        return Cluster(owned=False)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if address is None:
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # else Ray writes ~/.ray
        ray.init(
            address="local",
            include_dashboard=False,
            _node_ip_address="127.0.0.1",
            _system_config=HEALTH_CHECKS,
            logging_level="warning",
        )
        return Cluster(owned=True)
    await _probe(address)
    ray.init(address=address, logging_level="warning")
    return Cluster(owned=True)


async def _probe(address: str) -> None:
    host, sep, port = address.rpartition(":")
    if not sep or "://" in address or not port.isdigit():
        return  # "auto", "ray://...": Ray's own resolution
    try:
        with anyio.fail_after(PROBE_TIMEOUT):
            stream = await anyio.connect_tcp(host or "127.0.0.1", int(port))
            await stream.aclose()
    except (OSError, TimeoutError) as exc:
        raise ConnectionError(f"no Ray at {address}: {exc or 'no answer'}") from None


# --------------------------------------------------------------------- handlers

_INSTALLED = tuple(
    os.path.realpath(path) + os.sep
    for path in {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
)


def _by_value(handler: Any) -> set[ModuleType]:
    """The modules of ``handler`` to pickle by value: the caller's own (not the
    standard library's, not an installed package's, not beamr's or Ray's)."""
    found: set[ModuleType] = set()
    seen = [handler, getattr(handler, "func", None), type(handler)]
    for item in seen:
        name = getattr(item, "__module__", None)
        if not isinstance(name, str) or name == "__main__":
            continue  # __main__ is pickled by value anyway
        module = sys.modules.get(name)
        if module is None:
            continue
        top = name.split(".")[0]
        if top in sys.stdlib_module_names or top in ("beamr", "workers", "ray", "builtins"):
            continue
        path = getattr(module, "__file__", None)
        if path is None or os.path.realpath(path).startswith(_INSTALLED):
            continue
        found.add(module)
    return found


def _handlers(imports: Any) -> list[Any]:
    if callable(imports):
        return [imports]
    if isinstance(imports, Mapping):
        return [
            h
            for names in imports.values()
            if isinstance(names, Mapping)
            for h in names.values()
            if callable(h)
        ]
    return []


def _pickled(options: dict[str, Any]) -> bytes:
    modules: set[ModuleType] = set()
    for handler in _handlers(options["imports"]):
        modules |= _by_value(handler)
    registered = []
    try:
        for module in modules:
            if module.__name__ not in cloudpickle.list_registry_pickle_by_value():
                cloudpickle.register_pickle_by_value(module)
                registered.append(module)
        return bytes(cloudpickle.dumps(options))
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise TypeError(f"the start arguments cannot be sent to a node: {exc}") from None
    finally:
        for module in registered:
            cloudpickle.unregister_pickle_by_value(module)
