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
import os
import time
from types import TracebackType
from typing import Any

import anyio
import anyio.lowlevel

try:
    import ray
    from ray.exceptions import RayActorError, RayError, TaskCancelledError
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
except ImportError as exc:  # pragma: no cover - the extra is installed in tests
    raise ImportError('beamr.cluster needs Ray: pip install "beamr[ray]"') from exc

from beamr.cluster import _pickling
from beamr.cluster._bridge import wait
from beamr.cluster._host import Host, answer_of, raise_failure
from beamr.cluster._instance import STOP_WAIT, HostRef, RemoteInstance, stop_on
from beamr.errors import BeamrError, InstanceClosed, WorkerCrashed
from beamr.types import Limits, WasiConfig

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
#: how long the list of live nodes that placement uses is kept
NODES_TTL = 1.0


class Cluster:
    """A connection to a Ray cluster, placing beamr instances on its nodes."""

    def __init__(self, owned: bool) -> None:
        self._owned = owned
        self._hosts: dict[str, HostRef] = {}
        self._starting: dict[str, anyio.Lock] = {}
        self._binaries: dict[bytes, Any] = {}
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
        options = _pickling.pickled_options(
            {"imports": imports, "wasi": wasi, "limits": limits, "sandbox": sandbox}
        )
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
                await stop_on(host, placed[0])
                raise InstanceClosed("the cluster connection was closed meanwhile")
            instance = RemoteInstance(self, host, placed, start)
            self._instances.add(instance)
            return instance
        raise AssertionError("unreachable")  # pragma: no cover

    async def _started(self, host: HostRef, start: Any) -> Any:
        """Start an instance on ``host`` (whose count is taken): (handle, pid,
        description). If this is cancelled, or fails, the count is given back and an
        instance that started all the same is stopped."""
        ref = host.actor.start.remote(*start)
        try:
            return await self.outcome(ref, host)
        except BaseException as exc:
            host.live -= 1
            if not isinstance(exc, Exception):  # cancelled: it may have started anyway
                with (
                    anyio.CancelScope(shield=True),
                    anyio.move_on_after(STOP_WAIT),
                    contextlib.suppress(Exception),
                ):
                    ok, value = answer_of(await wait(ref))
                    if ok:
                        await stop_on(host, value[0])
            raise

    def _binary(self, data: bytes) -> Any:
        """The module in the object store, put there once per distinct module."""
        digest = hashlib.sha256(data).digest()
        ref = self._binaries.get(digest)
        if ref is None:
            ref = self._binaries[digest] = ray.put(data)
        return ref

    async def _place(self, node: str | None) -> HostRef:
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

    async def _new_host(self, node: str) -> HostRef:
        lock = self._starting.setdefault(node, anyio.Lock())
        async with lock:
            host = self._hosts.get(node)
            if host is not None and host.dead is None:
                return host
            strategy = NodeAffinitySchedulingStrategy(node_id=node, soft=False)
            actor = Host.options(scheduling_strategy=strategy).remote()  # type: ignore[attr-defined]
            host = HostRef(node, actor)
            try:
                _, host.pid = await wait(actor.hello.remote())
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

    async def outcome(self, ref: Any, host: HostRef) -> Any:
        """A host method's answer; its errors raised as on the node, the host's or the
        node's loss as WorkerCrashed."""
        try:
            ok, value = answer_of(await wait(ref))
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

    def forget(self, instance: RemoteInstance) -> None:
        """A stopped instance: no longer this connection's to close."""
        self._instances.discard(instance)

    def _lost(self, host: HostRef, error: BaseException) -> None:
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
        if not isinstance(wasm, RemoteInstance) or wasm.owner is not self:
            raise TypeError("move takes an instance started by this cluster connection")
        if node not in self.nodes:
            raise ValueError(f"no live node {node!r} in the cluster (see .nodes)")
        if wasm.node == node:
            wasm.check()
            return
        async with wasm.exclusive():
            source = wasm.host
            memory, values = await self.outcome(source.actor.state.remote(wasm.handle), source)
            target = await self._place(node)
            placed = await self._started(target, wasm.start_arguments)
            handle = placed[0]
            try:
                ref = target.actor.restore.remote(handle, values, memory[0])
                await self.outcome(ref, target)
                if wasm.closed:  # the connection closed meanwhile
                    raise InstanceClosed("the instance was stopped during its move")
            except BaseException:
                target.live -= 1
                await stop_on(target, handle)
                raise
            old = wasm.handle
            wasm.rehome(target, placed)
            source.live -= 1
            await stop_on(source, old)

    # ------------------------------------------------------------------ closing

    async def aclose(self) -> None:
        """Stop every instance and host this connection started; shut down the Ray
        that :func:`connect` started, if it did."""
        if self._closed:
            return
        self._closed = True
        with anyio.CancelScope(shield=True):
            for instance in self._instances:
                instance.close_with_connection()
            self._instances.clear()
            hosts = list(self._hosts.values())
            self._hosts.clear()

            async def close(host: HostRef) -> None:
                # each host stops its workers; one that does not answer in time is
                # killed all the same (its workers end with it)
                with anyio.move_on_after(STOP_WAIT), contextlib.suppress(RayError):
                    await wait(host.actor.close.remote())
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
