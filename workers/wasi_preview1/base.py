"""The state every group of WASI functions shares, and helpers over it."""

from __future__ import annotations

import hashlib
import os
import stat
import time

from workers.wasi_preview1 import abi
from workers.wasi_preview1.config import Config
from workers.wasi_preview1.fdtable import Directory, Stdio, Table
from workers.wasi_preview1.guest import Guest, Memory

__all__ = ["Base", "filestat", "filetype", "inode"]


class Base:
    def __init__(self, config: Config, memory: Memory, *, wasm64: bool) -> None:
        self.config = config
        self.wasm64 = wasm64
        self.layout = abi.LAYOUT64 if wasm64 else abi.LAYOUT32
        self.guest = Guest(memory, self.layout)
        self.table = Table()
        #: where fd 0 has read up to in ``config.stdin``
        self.stdin_at = 0
        #: the monotonic clock counts from here (wasmtime: from its context's birth)
        self.origin = time.monotonic_ns()
        for stream in (0, 1, 2):
            self.table.push(Stdio(stream))
        try:
            for preopen in config.preopens:
                self.table.push(Directory(os.dup(preopen.fd), preopen.guest))
        except BaseException:
            self.table.close_all()
            raise

    def close(self) -> None:
        """Close every descriptor this instance opened (its copies of the preopens too)."""
        self.table.close_all()


def filetype(mode: int) -> int:
    if stat.S_ISREG(mode):
        return abi.FILETYPE_REGULAR
    if stat.S_ISDIR(mode):
        return abi.FILETYPE_DIRECTORY
    if stat.S_ISLNK(mode):
        return abi.FILETYPE_SYMLINK
    if stat.S_ISCHR(mode):
        return abi.FILETYPE_CHAR
    if stat.S_ISBLK(mode):
        return abi.FILETYPE_BLOCK
    if stat.S_ISSOCK(mode):
        return abi.FILETYPE_SOCKET_STREAM
    return abi.FILETYPE_UNKNOWN


def inode(dev: int, ino: int) -> int:
    """What the guest sees as an inode number: a stable 64-bit digest of the host's
    (device, inode), like wasmtime's ``metadata_hash`` (the host's numbers stay
    unseen, and two preopens on two devices cannot collide)."""
    digest = hashlib.blake2b(f"{dev}:{ino}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def filestat(st: os.stat_result) -> bytes:
    """A ``filestat`` (64 bytes) for a host ``stat`` result; dev is 1, as wasmtime's."""
    return (
        (1).to_bytes(8, "little")
        + inode(st.st_dev, st.st_ino).to_bytes(8, "little")
        + bytes([filetype(st.st_mode)])
        + bytes(7)
        + b"".join(
            max(0, value).to_bytes(8, "little")
            for value in (st.st_nlink, st.st_size, st.st_atime_ns, st.st_mtime_ns, st.st_ctime_ns)
        )
    )
