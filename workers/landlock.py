"""Landlock: confine a worker's file system access to the WASI dirs it was granted.

A Landlock ruleset lists the kinds of access it handles (every file system right
this kernel knows, and, from ABI 4, TCP bind/connect) and the directories where
they stay allowed. Once a thread restricts itself with it, every open, create,
remove, rename or truncate outside those directories fails with ``EACCES``, for
that thread and any thread or process it starts. From ABI 6 the ruleset also scopes
signals and abstract unix sockets to the worker itself.

Restriction is per thread on this kernel generation, so every thread of the worker
restricts itself with the same ruleset (see :mod:`workers.sandbox`).
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct
from collections.abc import Iterable
from typing import Final

__all__ = ["Ruleset", "abi"]

_CREATE_RULESET: Final = 444
_ADD_RULE: Final = 445
_RESTRICT_SELF: Final = 446
_CREATE_RULESET_VERSION: Final = 1
_RULE_PATH_BENEATH: Final = 1

# file system rights, by the ABI that introduced them
_FS_RIGHTS_BY_ABI: Final = (
    (1, (1 << 13) - 1),  # execute .. make_sym: bits 0-12
    (2, 1 << 13),  # refer
    (3, 1 << 14),  # truncate
    (5, 1 << 15),  # ioctl_dev
)
_NET_RIGHTS: Final = (1 << 0) | (1 << 1)  # bind_tcp, connect_tcp (ABI 4)
_SCOPES: Final = (1 << 0) | (1 << 1)  # abstract unix sockets, signals (ABI 6)

_libc = ctypes.CDLL(None, use_errno=True)
_syscall = _libc.syscall
_syscall.restype = ctypes.c_long


def abi() -> int:
    """The Landlock ABI version of this kernel; 0 where Landlock is unavailable."""
    result = _syscall(
        ctypes.c_long(_CREATE_RULESET), None, ctypes.c_size_t(0), _CREATE_RULESET_VERSION
    )
    return int(result) if result > 0 else 0


def _fs_rights(version: int) -> int:
    rights = 0
    for since, bits in _FS_RIGHTS_BY_ABI:
        if version >= since:
            rights |= bits
    return rights


class Ruleset:
    """A ruleset that allows everything it handles beneath ``dirs`` and nothing else."""

    def __init__(self, dirs: Iterable[str], version: int | None = None) -> None:
        self.version = abi() if version is None else version
        if self.version < 1:
            raise OSError(errno.ENOSYS, "Landlock is not available on this kernel")
        fs = _fs_rights(self.version)
        if self.version >= 6:
            attr = struct.pack("<QQQ", fs, _NET_RIGHTS, _SCOPES)
        elif self.version >= 4:
            attr = struct.pack("<QQ", fs, _NET_RIGHTS)
        else:
            attr = struct.pack("<Q", fs)
        buffer = ctypes.create_string_buffer(attr, len(attr))
        fd = _syscall(ctypes.c_long(_CREATE_RULESET), buffer, ctypes.c_size_t(len(attr)), 0)
        if fd < 0:
            raise _error("landlock_create_ruleset")
        self.fd = int(fd)
        try:
            for path in dirs:
                self._allow_beneath(path, fs)
        except BaseException:
            self.close()
            raise

    def _allow_beneath(self, path: str, rights: int) -> None:
        dir_fd = os.open(path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            rule = struct.pack("<Qi", rights, dir_fd)  # packed: 12 bytes
            buffer = ctypes.create_string_buffer(rule, len(rule))
            if _syscall(ctypes.c_long(_ADD_RULE), self.fd, _RULE_PATH_BENEATH, buffer, 0) != 0:
                raise _error(f"landlock_add_rule({path!r})")
        finally:
            os.close(dir_fd)

    def restrict_this_thread(self) -> None:
        """Enforce the ruleset on the calling thread (it needs no_new_privs set)."""
        if _syscall(ctypes.c_long(_RESTRICT_SELF), self.fd, 0) != 0:
            raise _error("landlock_restrict_self")

    def close(self) -> None:
        fd, self.fd = self.fd, -1
        if fd >= 0:
            os.close(fd)


def _error(what: str) -> OSError:
    err = ctypes.get_errno()
    return OSError(err, f"{what}: {os.strerror(err)}")
