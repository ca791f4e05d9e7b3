"""The worker's command loop: read a frame, execute it, reply; until stop or EOF.

The loop is runtime-agnostic: it speaks :mod:`beamr.protocol` over a blocking socket
and drives a :class:`~workers.backend.Backend`. Every command goes through one table
from its type to its handler (:meth:`Server._table`). An import called by the wasm
sends an ``import`` request and re-enters the loop, so that while the parent's handler
runs, io and nested calls on this instance are served; the import's answer returns to
the wasm. Nesting is bounded (:data:`beamr.protocol.MAX_NESTING`): a deeper call fails
with ``nesting_too_deep`` before it enters the wasm.

``init`` builds the backend (load, link), hardens the process (the ``harden`` hook:
:mod:`workers.sandbox`) and only then instantiates the module, as a wasm entry like
any call: interruptible, with fresh fuel, and with ``call_timeout`` enforced here,
since the parent cannot tell loading from running. With ``instantiate: false`` it
stops after loading, and ``instantiate`` (with the instance's own WASI settings)
links, hardens and instantiates later: a pool keeps such workers ready.

WASI output is sent as ``output`` frames while the wasm runs: in runs of up to
:data:`OUTPUT_FLUSH` bytes, or once :data:`OUTPUT_LATENCY` has passed since the first
byte waiting (the watcher thread sends it then), and always before the reply that
follows it. One lock orders every frame the worker sends.

The :class:`~workers.watcher.Watcher` thread interrupts entries on the parent's
request: only while (and only if) that entry is still running or not yet started.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Mapping
from typing import Any

from beamr import protocol as p
from workers import batch, probe
from workers.backend import Backend, CommandFailed, Host, Number
from workers.entries import Entries

RECV_CHUNK = 1 << 16
#: WASI output waiting to be sent goes once it reaches this many bytes ...
OUTPUT_FLUSH = 64 << 10
#: ... or this many seconds after its first byte
OUTPUT_LATENCY = 0.05
#: the exit status of a worker whose host callback let an exception escape (the wasm
#: would otherwise go on with whatever the callback left behind)
EXIT_HOST_FAILURE = 71

MakeBackend = Callable[[bytes, Mapping[str, Any], Host], Backend]
Harden = Callable[[Mapping[str, Any]], None]
Handler = Callable[[int, Any], p.Reply]


class StopWorker(BaseException):
    """Unwinds everything, through the wasm, to a clean exit."""


class _NotInitialised:
    """The memory before ``init``: every access is refused."""

    def __getattr__(self, name: str) -> Any:
        raise CommandFailed("bad_command", "not initialised")


class Server:
    def __init__(
        self,
        sock: socket.socket,
        make_backend: MakeBackend,
        max_frame_size: int = p.DEFAULT_MAX_FRAME_SIZE,
        harden: Harden | None = None,
    ) -> None:
        self._sock = sock
        self._harden = harden
        self._decoder = p.FrameDecoder(max_frame_size)
        self._make_backend = make_backend
        self.backend: Backend | None = None
        #: the backend's memory once initialised; until then every access refuses
        self._memory: Any = _NotInitialised()
        #: sets deadlines (``call_timeout`` of the start function); None in tests
        self.watcher: Any = None
        #: the wasm entries on the stack, shared with the watcher thread
        self._entries = Entries()
        #: orders every frame sent, from either thread; guards the output waiting
        self._send_lock = threading.Lock()
        #: WASI output not sent yet: (entry id, stream, bytes) runs, oldest first
        self._output: list[tuple[int, int, bytearray]] = []
        self._output_bytes = 0
        #: the ``init`` options, completed by ``instantiate``'s
        self._options: Mapping[str, Any] = {}
        self._table: dict[type[p.Command[Any]], Handler] = {
            p.Call: self._call,
            p.Size: lambda _, c: p.Result((self._memory.size(),)),
            p.Read: lambda _, c: p.Result((self._memory.read(c.offset, c.size),)),
            p.Write: self._write,
            p.ReadString: lambda _, c: p.Result(
                (self._memory.read_string(c.offset, p.INLINE_CHUNK),)
            ),
            p.Locate: lambda _, c: p.Result(self._memory.locate(c.offset, c.size, c.access)),
            p.Init: self._init,
            p.Instantiate: self._instantiate,
            p.GetGlobal: lambda _, c: p.Result(([self._initialised().get_global(c.name)],)),
            p.SetGlobal: self._set_global,
            p.Batch: self._batch,
            p.Serialize: lambda _, c: p.Result((self._memory.read(0, self._memory.size()),)),
            p.Deserialize: self._deserialize,
            p.Grow: lambda _, c: p.Result((self._memory.grow_to(c.size),)),
            p.Probe: self._probe,
            p.Stop: self._stop,
            p.ImportResponse: self._unasked,
            p.ImportFailed: self._unasked,
        }

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
            try:
                chunk = self._sock.recv(max(RECV_CHUNK, self._decoder.buffered))
            except OSError:
                chunk = b""  # the parent reset the connection: it is gone
            if not chunk:
                raise StopWorker  # the parent closed the connection
            self._decoder.feed(chunk)

    def _send(self, command_id: int, reply: p.Reply) -> None:
        with self._send_lock:
            try:
                if self._output:
                    self._send_output()
                self._sock.sendall(p.encode_reply(command_id, reply))
            except OSError:
                raise StopWorker from None

    def write_output(self, stream: int, data: bytes) -> None:
        """The wasm wrote to stdout (1) or stderr (2): keep it for the next frame."""
        call_id = self._entries.innermost
        with self._send_lock:
            first = not self._output
            last = self._output[-1] if self._output else None
            if last is not None and last[0] == call_id and last[1] == stream:
                last[2].extend(data)
            else:
                self._output.append((call_id, stream, bytearray(data)))
            self._output_bytes += len(data)
            if self._output_bytes >= OUTPUT_FLUSH:
                try:
                    self._send_output()
                except OSError:
                    raise StopWorker from None
                return
        if first and self.watcher is not None:
            self.watcher.flush_after(OUTPUT_LATENCY)

    def flush_output(self) -> None:
        """From the watcher thread: send the output waiting, if any."""
        with self._send_lock:
            if self._output:
                self._send_output()

    def _send_output(self) -> None:
        """Send the output waiting (the send lock held)."""
        output, self._output, self._output_bytes = self._output, [], 0
        for call_id, stream, data in output:
            view = memoryview(data)
            for at in range(0, len(view), p.INLINE_CHUNK):
                piece = bytes(view[at : at + p.INLINE_CHUNK])
                self._sock.sendall(p.encode_reply(call_id, p.OutputChunk(stream, piece)))

    # ------------------------------------------------------------------- commands

    def serve(self) -> None:
        """Serve until stop or EOF."""
        try:
            while True:
                command_id, command = self._next_command()
                if command is not None:
                    self._execute(command_id, command)
        except StopWorker:
            return

    def _next_command(self) -> tuple[int, p.Command[Any] | None]:
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

    def _execute(self, command_id: int, command: p.Command[Any]) -> None:
        try:
            reply = self._table[type(command)](command_id, command)
        except CommandFailed as exc:
            reply = p.Error(exc.kind, exc.text, exc.code, exc.detail)
        except (StopWorker, KeyboardInterrupt):
            raise
        except Exception as exc:  # a bug here must not take the instance down
            reply = p.Error("internal", f"{type(exc).__name__}: {exc}")
        self._send(command_id, reply)
        if isinstance(reply, p.Error) and reply.kind == "sandbox":
            raise StopWorker  # half-hardened: the module never runs here

    def _initialised(self) -> Backend:
        if self.backend is None:
            raise CommandFailed("bad_command", "not initialised")
        return self.backend

    def _write(self, _: int, command: p.Write) -> p.Reply:
        self._memory.write(command.offset, command.data)
        return p.Ok()

    def _deserialize(self, _: int, command: p.Deserialize) -> p.Reply:
        memory = self._memory
        if len(command.data) > memory.size():
            raise CommandFailed(
                "out_of_bounds",
                f"snapshot of {len(command.data)} bytes does not fit the memory of "
                f"{memory.size()} bytes",
            )
        memory.write(0, command.data)
        return p.Ok()

    def _set_global(self, _: int, command: p.SetGlobal) -> p.Reply:
        self._initialised().set_global(command.name, command.value)
        return p.Ok()

    def _probe(self, _: int, command: p.Probe) -> p.Reply:
        if command.what == "module_source" and self.backend is not None:
            return p.Result((str(getattr(self.backend, "module_source", "")),))
        return p.Result((probe.run(command.what),))

    def _stop(self, _: int, command: p.Stop) -> p.Reply:
        raise StopWorker

    def _unasked(self, _: int, command: p.Command[Any]) -> p.Reply:
        raise CommandFailed("bad_command", "no import is waiting for an answer")

    def _init(self, command_id: int, command: p.Init) -> p.Reply:
        if self.backend is not None or len(self._entries):
            raise CommandFailed("bad_command", "already initialised")
        self._options = command.options
        backend = self._make_backend(command.binary, command.options, self)
        self.backend, self._memory = backend, backend.memory
        self._entries.backend = backend
        try:
            if command.options.get("instantiate", True):
                self._start_instance(command_id, backend, command.options)
        except BaseException:
            self.backend, self._memory = None, _NotInitialised()
            self._entries.backend = None
            raise
        return p.Result(
            (
                [list(i) for i in backend.imports],
                [list(e) for e in backend.exports],
                [list(g) for g in backend.globals],
            )
        )

    def _instantiate(self, command_id: int, command: p.Instantiate) -> p.Reply:
        backend = self._initialised()
        self._start_instance(command_id, backend, {**self._options, **command.options})
        return p.Ok()

    def _start_instance(
        self, command_id: int, backend: Backend, options: Mapping[str, Any]
    ) -> None:
        """Link, harden, then instantiate: no code of the module runs unconfined."""
        backend.link(options)
        if self._harden is not None:
            self._harden(options)  # raises CommandFailed("sandbox", ...): nothing ran
        limits = options.get("limits") or {}
        self._enter(command_id, backend.instantiate, timeout=limits.get("call_timeout"))

    def _batch(self, command_id: int, command: p.Batch) -> p.Reply:
        self._initialised()
        self._entries.open_batch(command_id)
        try:
            results, error = batch.run(_BatchRunner(self, command_id), command.ops)
        finally:
            self._entries.close_batch(command_id)
        return p.Result((results, error))

    def _call(self, command_id: int, command: p.Call) -> p.Reply:
        run = self._initialised().prepare_call(command.name, command.args)
        results: list[Number] = self._enter(command_id, run)
        return p.Result((results,))

    def _enter(
        self, command_id: int, run: Callable[[], Any], *, timeout: float | None = None
    ) -> Any:
        """Run ``run`` (it enters the wasm) as the entry ``command_id``; ``timeout``:
        the worker's own deadline for it (the start function's ``call_timeout``)."""
        self._entries.enter(command_id, self._initialised())
        if timeout is not None and self.watcher is not None:
            self.watcher.set_deadline(command_id, timeout)
        try:
            result = run()
        except CommandFailed as exc:
            if self._leave(command_id, timeout) and exc.code == "interrupt":
                raise CommandFailed(
                    "timeout", f"the start function ran longer than {timeout}s"
                ) from None
            raise
        except BaseException:
            self._leave(command_id, timeout)
            raise
        self._leave(command_id, timeout)
        return result

    def _leave(self, command_id: int, timeout: float | None) -> bool:
        """The entry is over; whether its deadline had passed."""
        if timeout is not None and self.watcher is not None:
            self.watcher.clear_deadline()
        return self._entries.leave(command_id)

    # -------------------------------------------------------------- host imports

    def host_call(self, module: str, name: str, args: list[Number], sig: str) -> list[Number]:
        """Called from inside the wasm: ask the parent, serve it until it answers."""
        call_id = self._entries.innermost
        self._send(call_id, p.ImportRequest(module, name, args, sig))
        while True:
            command_id, command = self._next_command()
            if command is None:
                continue
            if isinstance(command, p.ANSWERS):
                if command_id != call_id:
                    self._send(
                        command_id,
                        p.Error(
                            "bad_command", f"import answer for {command_id}, expected {call_id}"
                        ),
                    )
                    continue
                if isinstance(command, p.ImportFailed):
                    raise CommandFailed(command.kind, command.text)
                self._entries.resume(self._initialised())
                return command.results
            self._execute(command_id, command)

    # ----------------------------------------------------------- the watcher's side

    def interrupt(self, command_ids: tuple[int, ...]) -> None:
        """From the watcher thread: interrupt these entries if running or to come."""
        self._entries.interrupt(command_ids)

    def deadline_passed(self, command_id: int) -> None:
        """From the watcher thread: the entry's time is up."""
        self._entries.deadline_passed(command_id)


class _BatchRunner:
    """What :mod:`workers.batch` runs a batch's ops on: this loop, the batch's id."""

    def __init__(self, server: Server, command_id: int) -> None:
        self._server = server
        self._id = command_id
        self.memory = server._memory
        self._backend = server._initialised()

    def call(self, name: str, args: list[Number]) -> list[Number]:
        run = self._backend.prepare_call(name, args)
        results: list[Number] = self._server._enter(self._id, run)
        return results

    def signature(self, name: str) -> str | None:
        return self._backend.export_signature(name)

    def get_global(self, name: str) -> Number:
        return self._backend.get_global(name)

    def set_global(self, name: str, value: Number) -> None:
        self._backend.set_global(name, value)

    def check_interrupt(self) -> None:
        self._server._entries.check_batch(self._id)
