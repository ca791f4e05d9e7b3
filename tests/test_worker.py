"""The worker's command loop, driven in-process over a socketpair: bad commands get
error replies and the loop carries on; it never dies on its input."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from beamr import protocol as p
from workers.server import Server
from workers.wasmtime_worker import WasmtimeBackend

from .conftest import wasm


class Peer:
    """The parent's end: send raw frames, read replies."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.decoder = p.FrameDecoder()
        self.next_id = 1

    def send_raw(self, frame: bytes) -> None:
        self.sock.sendall(frame)

    def send(self, command: p.Command[Any]) -> int:
        command_id = self.next_id
        self.next_id += 1
        self.send_raw(p.encode_command(command_id, command))
        return command_id

    def receive(self) -> tuple[int, p.Reply]:
        while (value := self.decoder.next_frame()) is None:
            chunk = self.sock.recv(1 << 16)
            assert chunk, "the worker closed the connection"
            self.decoder.feed(chunk)
        return p.parse_reply(value)

    def request(self, command: p.Command[Any]) -> p.Reply:
        command_id = self.send(command)
        reply_id, reply = self.receive()
        assert reply_id == command_id
        return reply


class RunningWorker:
    """A Server on a thread, its parent end as a Peer; the edge fixture loaded."""

    def __init__(self, max_frame_size: int = p.DEFAULT_MAX_FRAME_SIZE) -> None:
        self.ours, self.theirs = socket.socketpair()
        self.ours.settimeout(30)
        server = Server(self.theirs, WasmtimeBackend, max_frame_size)
        self.thread = threading.Thread(target=self._serve, args=(server,), daemon=True)
        self.thread.start()
        self.peer = Peer(self.ours)
        reply = self.peer.request(p.Init(wasm("edge"), {}))
        assert isinstance(reply, p.Result)

    def _serve(self, server: Server) -> None:
        try:
            server.serve()
        finally:
            self.theirs.close()  # as the worker process does, by exiting

    def close(self) -> None:
        self.ours.close()
        self.thread.join(10)
        assert not self.thread.is_alive()


@pytest.fixture
def worker() -> Iterator[Peer]:
    running = RunningWorker()
    yield running.peer
    running.close()


def frame(value: Any) -> bytes:
    body: bytes = msgpack.packb(value, use_bin_type=True)
    return p.HEADER.pack(len(body)) + body


BAD_COMMANDS = [
    [7, "read", "0", 1],
    [7, "read", 0],
    [7, "write", 0, "text"],
    [7, "call", "noop", "args"],
    [7, "call", "noop", [True]],
    [7, "teleport"],
    [7, 42],
    ["7", "size"],
    {"a": 1},
    "size",
    [7, "import_response", [1]],  # no import is waiting
    [7, "init", b"\0asm\x01\0\0\0", {}],  # already initialised
]


@pytest.mark.parametrize("value", BAD_COMMANDS, ids=[str(i) for i in range(len(BAD_COMMANDS))])
def test_bad_commands_get_errors_and_the_loop_goes_on(worker: Peer, value: Any) -> None:
    worker.send_raw(frame(value))
    _, reply = worker.receive()
    assert isinstance(reply, p.Error)
    assert reply.kind == "bad_command"
    assert worker.request(p.Call("id_i32", [5])) == p.Result(([5],))


@pytest.mark.parametrize(
    ("command", "kind"),
    [
        (p.Read(-1, 4), "bad_argument"),
        (p.Read(0, -4), "bad_argument"),
        (p.Write(-1, b"x"), "bad_argument"),
        (p.Read(65536, 1), "out_of_bounds"),
        (p.Write(65535, b"xy"), "out_of_bounds"),
        (p.ReadString(1 << 40), "out_of_bounds"),
        (p.Call("nope", []), "export_not_found"),
        (p.Call("id_i32", [1.5]), "bad_argument"),
        (p.Call("id_i32", [1 << 40]), "bad_argument"),
        (p.Call("id_i32", []), "bad_argument"),
        (p.Deserialize(b"x" * 65537), "out_of_bounds"),
        (p.Locate(-1, 4, "read"), "bad_argument"),
        (p.Locate(0, -4, "write"), "bad_argument"),
        (p.Locate(65535, 2, "write"), "out_of_bounds"),
        (p.Locate(65537, 0, "read"), "out_of_bounds"),
        (p.Locate(0, 1 << 40, "read"), "out_of_bounds"),
    ],
)
def test_the_worker_checks_everything_itself(
    worker: Peer, command: p.Command[Any], kind: str
) -> None:
    """The parent validates first; the worker does not trust it (wasmtime-py's own
    Memory.read clamps and its write wraps negative offsets)."""
    before = worker.request(p.Serialize())
    reply = worker.request(command)
    assert isinstance(reply, p.Error)
    assert reply.kind == kind
    assert worker.request(p.Serialize()) == before


