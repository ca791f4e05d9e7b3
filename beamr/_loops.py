"""Which event loop an instance belongs to, and ending instances with their loop.

An instance's socket is registered with the event loop that first used it, so it
can only be used from that loop: a command from another loop (another thread's
asyncio or trio run) is refused with ``RuntimeError`` before anything changes.

When a loop ends, its instances end with it: each loop that has instances gets a
guard task that sleeps until the loop cancels it on the way out (``asyncio.run``
cancels every task left; trio cancels system tasks when its main task returns), and
then stops their workers at once. A loop closed without cancelling its tasks leaves
them to the instances' finalizers and to the interpreter's exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import weakref
from collections.abc import Callable
from typing import Any

__all__ = ["current_loop", "end_with_loop"]

#: the guards of the loops alive: {loop (asyncio) or TrioToken: guard}
_GUARDS: weakref.WeakKeyDictionary[Any, _Guard] = weakref.WeakKeyDictionary()


def current_loop() -> object:
    """The running event loop: an asyncio loop, or trio's token for its run."""
    loop = asyncio._get_running_loop()
    if loop is not None:
        return loop
    trio = sys.modules.get("trio")
    if trio is not None:
        try:  # (not contextlib.suppress: this runs on every command)
            return trio.lowlevel.current_trio_token()
        except RuntimeError:
            pass
    raise RuntimeError("beamr needs a running asyncio or trio event loop")


class _Guard:
    def __init__(self) -> None:
        #: weak references to the ``end`` methods of the instances of this loop
        self.ends: set[weakref.WeakMethod[Callable[[], None]]] = set()

    async def sleep_until_cancelled(self) -> None:
        import anyio

        try:
            await anyio.sleep_forever()
        finally:
            for reference in list(self.ends):
                end = reference()
                if end is not None:
                    with contextlib.suppress(Exception):
                        end()


def end_with_loop(loop: object, end: Callable[[], None]) -> None:
    """Call ``end()`` (a bound method; synchronous) when ``loop`` ends, unless its
    object is gone by then (it is not kept alive by this)."""
    guard = _GUARDS.get(loop)
    if guard is None:
        guard = _GUARDS[loop] = _Guard()
        if isinstance(loop, asyncio.AbstractEventLoop):
            task = loop.create_task(guard.sleep_until_cancelled(), name="beamr-loop-guard")
            _TASKS.add(task)
            task.add_done_callback(_TASKS.discard)
        else:
            import trio

            trio.lowlevel.spawn_system_task(guard.sleep_until_cancelled, name="beamr-loop-guard")
    reference = weakref.WeakMethod(end, guard.ends.discard)
    guard.ends.add(reference)


#: asyncio keeps only weak references to tasks: these are held here
_TASKS: set[asyncio.Task[None]] = set()
