"""The ``path_*`` functions: everything reached by a path beneath a directory fd.

Each path resolves as wasmtime (cap-std) resolves it, through
:mod:`workers.wasi_preview1.resolve`: opens and stats with
``openat2(RESOLVE_BENEATH)``; the other operations act with the ``*at`` system
calls on the final component (a plain name, or ``.``) in the parent directory, which
is itself opened with ``openat2``. No call here is handed a guest path that could
leave the tree, nor a final component a ``*at`` call could follow out.
"""

from __future__ import annotations

import os
import stat

from workers.wasi_preview1 import abi
from workers.wasi_preview1.base import Base, filestat
from workers.wasi_preview1.fdtable import Directory, File
from workers.wasi_preview1.guest import WasiError
from workers.wasi_preview1.resolve import (
    open_beneath,
    parent_of,
    set_times,
    set_times_at,
    strip_dir_suffix,
    timespec,
)

__all__ = ["Paths"]


class Paths(Base):
    def _dir(self, fd: int) -> int:
        return self.table.directory(fd).fd

    def _path(self, ptr: int, length: int) -> str:
        return self.guest.string(ptr, length)

    def _stat_path(self, dirfd: int, path: str, follow: bool) -> int:
        """An ``O_PATH`` descriptor of what ``path`` names (the link itself unless
        ``follow``)."""
        return open_beneath(dirfd, path, os.O_PATH | (0 if follow else os.O_NOFOLLOW))

    def path_create_directory(self, fd: int, path: int, length: int) -> int:
        dirfd = self._dir(fd)
        with parent_of(dirfd, strip_dir_suffix(self._path(path, length))) as (parent, name):
            os.mkdir(name, 0o777, dir_fd=parent)
        return 0

    def path_remove_directory(self, fd: int, path: int, length: int) -> int:
        dirfd = self._dir(fd)
        with parent_of(dirfd, self._path(path, length)) as (parent, name):
            os.rmdir(name, dir_fd=parent)
        return 0

    def path_unlink_file(self, fd: int, path: int, length: int) -> int:
        dirfd = self._dir(fd)
        with parent_of(dirfd, self._path(path, length)) as (parent, name):
            os.unlink(name, dir_fd=parent)
        return 0

    def path_filestat_get(self, fd: int, flags: int, path: int, length: int, out: int) -> int:
        dirfd = self._dir(fd)
        follow = bool(flags & abi.LOOKUP_SYMLINK_FOLLOW)
        opened = self._stat_path(dirfd, self._path(path, length), follow)
        try:
            st = os.fstat(opened)
        finally:
            os.close(opened)
        raw = filestat(st)
        fields = [(at, raw[at : at + 8]) for at in range(0, 64, 8) if at != 16]
        self.guest.struct(out, abi.FILESTAT_SIZE, [*fields, (16, raw[16:17])])
        return 0

    def path_filestat_set_times(
        self, fd: int, flags: int, path: int, length: int, atim: int, mtim: int, fst: int
    ) -> int:
        atime = timespec(atim, bool(fst & abi.FST_ATIM), bool(fst & abi.FST_ATIM_NOW))
        mtime = timespec(mtim, bool(fst & abi.FST_MTIM), bool(fst & abi.FST_MTIM_NOW))
        dirfd = self._dir(fd)
        name = self._path(path, length)
        if not flags & abi.LOOKUP_SYMLINK_FOLLOW:
            with parent_of(dirfd, name) as (parent, final):
                set_times_at(parent, final, atime, mtime)
            return 0
        opened = self._stat_path(dirfd, name, True)
        try:
            set_times(opened, atime, mtime)
        finally:
            os.close(opened)
        return 0

    def path_link(
        self,
        old_fd: int,
        old_flags: int,
        old_path: int,
        old_len: int,
        new_fd: int,
        new_path: int,
        new_len: int,
    ) -> int:
        old_dir, new_dir = self._dir(old_fd), self._dir(new_fd)
        old, new = self._path(old_path, old_len), self._path(new_path, new_len)
        if old_flags & abi.LOOKUP_SYMLINK_FOLLOW:
            raise WasiError(abi.EINVAL)  # wasmtime links no symlink's target
        with parent_of(old_dir, old) as (source, name), parent_of(new_dir, new) as (dest, to):
            os.link(name, to, src_dir_fd=source, dst_dir_fd=dest, follow_symlinks=False)
        return 0

    def path_open(
        self,
        fd: int,
        dirflags: int,
        path: int,
        length: int,
        oflags: int,
        base: int,
        inheriting: int,
        fdflags: int,
        opened: int,
    ) -> int:
        name = self._path(path, length)
        dirfd = self.table.open_at(fd).fd
        if fdflags & (abi.FDFLAG_SYNC | abi.FDFLAG_DSYNC | abi.FDFLAG_RSYNC):
            raise WasiError(abi.ENOTSUP)
        directory = bool(oflags & abi.O_DIRECTORY)
        if directory and oflags & (abi.O_CREAT | abi.O_EXCL | abi.O_TRUNC):
            raise WasiError(abi.EINVAL)
        readable = bool(base & abi.RIGHT_FD_READ)
        writable = bool(base & abi.RIGHT_FD_WRITE) or bool(oflags & (abi.O_CREAT | abi.O_TRUNC))
        readable = readable or not base & abi.RIGHT_FD_WRITE
        flags = (os.O_RDWR if readable else os.O_WRONLY) if writable else os.O_RDONLY
        if oflags & abi.O_CREAT:
            flags |= os.O_CREAT | (os.O_EXCL if oflags & abi.O_EXCL else 0)
        if oflags & abi.O_TRUNC:
            flags |= os.O_TRUNC
        if not dirflags & abi.LOOKUP_SYMLINK_FOLLOW:
            flags |= os.O_NOFOLLOW
        # as wasmtime: no O_DIRECTORY (a directory is checked for once open), and
        # O_NONBLOCK until then, so that a FIFO cannot hold the open forever
        host = open_beneath(dirfd, name, flags | os.O_NOCTTY | os.O_NONBLOCK, 0o666)
        try:
            os.set_blocking(host, True)
            if stat.S_ISDIR(os.fstat(host).st_mode):
                desc: Directory | File = Directory(host)
            elif directory:
                raise WasiError(abi.ENOTDIR)
            else:
                desc = File(
                    host,
                    readable,
                    writable,
                    append=bool(fdflags & abi.FDFLAG_APPEND),
                    nonblock=bool(fdflags & abi.FDFLAG_NONBLOCK),
                )
            number = self.table.push(desc)
        except BaseException:
            os.close(host)
            raise
        self.guest.u32(opened, number)
        return 0

    def path_readlink(
        self, fd: int, path: int, length: int, buf: int, buf_len: int, bufused: int
    ) -> int:
        dirfd = self._dir(fd)
        with parent_of(dirfd, self._path(path, length)) as (parent, name):
            link = os.readlink(name.encode(), dir_fd=parent)
        if link.startswith(b"/"):
            raise WasiError(abi.EPERM)  # wasmtime tells no absolute target
        try:
            link.decode("utf-8")
        except UnicodeDecodeError:
            raise WasiError(abi.EILSEQ) from None
        link = link[:buf_len]
        self.guest.write(buf, link)
        self.guest.size_out(bufused, len(link))
        return 0

    def path_rename(
        self, fd: int, old_path: int, old_len: int, new_fd: int, new_path: int, new_len: int
    ) -> int:
        old_dir, new_dir = self._dir(fd), self._dir(new_fd)
        old, new = self._path(old_path, old_len), self._path(new_path, new_len)
        # the kernel's rename follows neither final component, and a trailing "/" on
        # either makes a source that is no directory ENOTDIR: both are passed on
        old_slash = "/" if old.endswith("/") else ""
        new_slash = "/" if new.endswith("/") else ""
        old, new = strip_dir_suffix(old), strip_dir_suffix(new)
        with parent_of(old_dir, old) as (source, name), parent_of(new_dir, new) as (dest, to):
            if name == ".":
                old_slash = ""
            if to == ".":
                new_slash = ""
            os.rename(name + old_slash, to + new_slash, src_dir_fd=source, dst_dir_fd=dest)
        return 0

    def path_symlink(
        self, old_path: int, old_len: int, fd: int, new_path: int, new_len: int
    ) -> int:
        dirfd = self._dir(fd)
        contents, new = self._path(old_path, old_len), self._path(new_path, new_len)
        if contents.startswith("/"):
            raise WasiError(abi.EPERM)  # wasmtime makes no absolute symlink
        with parent_of(dirfd, new) as (parent, name):
            os.symlink(contents, name, dir_fd=parent)
        return 0
