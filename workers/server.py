"""The worker's command loop: read a frame, execute it, reply; until stop or EOF.

The loop is runtime-agnostic: it speaks :mod:`beamr.protocol` over a blocking socket
and drives a :class:`~workers.backend.Backend`. An import called by the wasm sends an
``import`` request and re-enters the loop, so that while the parent's handler runs,
io and nested calls on this instance are served; the import's answer returns to the
wasm. A separate thread reads call ids from the interrupt pipe and interrupts the
wasm when (and only when) that call is still running; EOF there means the parent is
gone, and the worker exits at once, even in the middle of a runaway call.
"""

from __future__ import annotations

import os
import socket
import struct
import sys
import threading
from collections.abc import Callable
from typing import Any

from beamr import protocol as p
from workers import probe
from workers.backend import Backend, CommandFailed, HostCall, Number

RECV_CHUNK = 1 << 16


class StopWorker(BaseException):
    """Unwinds everything, through the wasm, to a clean exit."""


class Server:
    def __init__(
        self,
        sock: socket.socket,
        make_backend: Callable[[bytes, dict[str, Any], HostCall], Backend],
        max_frame_size: int = p.DEFAULT_MAX_FRAME_SIZE,
        on_init: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self._sock = sock
        self._on_init = on_init
        self._decoder = p.FrameDecoder(max_frame_size)
        self._make_backend = make_backend
        self.backend: Backend | None = None
        # Interrupt bookkeeping, shared with the interrupt thread under one lock:
        #: ids of the calls on the wasm stack, outermost first
        self._calls: list[int] = []
        #: calls the parent asked to interrupt: running ones, or ones not started yet
        self._interrupted: set[int] = set()
        #: the highest call id seen; an interrupt for a lower id not running is stale
        self._last_call = 0
        self._lock = threading.Lock()

    # ------------------------------------------------------------------- transport

    def _read_frame(self) -> Any:
        while True:
            try:
                value = self._decoder.next_frame()
            except p.ProtocolError as exc:
                # The stream cannot be resynchronised after a bad frame: say why, leave.
                self._send(0, p.Error("protocol_error", str(exc)))
                raise StopWorker from None
            if value is not None:
                return value
            chunk = self._sock.recv(max(RECV_CHUNK, self._decoder.buffered))
            if not chunk:
                raise StopWorker  # the parent closed the connection
            self._decoder.feed(chunk)

    def _send(self, command_id: int, reply: p.Reply) -> None:
        try:
            self._sock.sendall(p.encode_reply(command_id, reply))
        except OSError:
            raise StopWorker from None

    # ------------------------------------------------------------------- commands

    def serve(self) -> None:
        """Serve until stop or EOF."""
        try:
            while True:
                command_id, command = self._next_command()
                if command is None:
                    continue
                self._execute(command_id, command)
        except StopWorker:
            return

    def _next_command(self) -> tuple[int, p.Command | None]:
        value = self._read_frame()
        try:
            return p.parse_command(value)
        except p.ProtocolError as exc:
            command_id = (
                value[0]
                if isinstance(value, list)
                and value
                and type(value[0]) is int
                and 0 <= value[0] <= p.MAX_ID
                else 0
            )
            self._send(command_id, p.Error("bad_command", str(exc)))
            return command_id, None

    def _execute(self, command_id: int, command: p.Command) -> None:
        try:
            reply = self._dispatch(command_id, command)
        except CommandFailed as exc:
            reply = p.Error(exc.kind, exc.text, exc.code)
        except (StopWorker, KeyboardInterrupt):
            raise
        except Exception as exc:  # a bug here must not take the instance down
            reply = p.Error("internal", f"{type(exc).__name__}: {exc}")
        self._send(command_id, reply)

    def _dispatch(self, command_id: int, command: p.Command) -> p.Reply:
        backend = self.backend
        kind = type(command)
        if backend is not None:  # the hot commands first
            if kind is p.Call:
                assert isinstance(command, p.Call)
                return p.Result((self._call(backend, command_id, command.name, command.args),))
            if kind is p.Size:
                return p.Result((backend.memory_size(),))
        if isinstance(command, p.Stop):
            raise StopWorker
        if isinstance(command, p.Init):
            if self.backend is not None:
                raise CommandFailed("bad_command", "already initialised")
            self.backend = self._make_backend(command.binary, command.options, self._host_call)
            if self._on_init is not None:
                self._on_init(command.options)
            return p.Result(
                (
                    [list(i) for i in self.backend.imports],
                    [list(e) for e in self.backend.exports],
                )
            )
        if isinstance(command, p.ImportResponse | p.ImportError_):
            raise CommandFailed("bad_command", "no import is waiting for an answer")
        if isinstance(command, p.Probe):
            if command.what == "module_source" and self.backend is not None:
                return p.Result((str(getattr(self.backend, "module_source", "")),))
            return p.Result((probe.run(command.what),))
        backend = self.backend
        if backend is None:
            raise CommandFailed("bad_command", "not initialised")
        match command:
            case p.Size():
                return p.Result((backend.memory_size(),))
            case p.Read(offset, size):
                return p.Result((backend.read(offset, size),))
            case p.Write(offset, data):
                backend.write(offset, data)
                return p.Ok()
            case p.Locate(offset, size, access):
                return p.Result(backend.locate(offset, size, access))
            case p.ReadString(offset):
                return p.Result((backend.read_string(offset),))
            case p.Call(name, args):
                return p.Result((self._call(backend, command_id, name, args),))
            case p.Serialize():
                return p.Result((backend.read(0, backend.memory_size()),))
            case p.Deserialize(data):
                size = backend.memory_size()
                if len(data) > size:
                    raise CommandFailed(
                        "out_of_bounds",
                        f"snapshot of {len(data)} bytes does not fit the memory of {size} bytes",
                    )
                backend.write(0, data)
                return p.Ok()
            case p.Output():
                out, err = backend.take_output()
                return p.Result((out, err))
        raise CommandFailed("bad_command", f"unexpected command {command!r:.60}")

    def _call(
        self, backend: Backend, command_id: int, name: str, args: list[Number]
    ) -> list[Number]:
        run = backend.prepare_call(name, args)
        with self._lock:
            self._calls.append(command_id)
            self._last_call = max(self._last_call, command_id)
            if self._interrupted:  # forget interrupts for calls that are over
                self._interrupted = {
                    i for i in self._interrupted if i >= command_id or i in self._calls
                }
            backend.arm(fresh_fuel=len(self._calls) == 1)
            interrupted = command_id in self._interrupted
        try:
            if interrupted:  # the parent gave up on it before it started
                raise CommandFailed("trap", "interrupted before it started", "interrupt")
            return run()
        finally:
            with self._lock:
                self._calls.pop()
                self._interrupted.discard(command_id)

    def _resume_wasm(self) -> None:
        """Re-arm the deadline before returning into a suspended wasm call.

        Nested calls re-armed it for themselves; an interrupt that arrived for a
        suspended call must not be lost on the way back.
        """
        backend = self.backend
        assert backend is not None
        with self._lock:
            backend.arm(fresh_fuel=False)
            interrupted = any(call in self._interrupted for call in self._calls)
        if interrupted:
            raise CommandFailed("trap", "interrupted", "interrupt")

    # -------------------------------------------------------------- host imports

    def _host_call(self, module: str, name: str, args: list[Number], sig: str) -> list[Number]:
        """Called from inside the wasm: ask the parent, serve it until it answers."""
        call_id = self._calls[-1]
        self._send(call_id, p.ImportRequest(module, name, args, sig))
        while True:
            command_id, command = self._next_command()
            if command is None:
                continue
            if isinstance(command, p.ImportResponse | p.ImportError_):
                if command_id != call_id:
                    self._send(
                        command_id,
                        p.Error(
                            "bad_command", f"import answer for {command_id}, expected {call_id}"
                        ),
                    )
                    continue
                if isinstance(command, p.ImportError_):
                    raise CommandFailed(command.kind, command.text)
                self._resume_wasm()
                return command.results
            self._execute(command_id, command)

    # ------------------------------------------------------------------ interrupts

    def interrupt_loop(self, fd: int, on_parent_gone: Callable[[], None] | None = None) -> None:
        """Run in a daemon thread: interrupt the calls the parent names.

        EOF means the parent closed its end (stop) or died: ``on_parent_gone`` runs,
        by default leaving the process at once, even mid-way through a runaway call.
        """
        pending = b""
        while True:
            try:
                chunk = os.read(fd, 4096)
            except InterruptedError:
                continue
            except OSError:
                chunk = b""
            if not chunk:
                if on_parent_gone is None:
                    os._exit(0)
                on_parent_gone()
                return
            pending += chunk
            whole = len(pending) - len(pending) % 8
            ids = struct.unpack(f">{whole // 8}Q", pending[:whole])
            pending = pending[whole:]
            with self._lock:
                running = False
                for call_id in ids:
                    if call_id in self._calls:
                        running = True
                        self._interrupted.add(call_id)
                    elif call_id > self._last_call:  # sent, not started yet
                        self._interrupted.add(call_id)
                if running and self.backend is not None:
                    self.backend.interrupt()


def main(sock_fd: int, interrupt_fd: int) -> int:
    from workers import sandbox
    from workers.wasmtime_worker import WasmtimeBackend

    sock = socket.socket(fileno=sock_fd)
    sock.setblocking(True)
    server = Server(sock, WasmtimeBackend, on_init=sandbox.harden)
    thread = threading.Thread(
        target=server.interrupt_loop, args=(interrupt_fd,), name="beamr-interrupts", daemon=True
    )
    thread.start()
    server.serve()
    sys.stdout.flush()
    return 0
