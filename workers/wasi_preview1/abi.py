"""The ``wasi_snapshot_preview1`` ABI, for wasm32 and for emscripten's wasm64.

One table describes every function: each parameter is a kind, and the kind decides
the value type in either flavour. A pointer (``p``) or a ``size`` (``z``) is an i32
for wasm32 and an i64 for wasm64 (emscripten's ``wasm64`` ABI, where both are C's
``void *`` and ``size_t``); everything else has the same type in both.

Memory layouts follow from the same rule: what holds a pointer or a ``size`` is 4
bytes (wasm32) or 8 bytes (wasm64), aligned to its size, and nothing else changes
(``iovec`` is ``{buf, len}`` of two such words; ``prestat`` is ``{u8 tag, size
name_len}``; sizes written back, like ``nwritten``, are one word). Verified against
emscripten's ``src/struct_info_generated_wasm64.json`` (``iovec`` 16 bytes,
``__wasi_prestat_t`` 16 bytes with ``u`` at 8) and ``src/lib/libsigs.js`` (``p`` for
pointers and sizes), and against HyperBEAM's ``dev_wasi.erl`` (16-byte iovecs,
64-bit ``nwritten``/``nread``).
"""

from __future__ import annotations

import errno as host_errno
from dataclasses import dataclass
from typing import Final

__all__ = ["FUNCTIONS", "LAYOUT32", "LAYOUT64", "Layout", "Param", "errno_of", "signatures"]

# -- errno (witx $errno) ------------------------------------------------------------
SUCCESS: Final = 0
E2BIG, EACCES, EADDRINUSE, EADDRNOTAVAIL, EAFNOSUPPORT, EAGAIN, EALREADY = range(1, 8)
EBADF, EBADMSG, EBUSY, ECANCELED, ECHILD, ECONNABORTED, ECONNREFUSED = range(8, 15)
ECONNRESET, EDEADLK, EDESTADDRREQ, EDOM, EDQUOT, EEXIST, EFAULT, EFBIG = range(15, 23)
EHOSTUNREACH, EIDRM, EILSEQ, EINPROGRESS, EINTR, EINVAL, EIO, EISCONN = range(23, 31)
EISDIR, ELOOP, EMFILE, EMLINK, EMSGSIZE, EMULTIHOP, ENAMETOOLONG = range(31, 38)
ENETDOWN, ENETRESET, ENETUNREACH, ENFILE, ENOBUFS, ENODEV, ENOENT = range(38, 45)
ENOEXEC, ENOLCK, ENOLINK, ENOMEM, ENOMSG, ENOPROTOOPT, ENOSPC, ENOSYS = range(45, 53)
ENOTCONN, ENOTDIR, ENOTEMPTY, ENOTRECOVERABLE, ENOTSOCK, ENOTSUP, ENOTTY = range(53, 60)
ENXIO, EOVERFLOW, EOWNERDEAD, EPERM, EPIPE, EPROTO, EPROTONOSUPPORT = range(60, 67)
EPROTOTYPE, ERANGE, EROFS, ESPIPE, ESRCH, ESTALE, ETIMEDOUT, ETXTBSY = range(67, 75)
EXDEV, ENOTCAPABLE = 75, 76

# witx names the errno values after POSIX: the host's errno of the same name maps to it
_NAMES: Final = (
    "E2BIG", "EACCES", "EADDRINUSE", "EADDRNOTAVAIL", "EAFNOSUPPORT", "EAGAIN", "EALREADY",
    "EBADF", "EBADMSG", "EBUSY", "ECANCELED", "ECHILD", "ECONNABORTED", "ECONNREFUSED",
    "ECONNRESET", "EDEADLK", "EDESTADDRREQ", "EDOM", "EDQUOT", "EEXIST", "EFAULT", "EFBIG",
    "EHOSTUNREACH", "EIDRM", "EILSEQ", "EINPROGRESS", "EINTR", "EINVAL", "EIO", "EISCONN",
    "EISDIR", "ELOOP", "EMFILE", "EMLINK", "EMSGSIZE", "EMULTIHOP", "ENAMETOOLONG",
    "ENETDOWN", "ENETRESET", "ENETUNREACH", "ENFILE", "ENOBUFS", "ENODEV", "ENOENT",
    "ENOEXEC", "ENOLCK", "ENOLINK", "ENOMEM", "ENOMSG", "ENOPROTOOPT", "ENOSPC", "ENOSYS",
    "ENOTCONN", "ENOTDIR", "ENOTEMPTY", "ENOTRECOVERABLE", "ENOTSOCK", "ENOTSUP", "ENOTTY",
    "ENXIO", "EOVERFLOW", "EOWNERDEAD", "EPERM", "EPIPE", "EPROTO", "EPROTONOSUPPORT",
    "EPROTOTYPE", "ERANGE", "EROFS", "ESPIPE", "ESRCH", "ESTALE", "ETIMEDOUT", "ETXTBSY",
    "EXDEV",
)  # fmt: skip
_FROM_HOST: Final = {
    getattr(host_errno, name): wasi
    for wasi, name in enumerate(_NAMES, start=1)
    if hasattr(host_errno, name)
}
_FROM_HOST.setdefault(host_errno.EOPNOTSUPP, ENOTSUP)
_FROM_HOST.setdefault(host_errno.EWOULDBLOCK, EAGAIN)


