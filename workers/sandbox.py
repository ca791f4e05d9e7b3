"""The worker process is the second wall around the wasm (wasmtime is the first).

Once a worker has its instance it needs no new files, sockets, processes or
privileges. :func:`harden` then applies, in order:

- ``RLIMIT_CORE = 0`` (a crash dumps no wasm memory to disk) and ``RLIMIT_DATA`` (the
  process's private writable memory, which includes the wasm's linear memory as it
  grows): a runtime bug cannot eat the machine. Growth past it fails inside the wasm,
  Python allocations raise MemoryError.
- ``PR_SET_NO_NEW_PRIVS``: no setuid/setcap gains, ever.
- On Linux, a seccomp filter (through ``pyseccomp`` over the system's libseccomp)
  that makes ``open``/``openat``/``creat``, socket creation and use, ``execve``,
  ``fork``/``vfork``/non-thread ``clone``, ``ptrace``, ``process_vm_*``, mounts,
  namespaces, module loading and ``bpf`` fail with ``EPERM``. Threads are still
  allowed (``clone`` with ``CLONE_THREAD``; ``clone3`` answers ``ENOSYS`` so libc falls
  back to ``clone``). When WASI preopens directories, ``openat`` stays allowed: the
  guest can only reach them through WASI's own capabilities. The filter is installed
  with ``SECCOMP_FILTER_FLAG_TSYNC``, on every thread at once: the interrupt thread
  (and any runtime thread) exists before it. libseccomp only compiles the program;
  the fork-server compiles both variants once, so a forked worker just loads one.

Everything the worker will ever import is imported before the filter goes on (Python
imports lazily, and a first import after it would fail with EPERM). Where seccomp is
not available, the worker logs a warning to stderr and carries on.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import resource
import sys
from collections.abc import Mapping
from typing import Any

PR_SET_NO_NEW_PRIVS = 38
CLONE_THREAD = 0x00010000

#: RLIMIT_DATA when no memory limit is given (the wasm32 maximum is 4 GiB).
DEFAULT_PROCESS_BYTES = 8 << 30
#: what the runtime and Python need beyond the wasm's own linear memory
PROCESS_HEADROOM = 1 << 30

DENIED_ALWAYS = (
    "creat", "socket", "socketpair", "connect", "bind", "listen", "accept", "accept4",
    "execve", "execveat", "fork", "vfork", "ptrace", "process_vm_readv",
    "process_vm_writev", "mount", "umount2", "pivot_root", "chroot", "unshare", "setns",
    "init_module", "finit_module", "delete_module", "kexec_load", "bpf",
    "perf_event_open", "userfaultfd", "keyctl", "add_key", "request_key", "setuid",
    "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setgroups",
)  # fmt: skip
DENIED_WITHOUT_DIRS = ("open", "openat", "openat2", "open_by_handle_at")


def process_limit(limits: Mapping[str, Any]) -> int:
    """RLIMIT_DATA for these limits (``process_bytes`` overrides the default)."""
    explicit = limits.get("process_bytes")
    if explicit is not None:
        return int(explicit)
    memory = limits.get("memory_bytes")
    return DEFAULT_PROCESS_BYTES if memory is None else int(memory) + PROCESS_HEADROOM


def _warn(text: str) -> None:
    print(f"beamr worker: {text}", file=sys.stderr, flush=True)


def set_limits(limits: Mapping[str, Any]) -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    data = process_limit(limits)
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if hard != resource.RLIM_INFINITY:
        data = min(data, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (data, data))


def no_new_privs() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        _warn(f"PR_SET_NO_NEW_PRIVS failed: {errno.errorcode.get(ctypes.get_errno())}")


#: the filter programs, compiled once (the fork-server compiles both before forking:
#: libseccomp takes ~1 ms and ~1 MiB of a worker's private memory to build one)
_PROGRAMS: dict[bool, bytes] = {}

SECCOMP_SET_MODE_FILTER = 1
SECCOMP_FILTER_FLAG_TSYNC = 1
#: the seccomp(2) system call, by machine
_SYS_SECCOMP = {"x86_64": 317, "aarch64": 277}


class _SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))


def compile_filter(allow_open: bool) -> bytes:
    """The BPF program of the filter (raw ``struct sock_filter`` entries)."""
    program = _PROGRAMS.get(allow_open)
    if program is not None:
        return program
    import pyseccomp as sc

    flt = sc.SyscallFilter(sc.ALLOW)
    denied = DENIED_ALWAYS if allow_open else DENIED_ALWAYS + DENIED_WITHOUT_DIRS
    for name in denied:
        try:
            flt.add_rule(sc.ERRNO(errno.EPERM), name)
        except Exception:  # a syscall this architecture does not have
            continue
    # clone: threads yes, new processes no
    flt.add_rule(sc.ERRNO(errno.EPERM), "clone", sc.Arg(0, sc.MASKED_EQ, CLONE_THREAD, 0))
    flt.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    read_fd, write_fd = os.pipe()
    try:
        with os.fdopen(write_fd, "wb", closefd=True) as sink:
            flt.export_bpf(sink)
        chunks = []
        while chunk := os.read(read_fd, 65536):
            chunks.append(chunk)
    finally:
        os.close(read_fd)
    program = b"".join(chunks)
    if not program or len(program) % 8:
        raise OSError("libseccomp exported no usable filter program")
    _PROGRAMS[allow_open] = program
    return program


def prepare() -> None:
    """Compile both filter programs now (the fork-server, before it forks)."""
    for allow_open in (False, True):
        try:
            compile_filter(allow_open)
        except Exception:  # the worker will say so itself
            return


def load_filter(program: bytes) -> None:
    """Install ``program`` on every thread of the process (``SECCOMP_FILTER_FLAG_TSYNC``:
    a thread started before the filter, like the interrupt thread, is covered too)."""
    number = _SYS_SECCOMP.get(platform.machine())
    if number is None:
        raise OSError(f"no seccomp(2) number known for {platform.machine()}")
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.addressof(buffer))
    libc = ctypes.CDLL(None, use_errno=True)
    result = libc.syscall(
        ctypes.c_long(number),
        ctypes.c_long(SECCOMP_SET_MODE_FILTER),
        ctypes.c_long(SECCOMP_FILTER_FLAG_TSYNC),
        ctypes.byref(fprog),
    )
    if result != 0:
        err = ctypes.get_errno()
        if result > 0:  # TSYNC: this thread could not be synchronised
            raise OSError(f"thread {result} could not take the filter")
        raise OSError(err, os.strerror(err))


def seccomp(allow_open: bool) -> bool:
    """Install the filter on every thread; False (and a warning) where unavailable."""
    try:
        program = compile_filter(allow_open)
    except Exception as exc:  # no binding, no libseccomp on this system, ...
        _warn(f"seccomp unavailable ({exc}); running without a syscall filter")
        return False
    try:
        load_filter(program)
    except Exception as exc:
        _warn(f"could not install the seccomp filter ({exc}); running without it")
        return False
    return True


def harden(options: Mapping[str, Any]) -> None:
    """Lock the worker down once its instance exists; see the module docstring."""
    set_limits(options.get("limits") or {})
    no_new_privs()
    wasi = options.get("wasi")
    allow_open = isinstance(wasi, dict) and bool(wasi.get("dirs"))
    if sys.platform.startswith("linux"):
        seccomp(allow_open)
