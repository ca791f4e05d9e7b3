"""Bulk memory io: copy straight between the parent and a worker's linear memory.

Large reads and writes do not travel through the socket inside msgpack frames (two
copies and a pipe at ≤ 1 GB/s). Instead the worker checks the range and reports
where it lies in its own address space (the ``locate`` command), and the parent
copies with ``process_vm_readv``/``process_vm_writev``: one copy, at memcpy speed.
Commands on an instance are serialized, so the worker is blocked reading its next
command and the wasm cannot run, grow or move its memory during the copy.

The copy reaches a process by pid. A pid is only trusted while the parent holds the
worker unreaped (a zombie keeps its pid), which :mod:`beamr._workers` guarantees for
every worker it starts; after that the bulk path is not used.

Where the system refuses (not Linux, a ptrace policy, a seccomp profile), the first
refusal switches the instance to the inline path for good: :class:`Unavailable`.
"""

from __future__ import annotations

import concurrent.futures
import ctypes
import ctypes.util
import errno
import os
import sys
import threading
from typing import Final

__all__ = ["AVAILABLE", "Fault", "Unavailable", "read", "write"]


class Unavailable(Exception):
    """The system does not let this process copy to or from that worker."""


class Fault(Exception):
    """The worker's reported range is not readable or writable: it lied, or died."""

    def __init__(self, text: str, gone: bool) -> None:
        super().__init__(text)
        #: the process is exiting or gone (not a lie about its memory)
        self.gone = gone


class _IOVec(ctypes.Structure):
    _fields_ = (("base", ctypes.c_void_p), ("length", ctypes.c_size_t))


def _load() -> tuple[object, object] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        readv, writev = libc.process_vm_readv, libc.process_vm_writev
    except (OSError, AttributeError):
        return None
    for fn in (readv, writev):
        fn.argtypes = (
            ctypes.c_int,
            ctypes.POINTER(_IOVec),
            ctypes.c_ulong,
            ctypes.POINTER(_IOVec),
            ctypes.c_ulong,
            ctypes.c_ulong,
        )
        fn.restype = ctypes.c_ssize_t
    return readv, writev


_FUNCS = _load()
#: Whether this platform has the calls at all (a worker may still refuse them).
AVAILABLE: Final = _FUNCS is not None

# A fresh, uninitialised ``bytes`` to copy into: no zero-fill, no second copy.
# ``ob_sval`` sits at the end of the fixed part of the object (CPython layout).
_CPYTHON = sys.implementation.name == "cpython"
if _CPYTHON:
    _new_bytes = ctypes.pythonapi.PyBytes_FromStringAndSize
    _new_bytes.argtypes = (ctypes.c_void_p, ctypes.c_ssize_t)
    _new_bytes.restype = ctypes.py_object
    _BYTES_DATA: Final = bytes.__basicsize__ - 1


def _bytes_address(data: bytes) -> int:
    if _CPYTHON:
        return id(data) + _BYTES_DATA
    address = ctypes.cast(ctypes.c_char_p(data), ctypes.c_void_p).value  # pragma: no cover
    return address or 0  # pragma: no cover


#: copies from this size up are split between this thread and a helper thread: the
#: kernel copies page by page on the calling thread, and the worker sleeps meanwhile,
#: so a second core nearly doubles the rate (make bench shows it)
PARALLEL_MIN = 4 << 20
_helper: concurrent.futures.ThreadPoolExecutor | None = None
_helper_lock = threading.Lock()


def _helper_pool() -> concurrent.futures.ThreadPoolExecutor | None:
    global _helper
    if (os.cpu_count() or 1) < 2:
        return None
    with _helper_lock:
        if _helper is None:
            _helper = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="beamr-copy")
        return _helper


def _forget_helper() -> None:
    """In a forked child: the helper thread did not come along."""
    global _helper, _helper_lock
    _helper, _helper_lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_helper)


def _copy(index: int, pid: int, local: int, remote: int, size: int) -> None:
    """Copy ``size`` bytes; large copies in two halves, one on a helper thread."""
    pool = _helper_pool() if size >= PARALLEL_MIN else None
    if pool is None:
        _copy_range(index, pid, local, remote, size)
        return
    half = (size // 2) & ~4095  # page-aligned halves
    other = pool.submit(_copy_range, index, pid, local + half, remote + half, size - half)
    try:
        _copy_range(index, pid, local, remote, half)
    finally:
        other.result()  # and its error, if it had one


def _copy_range(index: int, pid: int, local: int, remote: int, size: int) -> None:
    assert _FUNCS is not None
    fn = _FUNCS[index]
    done = 0
    while done < size:
        local_iov = _IOVec(local + done, size - done)
        remote_iov = _IOVec(remote + done, size - done)
        count = fn(pid, ctypes.byref(local_iov), 1, ctypes.byref(remote_iov), 1, 0)  # type: ignore[operator]
        if count > 0:
            done += count
            continue
        err = ctypes.get_errno() if count < 0 else errno.EFAULT
        if err == errno.EINTR:
            continue
        if err in (errno.EPERM, errno.EACCES, errno.ENOSYS):
            call = "process_vm_readv" if index == 0 else "process_vm_writev"
            raise Unavailable(f"{call}: {errno.errorcode[err]}")
        raise Fault(
            f"copying {size} bytes {'from' if index == 0 else 'to'} worker {pid} at 0x{remote:x} "
            f"failed after {done} bytes: {errno.errorcode.get(err, err)}",
            gone=err == errno.ESRCH,
        )


def read(pid: int, address: int, size: int) -> bytes:
    """``size`` bytes at ``address`` in process ``pid``, as a fresh ``bytes``."""
    if _FUNCS is None:
        raise Unavailable("process_vm_readv is not available on this platform")
    if size == 0:
        return b""
    if _CPYTHON:
        result: bytes = _new_bytes(None, size)
        _copy(0, pid, _bytes_address(result), address, size)
        return result
    buffer = bytearray(size)  # pragma: no cover - other implementations
    local = ctypes.addressof((ctypes.c_char * size).from_buffer(buffer))  # pragma: no cover
    _copy(0, pid, local, address, size)  # pragma: no cover
    return bytes(buffer)  # pragma: no cover


def write(pid: int, address: int, data: bytes) -> int:
    """Copy ``data`` to ``address`` in process ``pid``; the number of bytes copied."""
    if _FUNCS is None:
        raise Unavailable("process_vm_writev is not available on this platform")
    if type(data) is not bytes:
        raise TypeError("bulk writes take bytes")
    if data:
        _copy(1, pid, _bytes_address(data), address, len(data))
    return len(data)
