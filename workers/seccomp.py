"""The worker's seccomp filter, built as a BPF program here (no library to load).

The program is a deny list over an allow-by-default filter: the worker's runtime
(CPython, wasmtime) makes many ordinary system calls, and none of the denied ones.
Building the program in Python means it can name the worker's own pid (a signal may
only go to this process) and that loading it maps nothing: the bytes are ready
before any resource limit applies, so hardening cannot fail for lack of memory.

Layout of ``struct seccomp_data`` (what the program inspects)::

    offset 0   int   nr          the system call number
    offset 4   u32   arch        AUDIT_ARCH_*
    offset 16  u64   args[6]     arguments (the low 32 bits first, little-endian)

A call from another architecture (x32 on x86_64, a 32-bit compat entry) kills the
process: its numbers mean other calls, and nothing in the worker makes them.
"""

from __future__ import annotations

import ctypes
import errno
import platform
import struct
from collections.abc import Iterable
from typing import Final

from workers import syscalls

__all__ = [
    "ALWAYS_DENIED",
    "FILE_CALLS",
    "SUPPORTED",
    "build",
    "install",
]

# BPF instruction classes and fields (linux/filter.h, linux/bpf_common.h)
_LD_W_ABS: Final = 0x20  # BPF_LD | BPF_W | BPF_ABS
_JEQ_K: Final = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_JGE_K: Final = 0x35  # BPF_JMP | BPF_JGE | BPF_K
_JSET_K: Final = 0x45  # BPF_JMP | BPF_JSET | BPF_K
_RET_K: Final = 0x06  # BPF_RET | BPF_K

_RET_ALLOW: Final = 0x7FFF0000
_RET_KILL_PROCESS: Final = 0x80000000
_RET_ERRNO: Final = 0x00050000

_NR: Final = 0
_ARCH: Final = 4
_ARG_LOW: Final = (16, 24, 32, 40, 48, 56)
_ARG_HIGH: Final = (20, 28, 36, 44, 52, 60)

_X32_BIT: Final = 0x40000000
_CLONE_THREAD: Final = 0x00010000

SECCOMP_SET_MODE_FILTER: Final = 1
SECCOMP_FILTER_FLAG_TSYNC: Final = 1

#: the names every worker is denied, grouped by what they would give away
ALWAYS_DENIED: Final = (
    # the network and other processes' sockets
    "socket", "socketpair", "connect", "bind", "listen", "accept", "accept4",
    # new programs and processes (threads stay allowed, see clone below)
    "execve", "execveat", "fork", "vfork",
    # other processes' memory, descriptors and identity
    "ptrace", "process_vm_readv", "process_vm_writev", "process_madvise", "kcmp",
    "pidfd_open", "pidfd_getfd", "pidfd_send_signal", "tkill", "move_pages",
    "migrate_pages", "ioprio_set", "sched_setscheduler", "sched_setattr",
    # mounts and namespaces
    "mount", "umount2", "pivot_root", "chroot", "unshare", "setns", "fsopen", "fsconfig",
    "fsmount", "fspick", "move_mount", "open_tree", "mount_setattr",
    # the kernel itself
    "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
    "bpf", "perf_event_open", "userfaultfd", "reboot", "swapon", "swapoff",
    "sethostname", "setdomainname", "settimeofday", "clock_settime", "clock_adjtime",
    "adjtimex", "iopl", "ioperm", "acct", "quotactl", "quotactl_fd", "syslog", "vhangup",
    "lookup_dcookie", "nfsservctl", "uselib", "personality", "fanotify_init",
    "fanotify_mark", "keyctl", "add_key", "request_key",
    # credentials and limits (the worker set its own before the filter)
    "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setgroups",
    "setfsuid", "setfsgid", "capset", "setrlimit",
    # io_uring does open and socket work without those system calls
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    # anonymous files (a way to map fresh executable memory, or to pass data out)
    "memfd_create", "memfd_secret",
    # file metadata: WASI preview1 changes neither modes nor owners nor xattrs
    "chmod", "fchmod", "fchmodat", "fchmodat2", "chown", "fchown", "lchown", "fchownat",
    "setxattr", "lsetxattr", "fsetxattr", "removexattr", "lremovexattr", "fremovexattr",
    "mknod", "mknodat", "open_by_handle_at", "name_to_handle_at", "chdir", "fchdir",
    # absolute-path opens: WASI opens relative to its preopened directories
    "open", "creat",
)  # fmt: skip

#: calls that reach the file system by path: denied unless WASI dirs were granted
#: (then Landlock confines them to those directories)
FILE_CALLS: Final = (
    "openat", "openat2", "mkdir", "mkdirat", "rmdir", "unlink", "unlinkat", "rename",
    "renameat", "renameat2", "link", "linkat", "symlink", "symlinkat", "truncate",
    "utime", "utimes", "utimensat", "futimesat",
)  # fmt: skip

# machine -> (AUDIT_ARCH value, numbers, the seccomp(2) number, x32 to refuse)
_MACHINES: Final = {
    "x86_64": (0xC000003E, syscalls.X86_64, 317, True),
    "aarch64": (0xC00000B7, syscalls.AARCH64, 277, False),
}

