"""``workers.zygote --fd N [--owner PID]``: the fork-server.

Starting a worker with ``subprocess`` costs a Python start plus the import of
wasmtime, msgpack and the worker. The zygote pays that once: it imports
everything a worker needs, then forks one worker per request (a few ms), which
inherits the imports copy-on-write.

Requests arrive on the control socket ``--fd`` (``SOCK_SEQPACKET``): a spawn request
with a hint naming the module the worker will run (:func:`beamr.protocol.encode_hint`)
and three descriptors attached, the worker's end of its protocol socket, the read end of
its interrupt pipe and the write end of a status pipe. The zygote forks; the child
keeps only its two descriptors and becomes an ordinary worker
(:func:`workers.process.main`). The zygote sends ``hello`` (magic + pid) with a pidfd
of the child over the child's protocol socket, so the parent holds a handle that
can never name another process, and closes its copies.

When a worker exits, the zygote writes its exit status (4 bytes, signed: ``-N`` for
signal N, as :mod:`subprocess` reports it) to its status pipe, but does not reap it
yet: a zombie keeps its pid, so the parent may still address the process by pid
(``process_vm_readv``). It reaps the worker once the parent closes the status pipe's
read end (it is done with that worker). EOF on the control socket (the parent is
gone or shut the zygote down) makes the zygote exit; its workers live on until their
own parent ends them.

Compiled modules: when the hint names a module already in the compiled-module cache
(:mod:`workers.module_cache`), the zygote loads it once, with an engine of the right
configuration, and keeps it (the most recent ``MODULES`` of them); a worker forked
for it finds it in :data:`workers.compiled.PRELOADED` and uses it if its own
module has the same key: no engine to build, no code to load, the code pages shared.

Fork hazard: the zygote never compiles (a parallel compile starts a thread pool, and
a child forked after that hangs); it only deserializes, with engines configured
without parallel compilation, and checks that it is single-threaded before each fork.
"""

from __future__ import annotations

import argparse
import gc
import os
import select
import socket
import sys
import threading
import traceback

# Everything a worker imports, imported once here and shared copy-on-write.
import msgpack  # noqa: F401
import wasmtime

from beamr import protocol
from workers import (  # noqa: F401
    batch,
    budget,
    compiled,
    entries,
    exnref,
    host_context,
    landlock,
    linear_memory,
    module_cache,
    probe,
    process,
    sandbox,
    seccomp,
    server,
    wasi,
    wasi_link,
    wasi_preview1,
    wasm_binary,
    wasmtime_raw,
    wasmtime_worker,
    watcher,
)
from workers.__main__ import owner_pidfd

#: compiled modules kept for forking, most recently used
MODULES = 16
Preloaded = tuple[str, wasmtime.Engine, wasmtime.Module]


def threads() -> int:
    return len(os.listdir("/proc/self/task"))


class Child:
    def __init__(self, pid: int, pidfd: int, status_fd: int) -> None:
        self.pid = pid
        self.pidfd = pidfd
        self.status_fd = status_fd
        self.exited = False
        self.released = False