def errno_of(exc: OSError) -> int:
    """The WASI errno for a host error (EIO for one WASI has no name for)."""
    return _FROM_HOST.get(exc.errno or 0, EIO)


# -- flags and enums checked where an argument enters (wasmtime traps on bad ones) --
#: kind -> (largest value of its representation, mask of its defined bits, or None for
#: an enum with values 0..count-1 given as a negative count)
CHECKS: Final[dict[str, tuple[int, int]]] = {
    "clockid": (0xFFFFFFFF, -4),
    "advice": (0xFF, -6),
    "whence": (0xFF, -3),
    "signal": (0xFF, -31),
    "fdflags": (0xFFFF, 0x1F),
    "oflags": (0xFFFF, 0xF),
    "lookupflags": (0xFFFFFFFF, 0x1),
    "fstflags": (0xFFFF, 0xF),
    "riflags": (0xFFFF, 0x3),
    "siflags": (0xFFFF, 0xFFFF),
    "sdflags": (0xFF, 0x3),
    "rights": (0xFFFFFFFFFFFFFFFF, (1 << 30) - 1),
}


@dataclass(frozen=True)
class Param:
    name: str
    #: ``fd``/``u32`` (i32), ``u64``/``s64`` (i64), ``p`` pointer, ``z`` size, or a
    #: flags/enum kind of :data:`CHECKS` (``rights`` is i64, the others i32)
    kind: str

    def value_type(self, wasm64: bool) -> str:
        if self.kind in ("p", "z"):
            return "i64" if wasm64 else "i32"
        return "i64" if self.kind in ("u64", "s64", "rights") else "i32"


def _parse(spec: str) -> tuple[Param, ...]:
    params = []
    for item in spec.split():
        name, _, kind = item.partition(":")
        params.append(Param(name, kind))
    return tuple(params)


#: every function: name -> its parameters (all return an errno but proc_exit)
FUNCTIONS: Final[dict[str, tuple[Param, ...]]] = {
    name: _parse(spec)
    for name, spec in {
        "args_get": "argv:p argv_buf:p",
        "args_sizes_get": "argc:p argv_buf_size:p",
        "environ_get": "environ:p environ_buf:p",
        "environ_sizes_get": "count:p buf_size:p",
        "clock_res_get": "id:clockid resolution:p",
        "clock_time_get": "id:clockid precision:u64 time:p",
        "fd_advise": "fd:fd offset:u64 len:u64 advice:advice",
        "fd_allocate": "fd:fd offset:u64 len:u64",
        "fd_close": "fd:fd",
        "fd_datasync": "fd:fd",
        "fd_fdstat_get": "fd:fd stat:p",
        "fd_fdstat_set_flags": "fd:fd flags:fdflags",
        "fd_fdstat_set_rights": "fd:fd base:rights inheriting:rights",
        "fd_filestat_get": "fd:fd stat:p",
        "fd_filestat_set_size": "fd:fd size:u64",
        "fd_filestat_set_times": "fd:fd atim:u64 mtim:u64 flags:fstflags",
        "fd_pread": "fd:fd iovs:p iovs_len:z offset:u64 nread:p",
        "fd_prestat_get": "fd:fd prestat:p",
        "fd_prestat_dir_name": "fd:fd path:p path_len:z",
        "fd_pwrite": "fd:fd iovs:p iovs_len:z offset:u64 nwritten:p",
        "fd_read": "fd:fd iovs:p iovs_len:z nread:p",
        "fd_readdir": "fd:fd buf:p buf_len:z cookie:u64 bufused:p",
        "fd_renumber": "fd:fd to:fd",
        "fd_seek": "fd:fd offset:s64 whence:whence newoffset:p",
        "fd_sync": "fd:fd",
        "fd_tell": "fd:fd offset:p",
        "fd_write": "fd:fd iovs:p iovs_len:z nwritten:p",
        "path_create_directory": "fd:fd path:p path_len:z",
        "path_filestat_get": "fd:fd flags:lookupflags path:p path_len:z stat:p",
        "path_filestat_set_times": (
            "fd:fd flags:lookupflags path:p path_len:z atim:u64 mtim:u64 fst:fstflags"
        ),
        "path_link": (
            "old_fd:fd old_flags:lookupflags old_path:p old_len:z new_fd:fd new_path:p new_len:z"
        ),
        "path_open": (
            "fd:fd dirflags:lookupflags path:p path_len:z oflags:oflags base:rights "
            "inheriting:rights fdflags:fdflags opened:p"
        ),
        "path_readlink": "fd:fd path:p path_len:z buf:p buf_len:z bufused:p",
        "path_remove_directory": "fd:fd path:p path_len:z",
        "path_rename": "fd:fd old_path:p old_len:z new_fd:fd new_path:p new_len:z",
        "path_symlink": "old_path:p old_len:z fd:fd new_path:p new_len:z",
        "path_unlink_file": "fd:fd path:p path_len:z",
        "poll_oneoff": "subscriptions:p events:p count:z nevents:p",
        "proc_exit": "code:u32",
        "proc_raise": "signal:signal",
        "sched_yield": "",
        "random_get": "buf:p buf_len:z",
        "sock_accept": "fd:fd flags:fdflags opened:p",
        "sock_recv": "fd:fd data:p data_len:z flags:riflags datalen:p oflags:p",
        "sock_send": "fd:fd data:p data_len:z flags:siflags datalen:p",
        "sock_shutdown": "fd:fd how:sdflags",
    }.items()
}