def test_locate_answers_where_the_bytes_of_memory_are(worker: Peer) -> None:
    """The bulk path's half in the worker: the address of the offset, and the size."""
    import ctypes

    assert worker.request(p.Write(100, b"located")) == p.Ok()
    reply = worker.request(p.Locate(100, 7, "read"))
    assert isinstance(reply, p.Result)
    address, length = reply.values
    assert length == 65536
    # the in-process worker shares our address space: the bytes are right there
    assert ctypes.string_at(address, 7) == b"located"
    assert worker.request(p.Locate(65536, 0, "write")) == p.Result((address - 100 + 65536, length))


def test_oversized_frame_gets_an_error_then_a_clean_close() -> None:
    running = RunningWorker(max_frame_size=1024)
    running.peer.send_raw(p.HEADER.pack(1 << 20))
    _, reply = running.peer.receive()
    assert isinstance(reply, p.Error)
    assert reply.kind == "protocol_error"
    running.thread.join(10)
    assert not running.thread.is_alive()
    assert running.ours.recv(1) == b""  # closed, not hanging
    running.close()


def is_stop(body: bytes) -> bool:
    try:
        return isinstance(p.parse_command(msgpack.unpackb(body, raw=False))[1], p.Stop)
    except Exception:
        return False


@settings(max_examples=40, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=40), min_size=1, max_size=4))
def test_garbage_never_hangs_or_kills_the_worker_silently(bodies: list[bytes]) -> None:
    """Each frame gets a reply; an undecodable one gets an error and a clean close."""
    running = RunningWorker()
    try:
        for body in bodies:
            running.peer.send_raw(p.HEADER.pack(len(body)) + body)
            if is_stop(body):  # the one frame that ends the loop without a reply
                running.thread.join(10)
                assert running.ours.recv(1) == b""
                return
            _, reply = running.peer.receive()
            if isinstance(reply, p.Error) and reply.kind == "protocol_error":
                running.thread.join(10)
                assert running.ours.recv(1) == b""
                return
            assert isinstance(reply, p.Error | p.Result | p.Ok)
        assert running.peer.request(p.Size()) == p.Result((65536,))
    finally:
        running.close()


class InterruptibleWorker(RunningWorker):
    """A RunningWorker with its interrupt thread, on a pipe the test writes call ids to."""

    def __init__(self) -> None:
        import os

        self.irq_read, self.irq_write = os.pipe()
        super().__init__()

    def _serve(self, server: Server) -> None:
        from workers.watcher import Watcher

        Watcher(server, self.irq_read, on_parent_gone=lambda: None).start()
        super()._serve(server)

    def interrupt(self, command_id: int) -> None:
        import os

        os.write(self.irq_write, command_id.to_bytes(8, "big"))

    def close(self) -> None:
        import os

        os.close(self.irq_write)
        super().close()
        os.close(self.irq_read)


def test_an_interrupt_that_arrives_before_its_call_is_not_lost() -> None:
    """The parent may interrupt a call the worker has not even read yet."""
    running = InterruptibleWorker()
    try:
        peer = running.peer
        call_id = peer.next_id
        running.interrupt(call_id)  # before the command is sent
        peer.send(p.Call("spin", []))  # would run forever if the interrupt were lost
        reply_id, reply = peer.receive()
        assert reply_id == call_id
        assert isinstance(reply, p.Error)
        assert reply.code == "interrupt"
        assert peer.request(p.Call("id_i32", [3])) == p.Result(([3],))
    finally:
        running.close()


def test_a_stale_interrupt_never_stops_a_later_call() -> None:
    running = InterruptibleWorker()
    try:
        peer = running.peer
        finished = peer.next_id
        assert peer.request(p.Call("id_i32", [1])) == p.Result(([1],))
        running.interrupt(finished)  # too late for that call: must be ignored
        assert peer.request(p.Size()) == p.Result((65536,))  # let the thread catch up
        assert peer.request(p.Call("div", [9, 3])) == p.Result(([3],))
    finally:
        running.close()


def test_a_reset_connection_ends_the_loop_quietly() -> None:
    """The parent went away with unread data (a reset, not an EOF): the loop ends as
    on EOF. Before, ConnectionResetError escaped and its traceback reached stderr."""
    import struct

    running = RunningWorker()
    original = running.thread
    running.peer.send_raw(p.encode_command(99, p.Size()))
    running.ours.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    running.ours.close()  # unread reply + linger 0: the worker's next recv gets ECONNRESET
    original.join(10)
    assert not original.is_alive()  # and no exception escaped it (pytest's config: error)
