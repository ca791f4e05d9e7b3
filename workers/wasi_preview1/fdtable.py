"""The guest's descriptor table, numbered as wasmtime numbers it.

0, 1 and 2 are stdin, stdout and stderr, the preopened directories follow from 3 in
order, and a new descriptor takes the highest number freed by ``fd_close`` (or
``fd_renumber``), else one past the highest in use.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from typing import Final

from workers.wasi_preview1.abi import EBADF, ELOOP, ENOTDIR, ESPIPE
from workers.wasi_preview1.guest import WasiError

__all__ = ["Descriptor", "Directory", "File", "Stdio", "Table"]


@dataclass
class Stdio:
    stream: int  # 0, 1 or 2: what it was born as, whatever number it has now


@dataclass
class Directory:
    fd: int  # O_RDONLY | O_DIRECTORY
    preopen: str | None = None  # the guest path of a preopened directory


@dataclass
class File:
    fd: int
    readable: bool
    writable: bool
    append: bool = False
    nonblock: bool = False
    #: wasmtime keeps the offset itself and reads and writes at it (pread/pwrite)
    position: int = 0


Descriptor = Stdio | Directory | File
_LAST: Final = 0xFFFFFFFF


@dataclass
class Table:
    used: dict[int, Descriptor] = field(default_factory=dict)
    free: set[int] = field(default_factory=set)

    def push(self, desc: Descriptor) -> int:
        if self.free:
            number = max(self.free)
            self.free.discard(number)
        elif not self.used:
            number = 0
        else:
            number = max(self.used) + 1
            if number > _LAST:
                unused = (n for n in range(_LAST, -1, -1) if n not in self.used)
                number = next(unused, -1)
                if number < 0:
                    raise WasiError(ELOOP)
        self.used[number] = desc
        return number

    def get(self, fd: int) -> Descriptor:
        desc = self.used.get(fd)
        if desc is None:
            raise WasiError(EBADF)
        return desc

    def file(self, fd: int) -> File:
        desc = self.used.get(fd)
        if not isinstance(desc, File):
            raise WasiError(EBADF)
        return desc

    def seekable(self, fd: int) -> File:
        desc = self.used.get(fd)
        if isinstance(desc, Stdio):
            raise WasiError(ESPIPE)
        if not isinstance(desc, File):
            raise WasiError(EBADF)
        return desc

    def directory(self, fd: int) -> Directory:
        desc = self.used.get(fd)
        if not isinstance(desc, Directory):
            raise WasiError(EBADF)
        return desc

    def open_at(self, fd: int) -> Directory:
        """The directory ``path_open`` starts from (a file there is ``ENOTDIR``)."""
        desc = self.get(fd)
        if isinstance(desc, File):
            raise WasiError(ENOTDIR)
        if not isinstance(desc, Directory):
            raise WasiError(EBADF)
        return desc

    def host_fd(self, fd: int) -> int:
        """The host descriptor of a file or directory (stdio is ``EBADF``)."""
        desc = self.get(fd)
        if isinstance(desc, Stdio):
            raise WasiError(EBADF)
        return desc.fd

    def remove(self, fd: int) -> Descriptor:
        desc = self.used.pop(fd, None)
        if desc is None:
            raise WasiError(EBADF)
        self.free.add(fd)
        return desc

    def close_all(self) -> None:
        for desc in self.used.values():
            release(desc)
        self.used.clear()
        self.free.clear()


def release(desc: Descriptor) -> None:
    if not isinstance(desc, Stdio):
        with contextlib.suppress(OSError):
            os.close(desc.fd)
