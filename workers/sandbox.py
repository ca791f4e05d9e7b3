"""The worker process is the second wall around the wasm (wasmtime is the first).

A worker compiles its module and opens what WASI needs (its preopened directories),
then hardens, and only then instantiates the module: no instruction of the module,
its start function included, runs before the sandbox is complete. Hardening, in
order:

1. Everything it needs is made ready first, while nothing is limited yet: the
   seccomp program is built (:mod:`workers.seccomp`, naming this process's pid) and
   its buffers allocated, the Landlock ruleset created (:mod:`workers.landlock`).
2. Every thread of the worker confines itself: ``PR_SET_NO_NEW_PRIVS``, all
   capabilities dropped (a worker started by root keeps uid 0 but no privilege),
   and the Landlock ruleset: with WASI dirs, file access only beneath them; without,
   no file access at all; signals and abstract sockets scoped to the worker (ABI 6).
3. ``RLIMIT_CORE = 0`` and ``RLIMIT_DATA`` (the process's private writable memory,
   wasm memory included: ``Limits.process_bytes``, by default ``memory_bytes`` +
   1 GiB, or 8 GiB).
4. The seccomp filter, on every thread at once (``SECCOMP_FILTER_FLAG_TSYNC``):
   sockets, new processes, other processes (ptrace, process_vm_*, signals to any pid
   but its own, pidfds), io_uring, memfd, mounts, namespaces, modules, bpf,
   credentials, limits and file metadata are refused with ``EPERM``; without WASI
   dirs, so is every call that reaches a file by path.

Hardening fails closed: if any step fails, :class:`SandboxFailure` is raised, the
parent gets a ``sandbox`` error (``beamr.SandboxError``) and the module never runs.
Only an explicit ``sandbox=False`` from the caller skips steps 1, 2 and 4.
"""

from __future__ import annotations

import ctypes
import os
import resource
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from beamr import protocol
from workers import landlock, seccomp

__all__ = [
    "DEFAULT_PROCESS_BYTES",
    "PROCESS_HEADROOM",
    "Plan",
    "SandboxFailure",
    "apply",
    "confine_thread",
    "plan",
    "process_limit",
]

PR_SET_NO_NEW_PRIVS: Final = 38
PR_GET_NO_NEW_PRIVS: Final = 39
PR_GET_SECCOMP: Final = 21
_CAPABILITY_VERSION_3: Final = 0x20080522

DEFAULT_PROCESS_BYTES: Final = protocol.DEFAULT_PROCESS_BYTES
PROCESS_HEADROOM: Final = protocol.PROCESS_HEADROOM
#: the least RLIMIT_DATA may leave free above what the worker uses before its module
#: runs (it must still be able to answer)
MINIMUM_FREE: Final = 32 << 20

_libc = ctypes.CDLL(None, use_errno=True)
_prctl = _libc.prctl
_prctl.restype = ctypes.c_int


class SandboxFailure(Exception):
    """Hardening could not be completed: the module must not run."""


def process_limit(limits: Mapping[str, Any]) -> int:
    """RLIMIT_DATA for these limits (``process_bytes`` overrides the default)."""
    return protocol.process_limit(limits.get("memory_bytes"), limits.get("process_bytes"))


class _CapHeader(ctypes.Structure):
    _fields_ = (("version", ctypes.c_uint32), ("pid", ctypes.c_int))


class _CapData(ctypes.Structure):
    _fields_ = (
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    )


@dataclass
class Plan:
    """Everything hardening needs, prepared before anything is limited."""

    enabled: bool
    data_limit: int
    filter: seccomp.Prepared | None = None
    ruleset: landlock.Ruleset | None = None
    #: pre-allocated arguments of capset(2): no allocation on the hardening path
    cap_header: _CapHeader | None = None
    cap_data: Any = None


