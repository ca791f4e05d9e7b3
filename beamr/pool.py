"""A pool of warm instances of one module, for services that serve many requests.

::

    async with beamr.Pool(binary, size=8) as pool:       # 8 instances kept warm
        async with pool.instance() as wasm:              # a checkout: instant when warm
            await beamr.call(wasm, "handle", [...])

Each checkout gets an instance nobody else is using. By default (``max_uses=1``)
every checkout gets a fresh instance, so nothing a request leaves in memory reaches
the next one; the pool stops it on return and keeps ``size`` fresh ones started in
the background. ``max_uses=N`` reuses an instance for N checkouts (``None``: no
limit) before replacing it.

WASI programs: a pool made with ``wasi=`` keeps its instances loaded but not yet
instantiated, so that each checkout may bring its own WASI settings (args, stdin,
env, dirs)::

    async with beamr.Pool(solver, wasi=True) as pool:
        done = await pool.run(args=["solver"], stdin=problem)     # a Completed

Such an instance is instantiated at its first checkout, with the checkout's
:class:`~beamr.WasiConfig` or the pool's. Per-checkout settings need a fresh instance
each time (``max_uses=1``, the default).

An instance is never handed out again, and is replaced, when the block using it
raised (including cancellation and :class:`~beamr.CallTimeout`: it may have been
left mid-way), when its worker crashed, or when the block stopped it. A start
failure reaches the caller: when the pool opens (an invalid module raises
:class:`~beamr.InvalidModule` there), and later at a checkout, while the pool retries
with a growing delay. Closing the pool stops every idle instance at once and every
checked-out one when its block ends; checkouts after that raise
:class:`~beamr.InstanceClosed`. No worker outlives the pool.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.abc
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from beamr import _forkserver
from beamr._handlers import ImportMap, Resolver
from beamr._output import Listener
from beamr.api import resolve_dirs, start_instance, wasi_options
from beamr.errors import InstanceClosed
from beamr.instance import Instance
from beamr.programs import run_command
from beamr.types import Completed, Limits, WasiConfig

__all__ = ["Pool"]

#: delays between start attempts after a failure, seconds
RETRY_MIN = 0.05
RETRY_MAX = 5.0
#: instances started at once to refill the pool (starts overlap: each worker's own
#: set-up runs while the next is forked)
FILLERS = 4


class Pool:
    """Warm instances of one module; see the module documentation.

    ``size``: instances kept started and idle (at least 1). ``max_uses``: checkouts
    an instance serves before it is replaced (1: a fresh instance each time;
    ``None``: no limit). ``imports``, ``wasi`` and ``limits`` are passed to
    :func:`beamr.start` for every instance; the relative ``dirs`` of ``wasi`` are
    resolved against the working directory now.
    """

    def __init__(
        self,
        binary: bytes | bytearray | memoryview,
        *,
        size: int = 4,
        max_uses: int | None = 1,
        imports: ImportMap | Resolver | None = None,
        wasi: bool | WasiConfig | None = None,
        limits: Limits | None = None,
    ) -> None:
        if isinstance(binary, str) or not isinstance(binary, bytes | bytearray | memoryview):
            raise TypeError(f"the module must be bytes-like, got {type(binary).__name__}")
        if type(size) is not int:
            raise TypeError(f"size must be an int, got {type(size).__name__}")
        if size < 1:
            raise ValueError(f"size must be at least 1, got {size}")
        if max_uses is not None:
            if type(max_uses) is not int:
                raise TypeError(f"max_uses must be an int or None, got {type(max_uses).__name__}")
            if max_uses < 1:
                raise ValueError(f"max_uses must be at least 1 (or None), got {max_uses}")
        self._binary = bytes(binary)
        self._size = size
        self._max_uses = max_uses
        if wasi is not None and not isinstance(wasi, bool | WasiConfig):
            raise TypeError("wasi must be True, False, None or a beamr.WasiConfig")
        #: the pool's WASI settings (None: no WASI); its instances wait to be instantiated
        config = WasiConfig() if wasi is True else wasi or None
        if config is not None:  # relative dirs: this working directory, not a later one
            config = dataclasses.replace(config, dirs=resolve_dirs(config.dirs))
        self._wasi = config
        self._wasi_wire = None if config is None else wasi_options(config)
        self._options: dict[str, Any] = {
            "imports": imports,
            "wasi": self._wasi,
            "limits": limits,
            "instantiate": self._wasi is None,
        }
        self._uses: dict[int, int] = {}  # by id(instance)
        self._send: MemoryObjectSendStream[Instance | Exception] | None = None
        self._receive: MemoryObjectReceiveStream[Instance | Exception] | None = None
        self._group: anyio.abc.TaskGroup | None = None
        self._closed = False
        self._out: set[Instance] = set()
        #: places for instances: each instance the pool may still hand out holds one
        #: (idle, or out and coming back); the filler starts one only into a free place.
        #: An instance on its last use gives its place up at checkout, so that its
        #: replacement starts while it is being used.
        self._room = anyio.Semaphore(size)
        self._hold: _forkserver.ForkServerHold | None = None

    @property
    def size(self) -> int:
        """How many instances the pool keeps warm."""
        return self._size

    @property
    def idle(self) -> int:
        """Warm instances ready for a checkout right now."""
        if self._receive is None:
            return 0
        return self._receive.statistics().current_buffer_used

    @property
    def closed(self) -> bool:
        return self._closed

    # ---------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> Pool:
        if self._group is not None or self._closed:
            raise RuntimeError("a Pool can be opened once")
        # Workers are forked from the fork-server while the pool is open.
        self._hold = _forkserver.fork_server().__enter__()
        # The first instance is started here: a module that cannot start fails now.
        try:
            first = await start_instance(self._binary, **self._options)
        except BaseException:
            self._hold.__exit__()
            self._closed = True
            raise
        self._send, self._receive = anyio.create_memory_object_stream[Instance | Exception](
            self._size
        )
        self._room.acquire_nowait()
        self._send.send_nowait(first)
        self._group = anyio.create_task_group()
        await self._group.__aenter__()
        for _ in range(min(self._size, FILLERS)):
            self._group.start_soon(self._fill)
        return self

    async def __aexit__(self, *exc_info: Any) -> bool | None:
        await self.aclose()
        assert self._group is not None
        self._group.cancel_scope.cancel()  # a start under way in the background
        return await self._group.__aexit__(*exc_info)

    async def aclose(self) -> None:
        """Stop the idle instances now, the checked-out ones when they come back."""
        if self._closed:
            return
        self._closed = True
        with anyio.CancelScope(shield=True):
            if self._send is not None:
                self._send.close()
            if self._receive is not None:
                async with anyio.create_task_group() as tg:
                    while True:
                        try:
                            item = self._receive.receive_nowait()
                        except (anyio.WouldBlock, anyio.EndOfStream):
                            break
                        if isinstance(item, Instance):
                            tg.start_soon(item.aclose)
                self._receive.close()
            if self._hold is not None:
                self._hold.__exit__()  # the fork-server ends with the last worker

    async def _fill(self) -> None:
        """Keep the idle set full; a start failure is handed to the next checkout."""
        assert self._send is not None
        delay = 0.0
        while True:
            if delay:
                await anyio.sleep(delay)
            await self._room.acquire()
            try:
                item: Instance | Exception = await start_instance(self._binary, **self._options)
                delay = 0.0
            except Exception as exc:
                item = exc
                delay = min(max(delay * 2, RETRY_MIN), RETRY_MAX)
            try:
                await self._send.send(item)
            except BaseException as exc:
                if isinstance(item, Instance):
                    with anyio.CancelScope(shield=True):
                        await item.aclose()
                if isinstance(exc, anyio.ClosedResourceError | anyio.BrokenResourceError):
                    return  # the pool closed
                raise

    # ------------------------------------------------------------------ checkout

    @asynccontextmanager
    async def instance(self, *, wasi: WasiConfig | None = None) -> AsyncIterator[Instance]:
        """Check out an instance for the duration of the block; ``wasi``: its own WASI
        settings (a pool made with ``wasi=`` and ``max_uses=1`` only)."""
        wire = self._checkout_wasi(wasi)
        instance = await self._checkout()
        self._out.add(instance)
        failed = True
        try:
            if not instance.instantiated:
                limit = (wasi or self._wasi or WasiConfig()).output_limit
                await instance.instantiate({"wasi": wire}, output_limit=limit)
            yield instance
            failed = False
        finally:
            self._out.discard(instance)
            with anyio.CancelScope(shield=True):
                await self._return(instance, failed)

    async def run(
        self,
        *,
        args: Sequence[str] = (),
        stdin: bytes | bytearray | memoryview | None = None,
        env: Mapping[str, str] | None = None,
        dirs: Mapping[str, str] | None = None,
        on_output: Listener | None = None,
    ) -> Completed:
        """Run the pool's WASI command once with these settings, in a fresh instance:
        :func:`beamr.run` without the start-up. Settings not given are the pool's. A
        program runs once per instance: the pool must have ``max_uses=1``."""
        if self._wasi is None:
            raise ValueError("Pool.run needs a pool made with wasi=")
        config = dataclasses.replace(
            self._wasi,
            args=args or self._wasi.args,
            stdin=self._wasi.stdin if stdin is None else stdin,
            env=self._wasi.env if env is None else env,
            dirs=self._wasi.dirs if dirs is None else dirs,
        )
        async with self.instance(wasi=config) as wasm:
            return await run_command(wasm, on_output)

    def _checkout_wasi(self, wasi: WasiConfig | None) -> dict[str, Any] | None:
        """The worker's WASI settings for a checkout (its dirs resolved now)."""
        if wasi is None:
            return self._wasi_wire
        if not isinstance(wasi, WasiConfig):
            raise TypeError(f"wasi must be a beamr.WasiConfig, got {type(wasi).__name__}")
        if self._wasi is None:
            raise ValueError("per-checkout WASI settings need a pool made with wasi=")
        if self._max_uses != 1:
            raise ValueError(
                "per-checkout WASI settings need a fresh instance for each checkout (max_uses=1)"
            )
        return wasi_options(wasi)

    async def _checkout(self) -> Instance:
        if self._receive is None:
            raise RuntimeError("open the pool first: async with beamr.Pool(...) as pool")
        while True:
            if self._closed:
                raise InstanceClosed("the pool is closed")
            try:
                item = await self._receive.receive()
            except (anyio.EndOfStream, anyio.ClosedResourceError):
                raise InstanceClosed("the pool is closed") from None
            if isinstance(item, Exception):
                self._room.release()
                raise item
            if not item.usable:  # stopped, or its worker died while idle: replace it
                self._room.release()
                self._uses.pop(id(item), None)
                await item.aclose()
                continue
            uses = self._uses[id(item)] = self._uses.get(id(item), 0) + 1
            if self._max_uses is not None and uses >= self._max_uses:
                self._room.release()  # its last use: a replacement may start now
            return item

    async def _return(self, instance: Instance, failed: bool) -> None:
        uses = self._uses.pop(id(instance), 0)
        limit = math.inf if self._max_uses is None else self._max_uses
        if uses < limit:  # it still holds its place
            if not (failed or self._closed or not instance.usable):
                try:
                    assert self._send is not None
                    self._send.send_nowait(instance)
                    self._uses[id(instance)] = uses
                    return
                except (anyio.WouldBlock, anyio.ClosedResourceError, anyio.BrokenResourceError):
                    pass  # closing
            self._room.release()
        group = self._group
        if group is not None and not (self._closed or failed):
            # used up: stopped in the background, so that the checkout's block ends now,
            # not when the worker has exited (the pool waits for it when it closes)
            with contextlib.suppress(RuntimeError):  # the group is closing: below
                group.start_soon(instance.aclose)
                return
        await instance.aclose()
