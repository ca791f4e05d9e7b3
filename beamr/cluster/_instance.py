"""A remote instance: what the caller holds of an instance on a node.

It forwards each module-level function to its node's host (:class:`HostRef`), lets
calls wait while a move is under way (:meth:`RemoteInstance.exclusive`), and asks its
:class:`Owner` (the cluster connection) to judge the host's answers.
"""

from __future__ import annotations

import contextlib
import pickle
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any, Protocol

import anyio
import anyio.lowlevel
import ray
from ray.exceptions import RayError

import beamr
from beamr._remote import Remote
from beamr.cluster._bridge import wait
from beamr.cluster._host import BIG, Stored
from beamr.errors import InstanceClosed, WorkerCrashed
from beamr.types import Export, Import, Output

__all__ = ["STOP_WAIT", "HostRef", "Owner", "RemoteInstance", "stop_on"]

#: how long stopping an instance, or closing a host, may wait for its node to answer
#: (past it the host actor is killed: its workers end with it)
STOP_WAIT = 10.0


class Owner(Protocol):
    """What a remote instance needs of the connection that started it."""

    async def outcome(self, ref: Any, host: HostRef) -> Any:
        """A host method's answer, its errors raised as on the node."""
        ...

    def forget(self, instance: RemoteInstance) -> None:
        """The instance is stopped."""
        ...


class HostRef:
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
        self, owner: Owner, host: HostRef, placed: tuple[int, int, dict[str, Any]], start: Any
    ) -> None:
        self.owner = owner
        self._host = host
        self._handle, self.pid, description = placed
        self._describe(description)
        #: (binary ref, pickled options): what a move starts again
        self.start_arguments = start
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
    def host(self) -> HostRef:
        """The host holding the instance (another after a move)."""
        return self._host

    @property
    def handle(self) -> int:
        """The instance's handle on its host."""
        return self._handle

    @property
    def closed(self) -> bool:
        return self._closed

    def close_with_connection(self) -> None:
        """The connection is closing: it stops the hosts, and with them the workers."""
        self._closed = True

    def rehome(self, host: HostRef, placed: tuple[int, int, dict[str, Any]]) -> None:
        """The instance now lives on ``host`` (a move)."""
        self._host = host
        self._handle, self.pid, description = placed
        self._describe(description)

    @contextlib.asynccontextmanager
    async def exclusive(self) -> AsyncIterator[None]:
        """Hold the instance alone (a move): wait for another move, then for the calls
        in flight; calls made meanwhile wait until the block ends."""
        while self._moving is not None:
            await self._moving.wait()
        self.check()
        self._moving = moving = anyio.Event()
        try:
            while self._inflight:
                self._idle = anyio.Event()
                await self._idle.wait()
            self.check()
            yield
        finally:
            self._moving = None
            moving.set()

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

    def check(self) -> None:
        """Raise if the instance cannot be used: stopped, or its host gone."""
        if self._closed:
            raise InstanceClosed("the instance is stopped")
        if self._host.dead is not None:
            raise WorkerCrashed(
                f"worker {self.pid} on node {self.node[:12]}: its host is gone ({self._host.dead})"
            )

    @contextlib.asynccontextmanager
    async def _using(self) -> AsyncIterator[HostRef]:
        # cancelled already: nothing is sent (a remote task, once sent, may run)
        await anyio.lowlevel.checkpoint_if_cancelled()
        while self._moving is not None:
            await self._moving.wait()
        self.check()
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
            return await self.owner.outcome(ref, host)

    async def output(self) -> Output:
        """WASI output captured since the last call (see :meth:`beamr.Instance.output`)."""
        async with self._using() as host:
            ref = host.actor.output.remote(self._handle)
            taken, self._last_dropped = await self.owner.outcome(ref, host)
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
            self.owner.forget(self)
            host = self._host
            host.live -= 1
            await stop_on(host, self._handle)

    async def __aenter__(self) -> RemoteInstance:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


async def stop_on(host: HostRef, handle: int) -> None:
    """Stop the instance ``handle`` on ``host``, whatever happens to the caller."""
    if host.dead is not None:
        return
    with (
        anyio.CancelScope(shield=True),
        anyio.move_on_after(STOP_WAIT),
        contextlib.suppress(RayError),
    ):
        await wait(host.actor.stop.remote(handle))
