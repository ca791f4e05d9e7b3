"""Awaiting a Ray object ref on either anyio backend, without a thread per wait.

Ray's refs are awaitable under asyncio only; :func:`wait` takes the ref's
``concurrent.futures.Future`` and wakes the waiting task through its own loop (asyncio
or trio). A waiting task that is cancelled cancels the remote task too: Ray does not
do that by itself.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import anyio
import ray

__all__ = ["wait"]


async def wait(ref: Any) -> Any:
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
