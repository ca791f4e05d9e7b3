"""The parent's end of a worker's socket, straight on the event loop.

Leaner than an anyio stream on the hot path, and one class per event-loop backend,
chosen once when the channel is opened (:func:`open_channel`):

- :class:`AsyncioChannel`: the socket gets a transport of its own, which stays
  registered with the selector and reads the moment bytes arrive, so a round trip
  costs no registration system calls. Past ``READ_HIGH`` unread bytes the transport
  stops reading: a flooding worker's junk waits in the socket, not in the parent.
- :class:`PortableChannel` (trio, or anything anyio runs on): a send that fits the
  socket buffer costs no event-loop iteration; a receive right after a send waits for
  readability first (the answer cannot be there yet).

Sends that must wait are shielded: a frame cut in half would desynchronise the stream
for good. Closing wakes a task waiting on the channel with ``ClosedResourceError``.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import weakref
from typing import Final

import anyio

__all__ = [
    "READ_HIGH",
    "AsyncioChannel",
    "Channel",
    "PortableChannel",
    "forget_all",
    "open_channel",
]

#: buffered and unread bytes beyond which the asyncio transport stops reading
READ_HIGH: Final = 1 << 20

#: every open channel of this process (see forget_all)
_OPEN: weakref.WeakSet[Channel] = weakref.WeakSet()


class Channel:
    """What the instance needs of its socket."""

    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        self.sock = sock
        self.closed = False
        _OPEN.add(self)

    async def send(self, data: bytes) -> None:
        raise NotImplementedError

    async def receive(self, max_bytes: int) -> bytes:
        """Some bytes, or ``b""`` at EOF."""
        raise NotImplementedError

    def close(self) -> None:
        """Close; a task waiting on it gets ClosedResourceError."""
        raise NotImplementedError

    def forget(self) -> None:
        """In a forked child of the parent: close our copy of the socket, touching no
        event loop (the parent's loops did not come along)."""
        self.closed = True
        self.sock.close()

    def drop(self) -> None:
        """Close from a finalizer (the instance was dropped): no task waits any more,
        and the event loop may be running or gone."""
        self.forget()

    def _broken(self, exc: OSError) -> Exception:
        if self.closed:
            return anyio.ClosedResourceError()
        return anyio.BrokenResourceError(str(exc))


async def open_channel(sock: socket.socket) -> Channel:
    """The channel for ``sock`` on the running event loop."""
    loop = asyncio._get_running_loop()
    if loop is None:
        return PortableChannel(sock)
    channel = AsyncioChannel(sock, loop)
    await loop.connect_accepted_socket(lambda: channel.protocol, sock=sock)
    return channel


class _StreamProtocol(asyncio.Protocol):
    """The asyncio transport's side of an :class:`AsyncioChannel`."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.eof = False
        self.error: BaseException | None = None
        self.reading_paused = False
        self.writing_paused = False
        self.waiter: asyncio.Future[None] | None = None
        self.drain: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > READ_HIGH and not self.reading_paused and self.transport:
            self.transport.pause_reading()  # a flood waits in the socket, not here
            self.reading_paused = True
        self.wake()

    def eof_received(self) -> bool:
        self.eof = True
        self.wake()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self.error = exc
        self.wake()
        self.resume_writing()

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        if self.drain is not None and not self.drain.done():
            self.drain.set_result(None)

    def wake(self) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)


class AsyncioChannel(Channel):
    def __init__(self, sock: socket.socket, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(sock)
        self.loop = loop
        self.protocol = _StreamProtocol()

    async def send(self, data: bytes) -> None:
        protocol = self.protocol
        transport = protocol.transport
        if self.closed:
            raise anyio.ClosedResourceError
        if transport is None or transport.is_closing() or protocol.eof:
            raise anyio.BrokenResourceError("the worker's socket is closed")
        transport.write(data)
        if protocol.writing_paused:
            with anyio.CancelScope(shield=True):
                while protocol.writing_paused and not protocol.eof:
                    protocol.drain = self.loop.create_future()
                    await protocol.drain

    async def receive(self, max_bytes: int) -> bytes:
        protocol = self.protocol
        while not protocol.buffer and not protocol.eof and not self.closed:
            protocol.waiter = self.loop.create_future()
            try:
                await protocol.waiter
            finally:
                protocol.waiter = None
        if self.closed:
            raise anyio.ClosedResourceError
        buffer = protocol.buffer
        if buffer:
            data = bytes(buffer[:max_bytes])
            del buffer[:max_bytes]
            if protocol.reading_paused and len(buffer) < READ_HIGH // 2 and protocol.transport:
                protocol.reading_paused = False
                protocol.transport.resume_reading()
            return data
        if protocol.error is not None:
            raise anyio.BrokenResourceError(str(protocol.error))
        return b""

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        protocol = self.protocol
        protocol.wake()  # a waiting receive sees `closed` and raises
        protocol.resume_writing()
        if protocol.transport is not None:
            # unregisters the socket now; its loop may be closed already (an instance
            # stopped from another loop): then the socket just closes
            with contextlib.suppress(RuntimeError):
                protocol.transport.abort()
        self.sock.close()

    def drop(self) -> None:
        transport = self.protocol.transport
        if transport is not None and not self.loop.is_closed():
            with contextlib.suppress(RuntimeError):
                transport.abort()  # unregisters the socket from its selector first
        super().drop()


class PortableChannel(Channel):
    def __init__(self, sock: socket.socket) -> None:
        super().__init__(sock)
        #: a frame went out since the last receive: the answer cannot be there yet
        self._sent = False

    async def send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                sent = self.sock.send(view)
            except BlockingIOError:
                with anyio.CancelScope(shield=True):
                    await anyio.wait_writable(self.sock)
                continue
            except OSError as exc:
                raise self._broken(exc) from exc
            view = view[sent:]
        self._sent = True

    async def receive(self, max_bytes: int) -> bytes:
        if self._sent:
            # Right after a send the peer has not answered yet: wait for readability
            # first instead of paying for a recv that fails (a syscall and an exception).
            self._sent = False
            await anyio.wait_readable(self.sock)
        while True:
            try:
                return self.sock.recv(max_bytes)
            except BlockingIOError:
                await anyio.wait_readable(self.sock)
            except OSError as exc:
                raise self._broken(exc) from exc

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        anyio.notify_closing(self.sock)
        self.sock.close()


def forget_all() -> None:
    """In a child forked from the parent: close every channel's socket copy."""
    for channel in list(_OPEN):
        with contextlib.suppress(Exception):
            channel.forget()
