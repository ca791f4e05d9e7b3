"""Paths resolved beneath a directory descriptor, and only beneath it.

Every guest path goes through ``openat2(2)`` with ``RESOLVE_BENEATH |
RESOLVE_NO_MAGICLINKS``: the kernel refuses absolute paths, ``..`` above the start
and symlinks whose target leaves the tree (``EXDEV``, answered here as ``EPERM``,
what wasmtime answers) and never follows a ``/proc`` magic link. Operations that are
not opens (mkdir, unlink, rename, link, symlink, readlink) act on the final component
of the path relative to its parent directory, itself opened with ``openat2``: the
``*at`` system calls do not follow a final symlink, and the component can hold no
``/``. Nothing here calls ``open`` on a path.
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

from workers.wasi_preview1.abi import EINVAL, ENOENT, EPERM
from workers.wasi_preview1.guest import WasiError

__all__ = [
    "components",
    "open_beneath",
    "parent_of",
    "set_times",
    "set_times_at",
    "split",
    "strip_dir_suffix",
    "timespec",
]

SYS_OPENAT2: Final = 437  # x86_64 and aarch64 alike
RESOLVE_NO_MAGICLINKS: Final = 0x02
RESOLVE_BENEATH: Final = 0x08
_RESOLVE: Final = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS
_OPEN_HOW: Final = struct.Struct("<QQQ")  # flags, mode, resolve
_RETRIES: Final = 16  # EAGAIN: a rename raced the ".." check

_libc = ctypes.CDLL(None, use_errno=True)
_syscall = _libc.syscall
_syscall.restype = ctypes.c_long


def _encode(path: str) -> bytes:
    if "\0" in path:
        raise WasiError(EINVAL)
    return path.encode("utf-8", "surrogateescape")


def open_beneath(dir_fd: int, path: str, flags: int, mode: int = 0) -> int:
    """``openat2(dir_fd, path, flags | O_CLOEXEC)`` confined beneath ``dir_fd``.

    Raises :class:`OSError` with the kernel's errno, or :class:`WasiError` (``EPERM``)
    when the path would leave the tree."""
    raw = _encode(path)
    flags |= os.O_CLOEXEC
    tmpfile = getattr(os, "O_TMPFILE", 0)  # (it includes O_DIRECTORY's bit)
    if not flags & os.O_CREAT and (not tmpfile or flags & tmpfile != tmpfile):
        mode = 0  # openat2 refuses a mode it would not use
    how = ctypes.create_string_buffer(_OPEN_HOW.pack(flags, mode, _RESOLVE), _OPEN_HOW.size)
    for _ in range(_RETRIES):
        fd = _syscall(
            ctypes.c_long(SYS_OPENAT2),
            ctypes.c_int(dir_fd),
            ctypes.c_char_p(raw),
            how,
            ctypes.c_size_t(_OPEN_HOW.size),
        )
        if fd >= 0:
            return int(fd)
        err = ctypes.get_errno()
        if err != errno.EAGAIN:
            break
    if err == errno.EXDEV:
        raise WasiError(EPERM)
    raise OSError(err, os.strerror(err), path)


def components(path: str) -> list[str]:
    """``path``'s components as Rust's ``Path::components`` gives them (what wasmtime
    splits by): ``/`` first for an absolute path, no empty ones, and ``.`` only as
    the first of a relative path."""
    out = ["/"] if path.startswith("/") else []
    for index, part in enumerate(path.split("/")):
        if part not in ("", ".") or (part == "." and index == 0 and not out):
            out.append(part)
    return out


def strip_dir_suffix(path: str) -> str:
    """``path`` without its trailing slashes (``/`` stays ``/``)."""
    stripped = path.rstrip("/")
    return stripped or path[:1]


def split(path: str) -> tuple[str, str]:
    """(parent, final component), as cap-std's ``split_parent`` (wasmtime) splits.

    A path that ends in ``/`` or ``/.``, or in ``..``, is all parent, and its final
    component is ``.``: the parent is then resolved whole (following symlinks,
    beneath the start) and the operation acts on ``.`` in it. The final component is
    never ``..`` and never holds a ``/``. ``""`` is ``ENOENT``; a NUL is refused
    (``EINVAL``) where the host call meets it, as in wasmtime."""
    if not path:
        raise WasiError(ENOENT)
    if not path.endswith(("/", "/.")):
        parts = components(path)
        if parts and parts[-1] not in ("..", "/"):
            head = parts[:-1]
            if head[:1] == ["/"]:
                return "/" + "/".join(head[1:]), parts[-1]
            return "/".join(head), parts[-1]
    return path, "."


@contextmanager
def parent_of(dir_fd: int, path: str) -> Iterator[tuple[int, str]]:
    """The parent directory of ``path`` opened beneath ``dir_fd`` (``O_PATH``, for
    the ``*at`` calls) and the final component; closed on leaving."""
    parent, name = split(path)
    fd = open_beneath(dir_fd, parent or ".", os.O_PATH | os.O_DIRECTORY)
    try:
        yield fd, name
    finally:
        os.close(fd)


# -- timestamps: utimensat(fd, "", times, AT_EMPTY_PATH) works on O_PATH descriptors --
UTIME_NOW: Final = (1 << 30) - 1
UTIME_OMIT: Final = (1 << 30) - 2
AT_EMPTY_PATH: Final = 0x1000
AT_SYMLINK_NOFOLLOW: Final = 0x100


class _Timespec(ctypes.Structure):
    _fields_ = (("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long))


_utimensat = _libc.utimensat
_utimensat.restype = ctypes.c_int


def timespec(value: int, set_it: bool, now: bool) -> tuple[int, int]:
    """One ``utimensat`` time from WASI's (timestamp, set, set to now)."""
    if set_it and now:
        raise WasiError(EINVAL)
    if set_it:
        return divmod(value, 1_000_000_000)
    return (0, UTIME_NOW) if now else (0, UTIME_OMIT)


def set_times(fd: int, atime: tuple[int, int], mtime: tuple[int, int]) -> None:
    """Set the times of what ``fd`` (any descriptor, ``O_PATH`` too) refers to."""
    times = (_Timespec * 2)(_Timespec(*atime), _Timespec(*mtime))
    if _utimensat(ctypes.c_int(fd), b"", times, ctypes.c_int(AT_EMPTY_PATH)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def set_times_at(dir_fd: int, name: str, atime: tuple[int, int], mtime: tuple[int, int]) -> None:
    """Set the times of ``name`` in ``dir_fd`` itself (a symlink is not followed)."""
    times = (_Timespec * 2)(_Timespec(*atime), _Timespec(*mtime))
    raw = _encode(name)
    if _utimensat(ctypes.c_int(dir_fd), raw, times, ctypes.c_int(AT_SYMLINK_NOFOLLOW)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