def _data_in_use() -> int:
    """VmData of this process, in bytes (0 where /proc does not say)."""
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmData:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def plan(options: Mapping[str, Any]) -> Plan:
    """Prepare hardening for a worker with these ``init`` options."""
    limits = options.get("limits") or {}
    data_limit = process_limit(limits)
    in_use = _data_in_use()
    if data_limit < in_use + MINIMUM_FREE:
        raise SandboxFailure(
            f"Limits.process_bytes = {data_limit} bytes is below what the worker itself "
            f"uses before its module runs ({in_use} bytes) plus {MINIMUM_FREE} bytes to work in"
        )
    if options.get("sandbox") is False:
        return Plan(enabled=False, data_limit=data_limit)
    if not seccomp.SUPPORTED:
        raise SandboxFailure(f"no seccomp filter is known for {sys.platform}/{os.uname().machine}")
    wasi = options.get("wasi")
    dirs = list((wasi.get("dirs") or {}).keys()) if isinstance(wasi, dict) else []
    try:
        program = seccomp.build(os.getpid(), allow_files=bool(dirs))
        prepared = seccomp.Prepared(program)
    except Exception as exc:
        raise SandboxFailure(f"could not build the seccomp filter: {exc}") from None
    ruleset: landlock.Ruleset | None = None
    version = landlock.abi()
    if dirs and version < 1:
        raise SandboxFailure(
            "Landlock is not available on this kernel, so file access cannot be confined "
            "to the granted WASI dirs"
        )
    if version >= 1:
        try:
            ruleset = landlock.Ruleset(dirs, version)
        except OSError as exc:
            raise SandboxFailure(f"could not prepare the Landlock ruleset: {exc}") from None
    cap_data = (_CapData * 2)()
    return Plan(
        enabled=True,
        data_limit=data_limit,
        filter=prepared,
        ruleset=ruleset,
        cap_header=_CapHeader(_CAPABILITY_VERSION_3, 0),
        cap_data=cap_data,
    )


def confine_thread(plan: Plan) -> None:
    """Confine the calling thread: no new privileges, no capabilities, Landlock.

    Each of these is a per-thread attribute: every thread of the worker calls this."""
    if not plan.enabled:
        return
    if _prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise SandboxFailure(f"PR_SET_NO_NEW_PRIVS failed: {os.strerror(ctypes.get_errno())}")
    assert plan.cap_header is not None
    plan.cap_header.pid = 0  # this thread
    if _libc.capset(ctypes.byref(plan.cap_header), plan.cap_data) != 0:
        raise SandboxFailure(f"dropping capabilities failed: {os.strerror(ctypes.get_errno())}")
    if plan.ruleset is not None:
        try:
            plan.ruleset.restrict_this_thread()
        except OSError as exc:
            raise SandboxFailure(str(exc)) from None


def threads() -> int:
    """How many threads this process has."""
    return len(os.listdir("/proc/self/task"))


def apply(
    plan: Plan, confine_other_threads: Callable[[Plan], None], expected_threads: int = 2
) -> None:
    """Harden the whole process; see the module docstring. Raises SandboxFailure.

    ``confine_other_threads`` makes every other thread call :func:`confine_thread`
    and returns once they have (or raises); the process must have exactly
    ``expected_threads`` threads (a thread nobody confines would keep privileges)."""
    try:
        if plan.enabled:
            count = threads()
            if count != expected_threads:
                raise SandboxFailure(
                    f"the worker has {count} threads where {expected_threads} were expected: "
                    "a thread that does not confine itself would keep its privileges"
                )
            confine_thread(plan)
            confine_other_threads(plan)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        _, hard = resource.getrlimit(resource.RLIMIT_DATA)
        data = plan.data_limit if hard == resource.RLIM_INFINITY else min(plan.data_limit, hard)
        resource.setrlimit(resource.RLIMIT_DATA, (data, data))
        if plan.enabled:
            assert plan.filter is not None
            plan.filter.install()
            if (
                _prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != 2
                or _prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1
            ):
                raise SandboxFailure("the seccomp filter is not in force after loading it")
    except SandboxFailure:
        raise
    except Exception as exc:
        raise SandboxFailure(f"{type(exc).__name__}: {exc}") from None
    finally:
        if plan.ruleset is not None:
            plan.ruleset.close()
