"""WASI output as it arrives from the worker: kept up to a limit, or streamed.

The worker sends what the wasm writes to stdout and stderr while it runs (``output``
frames, :mod:`beamr.protocol`). Each instance keeps it here until
:meth:`beamr.Instance.output` takes it, up to ``limit`` bytes a stream; what comes past
the limit is dropped and counted, never silently. With a listener
(:attr:`beamr.Instance.on_output`) chunks go to it instead, as they arrive.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from beamr import protocol as p
from beamr.types import DEFAULT_OUTPUT_LIMIT, Output

__all__ = ["Listener", "OutputBuffer"]

#: called with ("stdout" or "stderr", data) for each chunk; may be async
Listener = Callable[[str, bytes], Awaitable[Any] | Any]


class OutputBuffer:
    __slots__ = ("dropped", "limit", "listener", "streams")

    def __init__(self, limit: int = DEFAULT_OUTPUT_LIMIT) -> None:
        self.limit = limit
        self.listener: Listener | None = None
        #: kept output, by stream number (1 stdout, 2 stderr)
        self.streams = {1: bytearray(), 2: bytearray()}
        #: bytes dropped past the limit since the output was last taken
        self.dropped = {1: 0, 2: 0}

    async def add(self, chunk: p.OutputChunk) -> None:
        listener = self.listener
        if listener is not None:
            result = listener(p.OUTPUT_STREAMS[chunk.stream], chunk.data)
            if inspect.isawaitable(result):
                await result
            return
        kept = self.streams[chunk.stream]
        room = self.limit - len(kept)
        if room >= len(chunk.data):
            kept += chunk.data
            return
        if room > 0:
            kept += chunk.data[:room]
        self.dropped[chunk.stream] += len(chunk.data) - max(room, 0)

    def take(self) -> tuple[Output, tuple[int, int]]:
        """The kept output and the bytes dropped (stdout, stderr); both start afresh."""
        out, err = self.streams[1], self.streams[2]
        taken = Output(bytes(out), bytes(err)), (self.dropped[1], self.dropped[2])
        out.clear()
        err.clear()
        self.dropped = {1: 0, 2: 0}
        return taken