class Zygote:
    def __init__(self, control: socket.socket, owner: int | None = None) -> None:
        self.control = control
        #: a pidfd of the parent: the zygote and its workers exit once it is gone
        self.owner = owner
        self.poll = select.epoll()
        self.children: dict[int, Child] = {}  # by pidfd and by status fd
        self.engines: dict[tuple[tuple[str, object], ...], wasmtime.Engine] = {}
        self.modules: dict[str, Preloaded] = {}  # insertion order: least recent first

    def serve(self) -> None:
        """Fork on request; after EOF on the control socket, until no worker is left."""
        self.poll.register(self.control.fileno(), select.EPOLLIN)
        if self.owner is not None:
            self.poll.register(self.owner, select.EPOLLIN)
        accepting = True
        control = self.control.fileno()
        while accepting or self.children:
            events = self.poll.poll()
            if any(fd == self.owner for fd, _ in events):
                return  # the parent is gone; each worker notices it on its own
            # Children first, the control socket last: a reaped child's descriptors
            # are closed, and a new child's may reuse their numbers; an event of this
            # batch must never be taken for the new one's.
            for fd, mask in events:
                child = self.children.get(fd)
                if child is None:
                    continue
                if fd == child.pidfd and mask & select.EPOLLIN:
                    self.exited(child)
                elif fd == child.status_fd and mask & (select.EPOLLERR | select.EPOLLHUP):
                    child.released = True
                    self.poll.unregister(fd)
                if child.exited and child.released:
                    self.reap(child)
            if accepting and any(fd == control for fd, _ in events) and not self.accept():
                accepting = False
                self.poll.unregister(control)

    def accept(self) -> bool:
        try:
            data, fds, _, _ = socket.recv_fds(self.control, 1 << 16, 3)
        except InterruptedError:
            return True
        if not data:
            return False  # the parent is gone
        if not data.startswith(protocol.SPAWN) or len(fds) != 2:
            for fd in fds:
                os.close(fd)
            return True
        sock_fd, control_fd = fds
        try:
            self.fork(sock_fd, control_fd, self.preload(data))
        finally:
            os.close(sock_fd)
        return True

    def preload(self, request: bytes) -> Preloaded | None:
        """The compiled module the request's hint names, loaded from the cache once;
        or None."""
        try:
            options = protocol.parse_hint(request)
            if options is None:
                return None
            digest, cache_dir = options["digest"], options["cache_dir"]
            flags = compiled.engine_flags(options)
            key = module_cache.cache_key(digest, flags)
            entry = self.modules.pop(key, None)
            if entry is None:
                engine_key = tuple(sorted(flags.items()))
                engine = self.engines.get(engine_key)
                if engine is None:
                    engine = compiled.make_engine(flags)
                    self.engines[engine_key] = engine
                module = module_cache.load(engine, cache_dir, key)
                if module is None:
                    return None  # not compiled yet: the worker compiles and caches it
                entry = (key, engine, module)
            self.modules[key] = entry
            while len(self.modules) > MODULES:
                del self.modules[next(iter(self.modules))]
            return entry
        except Exception as exc:  # a hint is only a hint
            print(f"beamr zygote: could not preload a module: {exc}", file=sys.stderr)
            return None

    def fork(self, sock_fd: int, control_fd: int, preloaded: Preloaded | None) -> None:
        """Fork a worker on ``sock_fd`` and ``control_fd`` (its end of the control
        socket: the worker reads interrupts from it, we write its exit status to it,
        and keep it until the parent closes its end)."""
        if threads() != 1:  # never fork with a thread around (see the module docstring)
            print("beamr zygote: not single-threaded; refusing to fork", file=sys.stderr)
            os.close(control_fd)
            return
        try:
            # Everything the worker inherits is left to it untouched by the collector
            # (a collection writes to every object it visits: copy-on-write pages).
            gc.freeze()
            pid = os.fork()
        except OSError as exc:
            print(f"beamr zygote: fork failed: {exc}", file=sys.stderr)
            os.close(control_fd)
            return
        if pid == 0:
            compiled.PRELOADED = preloaded
            self.become_worker(sock_fd, control_fd)
        pidfd = os.pidfd_open(pid)
        try:
            with socket.socket(fileno=os.dup(sock_fd)) as sock:
                socket.send_fds(sock, [protocol.HELLO.pack(protocol.HELLO_MAGIC, pid)], [pidfd])
        except OSError:
            pass  # the parent gave up on this worker: it sees EOF and ends it
        child = Child(pid, pidfd, control_fd)
        self.children[pidfd] = self.children[control_fd] = child
        self.poll.register(pidfd, select.EPOLLIN)
        # EPOLLHUP once the parent closed its end (not when it only shut its writing
        # side, which stops the worker: the status is still to be sent then)
        self.poll.register(control_fd, 0)

    def exited(self, child: Child) -> None:
        # WNOWAIT: it stays a zombie (its pid reserved) until the parent lets go
        result = os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT | os.WNOHANG)
        if result is None:
            return  # not exited after all
        self.poll.unregister(child.pidfd)
        child.exited = True
        code = -result.si_status if result.si_code != os.CLD_EXITED else result.si_status
        if not child.released:
            try:
                os.write(child.status_fd, protocol.STATUS.pack(code))
            except OSError:
                child.released = True

    def reap(self, child: Child) -> None:
        os.waitpid(child.pid, 0)
        del self.children[child.pidfd], self.children[child.status_fd]
        if not child.released:
            self.poll.unregister(child.status_fd)
        os.close(child.pidfd)
        os.close(child.status_fd)

    def become_worker(self, sock_fd: int, control_fd: int) -> None:
        """In the child: keep two descriptors, a session of its own, then serve."""
        code = 70
        try:
            os.setsid()
            # fds 3, 4 and 5 become the worker's (socket, control socket for its
            # interrupts, the parent's pidfd); every other inherited one is closed
            copies = [os.dup(fd) for fd in (sock_fd, control_fd, self.owner) if fd is not None]
            for target, fd in enumerate(copies, start=3):
                os.dup2(fd, target)
            os.closerange(3 + len(copies), os.sysconf("SC_OPEN_MAX"))
            code = process.main(3, 4, 5 if self.owner is not None else None)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workers.zygote", description=__doc__)
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--owner", type=int)
    args = parser.parse_args(argv)
    control = socket.socket(fileno=args.fd)
    control.setblocking(True)
    owner = owner_pidfd(args.owner) if args.owner else None
    assert threading.active_count() == 1
    # Objects that exist now are shared by every worker: keep the collector (and its
    # reference count writes) off them, so the pages stay shared.
    gc.freeze()
    Zygote(control, owner).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