#: whether this machine's system calls are known here
SUPPORTED: Final = platform.system() == "Linux" and platform.machine() in _MACHINES


def _insn(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("<HBBI", code, jt, jf, k & 0xFFFFFFFF)


def _deny(err: int = errno.EPERM) -> bytes:
    return _insn(_RET_K, _RET_ERRNO | err)


def _only_this_pid(number: int, pid: int) -> list[bytes]:
    """``number(pid, ...)``: allowed only when arg 0 is this very process."""
    return [
        _insn(_JEQ_K, number, 0, 6),
        _insn(_LD_W_ABS, _ARG_HIGH[0]),
        _insn(_JEQ_K, 0, 0, 2),  # a negative pid (a process group): deny
        _insn(_LD_W_ABS, _ARG_LOW[0]),
        _insn(_JEQ_K, pid, 1, 0),
        _deny(),
        _insn(_RET_K, _RET_ALLOW),
    ]


def build(pid: int, *, allow_files: bool, machine: str | None = None) -> bytes:
    """The filter for the worker ``pid``: ``struct sock_filter`` entries, packed.

    ``allow_files`` keeps :data:`FILE_CALLS` (WASI dirs granted; Landlock confines
    them). Signals may only target ``pid`` itself (``kill``, ``tgkill``, the
    ``*sigqueueinfo`` calls); ``clone`` only makes threads; ``clone3`` answers
    ``ENOSYS`` so that libc falls back to ``clone``; ``prlimit64`` may read limits
    but not set them.
    """
    arch, numbers, _, x32 = _MACHINES[machine or platform.machine()]
    program = [
        _insn(_LD_W_ABS, _ARCH),
        _insn(_JEQ_K, arch, 1, 0),
        _insn(_RET_K, _RET_KILL_PROCESS),
        _insn(_LD_W_ABS, _NR),
    ]
    if x32:
        program += [_insn(_JGE_K, _X32_BIT, 0, 1), _insn(_RET_K, _RET_KILL_PROCESS)]
    denied: Iterable[str] = ALWAYS_DENIED if allow_files else (*ALWAYS_DENIED, *FILE_CALLS)
    for name in denied:
        number = numbers.get(name)
        if number is not None:  # calls this machine does not have cannot be made
            program += [_insn(_JEQ_K, number, 0, 1), _deny()]
    program += [_insn(_JEQ_K, numbers["clone3"], 0, 1), _deny(errno.ENOSYS)]
    # clone: threads (CLONE_THREAD set) only
    program += [
        _insn(_JEQ_K, numbers["clone"], 0, 4),
        _insn(_LD_W_ABS, _ARG_LOW[0]),
        _insn(_JSET_K, _CLONE_THREAD, 1, 0),
        _deny(),
        _insn(_RET_K, _RET_ALLOW),
    ]
    # prlimit64(pid, resource, new_limit, old_limit): new_limit must be NULL
    program += [
        _insn(_LD_W_ABS, _NR),
        _insn(_JEQ_K, numbers["prlimit64"], 0, 6),
        _insn(_LD_W_ABS, _ARG_LOW[2]),
        _insn(_JEQ_K, 0, 0, 3),
        _insn(_LD_W_ABS, _ARG_HIGH[2]),
        _insn(_JEQ_K, 0, 0, 1),
        _insn(_RET_K, _RET_ALLOW),
        _deny(),
    ]
    for name in ("kill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo"):
        program += [_insn(_LD_W_ABS, _NR), *_only_this_pid(numbers[name], pid)]
    program.append(_insn(_RET_K, _RET_ALLOW))
    if len(program) > 4096:  # BPF_MAXINSNS
        raise ValueError("the seccomp program is too long")
    return b"".join(program)


class _SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))


class Prepared:
    """A program ready to load: its buffers allocated, nothing left to map."""

    def __init__(self, program: bytes, machine: str | None = None) -> None:
        _, _, self.number, _ = _MACHINES[machine or platform.machine()]
        self.buffer = ctypes.create_string_buffer(program, len(program))
        self.fprog = _SockFprog(len(program) // 8, ctypes.addressof(self.buffer))
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.syscall = self.libc.syscall
        self.syscall.restype = ctypes.c_long

    def install(self) -> None:
        """Load the filter on every thread of the process (``SECCOMP_FILTER_FLAG_TSYNC``:
        threads that exist already, like the interrupt thread, are covered too)."""
        result = self.syscall(
            ctypes.c_long(self.number),
            ctypes.c_long(SECCOMP_SET_MODE_FILTER),
            ctypes.c_long(SECCOMP_FILTER_FLAG_TSYNC),
            ctypes.byref(self.fprog),
        )
        if result > 0:  # TSYNC: that thread could not be synchronised
            raise OSError(f"seccomp: thread {result} could not take the filter")
        if result != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"seccomp: {errno.errorcode.get(err, err)}")


def install(program: bytes) -> None:
    """Load ``program`` on every thread of this process."""
    Prepared(program).install()