def signatures(wasm64: bool) -> dict[str, tuple[list[str], list[str]]]:
    """The import signature of every function: (param types, result types)."""
    return {
        name: (
            [p.value_type(wasm64) for p in params],
            [] if name == "proc_exit" else ["i32"],
        )
        for name, params in FUNCTIONS.items()
    }


@dataclass(frozen=True)
class Layout:
    """Where the pointer width shows in memory."""

    word: int  # a pointer or a size: 4 or 8 bytes, aligned to itself
    iovec: int  # {buf, len}
    prestat: int  # {u8 tag, size name_len}: the name length's offset
    mask: int  # the largest pointer or size


LAYOUT32: Final = Layout(word=4, iovec=8, prestat=4, mask=0xFFFFFFFF)
LAYOUT64: Final = Layout(word=8, iovec=16, prestat=8, mask=0xFFFFFFFFFFFFFFFF)

# -- fixed layouts (the same for both flavours) ---------------------------------------
FILESTAT_SIZE: Final = 64  # dev, ino, filetype(u8), nlink, size, atim, mtim, ctim
FDSTAT_SIZE: Final = 24  # filetype(u8), flags(u16), rights_base, rights_inheriting
DIRENT_SIZE: Final = 24  # d_next, d_ino, d_namlen(u32), d_type(u8)
SUBSCRIPTION_SIZE: Final = 48
EVENT_SIZE: Final = 32

# filetype
FILETYPE_UNKNOWN, FILETYPE_BLOCK, FILETYPE_CHAR, FILETYPE_DIRECTORY = 0, 1, 2, 3
FILETYPE_REGULAR, FILETYPE_SOCKET_DGRAM, FILETYPE_SOCKET_STREAM, FILETYPE_SYMLINK = 4, 5, 6, 7

# fdflags, oflags, lookupflags, fstflags
FDFLAG_APPEND, FDFLAG_DSYNC, FDFLAG_NONBLOCK, FDFLAG_RSYNC, FDFLAG_SYNC = 1, 2, 4, 8, 16
O_CREAT, O_DIRECTORY, O_EXCL, O_TRUNC = 1, 2, 4, 8
LOOKUP_SYMLINK_FOLLOW: Final = 1
FST_ATIM, FST_ATIM_NOW, FST_MTIM, FST_MTIM_NOW = 1, 2, 4, 8

# rights (bit numbers in witx order)
RIGHT_FD_READ: Final = 1 << 1
RIGHT_FD_SEEK: Final = 1 << 2
RIGHT_FD_WRITE: Final = 1 << 6
RIGHT_FD_READDIR: Final = 1 << 14
RIGHT_PATH_FILESTAT_SET_SIZE: Final = 1 << 19
RIGHT_FD_FILESTAT_SET_SIZE: Final = 1 << 22
RIGHTS_ALL: Final = (1 << 30) - 1


def _bits(*numbers: int) -> int:
    return sum(1 << n for n in numbers)


#: what wasmtime reports for a preopened directory: the path rights, readdir and the
#: directory's own filestat get/set_times; it may hand on the fd rights too
PREOPEN_RIGHTS_BASE: Final = _bits(9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 20, 21, 23, 24, 25, 26)
PREOPEN_RIGHTS_INHERITING: Final = PREOPEN_RIGHTS_BASE | _bits(0, 1, 2, 3, 4, 5, 6, 7, 8, 22, 27)

# clocks, events
CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME, CLOCK_THREAD_CPUTIME = 0, 1, 2, 3
EVENTTYPE_CLOCK, EVENTTYPE_FD_READ, EVENTTYPE_FD_WRITE = 0, 1, 2
SUBCLOCK_ABSTIME: Final = 1
EVENT_FD_READWRITE_HANGUP: Final = 1

#: wasmtime's per-call allowance of guest bytes (``hostcall_fuel``): ENOMEM beyond it
HOSTCALL_FUEL: Final = 128 << 20
