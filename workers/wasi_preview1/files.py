"""The ``fd_*`` functions: stdio, files and directories by descriptor."""

from __future__ import annotations

import os
from typing import Final

from workers.wasi_preview1 import abi
from workers.wasi_preview1.base import Base, filestat, filetype, inode
from workers.wasi_preview1.fdtable import Directory, File, Stdio, release
from workers.wasi_preview1.guest import WasiError
from workers.wasi_preview1.resolve import set_times, timespec

__all__ = ["Files"]

_ADVICE: Final = (
    os.POSIX_FADV_NORMAL,
    os.POSIX_FADV_SEQUENTIAL,
    os.POSIX_FADV_RANDOM,
    os.POSIX_FADV_WILLNEED,
    os.POSIX_FADV_DONTNEED,
    os.POSIX_FADV_NOREUSE,
)
_I64_MAX: Final = (1 << 63) - 1


def _offset(value: int) -> int:
    """A file offset the host can take (wasmtime: ``EINVAL`` past i64)."""
    if value > _I64_MAX:
        raise WasiError(abi.EINVAL)
    return value


def _le(value: int, size: int) -> bytes:
    return value.to_bytes(size, "little")


class Files(Base):
    def fd_advise(self, fd: int, offset: int, length: int, advice: int) -> int:
        host = self.table.file(fd).fd
        os.posix_fadvise(host, _offset(offset), _offset(length), _ADVICE[advice])
        return 0

    def fd_allocate(self, fd: int, offset: int, length: int) -> int:
        self.table.file(fd)
        return abi.ENOTSUP

    def fd_close(self, fd: int) -> int:
        release(self.table.remove(fd))
        return 0

    def fd_datasync(self, fd: int) -> int:
        os.fdatasync(self.table.file(fd).fd)
        return 0

    def fd_sync(self, fd: int) -> int:
        os.fsync(self.table.file(fd).fd)
        return 0

    def fd_fdstat_get(self, fd: int, out: int) -> int:
        desc = self.table.get(fd)
        flags = 0
        if isinstance(desc, Stdio):
            kind = abi.FILETYPE_UNKNOWN
            base = inheriting = abi.RIGHT_FD_READ if desc.stream == 0 else abi.RIGHT_FD_WRITE
        elif isinstance(desc, Directory) and desc.preopen is not None:
            kind = abi.FILETYPE_DIRECTORY
            base, inheriting = abi.PREOPEN_RIGHTS_BASE, abi.PREOPEN_RIGHTS_INHERITING
        else:
            kind = filetype(os.fstat(desc.fd).st_mode)
            base = abi.RIGHTS_ALL
            readable = not isinstance(desc, File) or desc.readable
            writable = isinstance(desc, File) and desc.writable
            if kind == abi.FILETYPE_DIRECTORY:
                base &= ~(
                    abi.RIGHT_FD_SEEK
                    | abi.RIGHT_FD_FILESTAT_SET_SIZE
                    | abi.RIGHT_PATH_FILESTAT_SET_SIZE
                )
            if not readable:
                base &= ~(abi.RIGHT_FD_READ | abi.RIGHT_FD_READDIR)
            if not writable:
                base &= ~abi.RIGHT_FD_WRITE
            if isinstance(desc, File):
                flags = (abi.FDFLAG_APPEND if desc.append else 0) | (
                    abi.FDFLAG_NONBLOCK if desc.nonblock else 0
                )
            inheriting = base
        fields = [(0, bytes([kind])), (2, _le(flags, 2)), (8, _le(base, 8))]
        self.guest.struct(out, abi.FDSTAT_SIZE, [*fields, (16, _le(inheriting, 8))])
        return 0

    def fd_fdstat_set_flags(self, fd: int, flags: int) -> int:
        desc = self.table.file(fd)
        if flags & (abi.FDFLAG_DSYNC | abi.FDFLAG_SYNC | abi.FDFLAG_RSYNC):
            raise WasiError(abi.EINVAL)
        desc.append = bool(flags & abi.FDFLAG_APPEND)
        desc.nonblock = bool(flags & abi.FDFLAG_NONBLOCK)
        return 0

    def fd_fdstat_set_rights(self, fd: int, base: int, inheriting: int) -> int:
        self.table.host_fd(fd)
        return abi.ENOTSUP

    def fd_filestat_get(self, fd: int, out: int) -> int:
        desc = self.table.get(fd)
        if isinstance(desc, Stdio):
            self._filestat(out, bytes(abi.FILESTAT_SIZE))
        else:
            self._filestat(out, filestat(os.fstat(desc.fd)))
        return 0

    def _filestat(self, out: int, raw: bytes) -> None:
        fields = [(at, raw[at : at + 8]) for at in range(0, 64, 8) if at != 16]
        self.guest.struct(out, abi.FILESTAT_SIZE, [*fields, (16, raw[16:17])])

    def fd_filestat_set_size(self, fd: int, size: int) -> int:
        os.ftruncate(self.table.file(fd).fd, _offset(size))
        return 0

    def fd_filestat_set_times(self, fd: int, atim: int, mtim: int, flags: int) -> int:
        atime = timespec(atim, bool(flags & abi.FST_ATIM), bool(flags & abi.FST_ATIM_NOW))
        mtime = timespec(mtim, bool(flags & abi.FST_MTIM), bool(flags & abi.FST_MTIM_NOW))
        set_times(self.table.host_fd(fd), atime, mtime)
        return 0

    # -- reading and writing ------------------------------------------------------------
    def fd_read(self, fd: int, iovs: int, count: int, nread: int) -> int:
        buf, length = self.guest.first_buffer(iovs, count)
        desc = self.table.get(fd)
        if isinstance(desc, File):
            self.guest.check(buf, length)
            data = os.pread(desc.fd, length, _offset(desc.position))
            self.guest.write(buf, data)
            desc.position += len(data)
        elif isinstance(desc, Stdio) and desc.stream == 0:
            if not length and self.stdin_at < len(self.config.stdin or b""):
                raise WasiError(abi.EINTR)  # wasmtime: an empty read of a live stream
            data = self._stdin(length)
            self.guest.write(buf, data)
        else:
            raise WasiError(abi.EBADF)
        self.guest.size_out(nread, len(data))
        return 0

    def _stdin(self, length: int) -> bytes:
        source = self.config.stdin or b""
        data = source[self.stdin_at : self.stdin_at + length]
        self.stdin_at += len(data)
        return data

    def fd_pread(self, fd: int, iovs: int, count: int, offset: int, nread: int) -> int:
        buf, length = self.guest.first_buffer(iovs, count)
        desc = self.table.get(fd)
        if isinstance(desc, Stdio) and desc.stream == 0:
            raise WasiError(abi.ESPIPE)
        if not isinstance(desc, File):
            raise WasiError(abi.EBADF)
        data = os.pread(desc.fd, length, _offset(offset))
        self.guest.write(buf, data)
        self.guest.size_out(nread, len(data))
        return 0

    def fd_write(self, fd: int, iovs: int, count: int, nwritten: int) -> int:
        return self._write(fd, iovs, count, None, nwritten)

    def fd_pwrite(self, fd: int, iovs: int, count: int, offset: int, nwritten: int) -> int:
        return self._write(fd, iovs, count, offset, nwritten)

    def _write(self, fd: int, iovs: int, count: int, at: int | None, nwritten: int) -> int:
        buf, length = self.guest.first_buffer(iovs, count)
        desc = self.table.get(fd)
        if isinstance(desc, File):
            data = self.guest.read(buf, length)
            if desc.append:
                written = os.pwritev(desc.fd, [data], 0, os.RWF_APPEND)
                if at is None:
                    desc.position = os.fstat(desc.fd).st_size
            else:
                written = os.pwrite(desc.fd, data, _offset(desc.position if at is None else at))
                if at is None:
                    desc.position += written
        elif isinstance(desc, Stdio) and desc.stream != 0:
            if at is not None:
                raise WasiError(abi.ESPIPE)
            data = self.guest.read(buf, length)
            if data:
                self.config.output(desc.stream, data)
            written = len(data)
        else:
            raise WasiError(abi.EBADF)
        self.guest.size_out(nwritten, written)
        return 0

    # -- positions ------------------------------------------------------------------------
    def fd_seek(self, fd: int, offset: int, whence: int, out: int) -> int:
        desc = self.table.seekable(fd)
        if whence == 0:
            position = offset
        elif whence == 1:
            position = desc.position + offset
        else:
            position = os.fstat(desc.fd).st_size + offset
        if not 0 <= position < 1 << 64:
            raise WasiError(abi.EINVAL)
        desc.position = position
        self.guest.u64(out, position)
        return 0

    def fd_tell(self, fd: int, out: int) -> int:
        self.guest.u64(out, self.table.seekable(fd).position)
        return 0

    # -- preopens, renumbering, directories --------------------------------------------
    def fd_prestat_get(self, fd: int, out: int) -> int:
        desc = self.table.get(fd)
        if not isinstance(desc, Directory) or desc.preopen is None:
            raise WasiError(abi.EBADF)
        word = self.layout.word
        name_len = _le(len(desc.preopen.encode()), word)
        self.guest.check(out, 2 * word, word)
        self.guest.write(out, b"\0")
        self.guest.write(out + self.layout.prestat, name_len)
        return 0

    def fd_prestat_dir_name(self, fd: int, path: int, length: int) -> int:
        desc = self.table.get(fd)
        if not isinstance(desc, Directory) or desc.preopen is None:
            raise WasiError(abi.ENOTDIR)
        name = desc.preopen.encode()
        if len(name) > length:
            raise WasiError(abi.ENAMETOOLONG)
        self.guest.write(path, name)
        return 0

    def fd_renumber(self, fd: int, to: int) -> int:
        used = self.table.used
        if fd not in used or to not in used:
            raise WasiError(abi.EBADF)
        if fd != to:
            release(self.table.remove(to))
            used[to] = used.pop(fd)
            self.table.free.add(fd)
            self.table.free.discard(to)
        return 0

    def fd_readdir(self, fd: int, buf: int, length: int, cookie: int, bufused: int) -> int:
        host = self.table.directory(fd).fd
        own = os.fstat(host)
        here = inode(own.st_dev, own.st_ino)
        entries: list[tuple[int, int, bytes]] = [
            (here, abi.FILETYPE_DIRECTORY, b"."),
            (here, abi.FILETYPE_DIRECTORY, b".."),
        ]
        os.lseek(host, 0, os.SEEK_SET)
        with os.scandir(host) as listing:
            for entry in listing:
                try:
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue  # gone since it was listed
                name = entry.name.encode("utf-8", "surrogateescape")
                entries.append((inode(st.st_dev, st.st_ino), filetype(st.st_mode), name))
        left = length
        for index in range(min(cookie, len(entries)), len(entries)):
            ino, kind, name = entries[index]
            dirent = _le(index + 1, 8) + _le(ino, 8) + _le(len(name), 4) + bytes([kind, 0, 0, 0])
            for piece in (dirent, name):
                piece = piece[:left]
                self.guest.write(buf + length - left, piece)
                left -= len(piece)
                if not left:
                    self.guest.size_out(bufused, length)
                    return 0
        self.guest.size_out(bufused, length - left)
        return 0
