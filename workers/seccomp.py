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
from collections.abc import Iterable, Mapping
from typing import Final

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

# System call numbers, by machine (asm/unistd_64.h, asm-generic/unistd.h).
_X86_64: Final[Mapping[str, int]] = {
    "open": 2, "creat": 85, "openat": 257, "openat2": 437, "open_by_handle_at": 304,
    "name_to_handle_at": 303, "socket": 41, "socketpair": 53, "connect": 42, "bind": 49,
    "listen": 50, "accept": 43, "accept4": 288, "execve": 59, "execveat": 322, "fork": 57,
    "vfork": 58, "clone": 56, "clone3": 435, "ptrace": 101, "process_vm_readv": 310,
    "process_vm_writev": 311, "process_madvise": 440, "mount": 165, "umount2": 166,
    "pivot_root": 155, "chroot": 161, "unshare": 272, "setns": 308, "fsopen": 430,
    "fsconfig": 431, "fsmount": 432, "fspick": 433, "move_mount": 429, "open_tree": 428,
    "mount_setattr": 442, "init_module": 175, "finit_module": 313, "delete_module": 176,
    "kexec_load": 246, "kexec_file_load": 320, "bpf": 321, "perf_event_open": 298,
    "userfaultfd": 323, "keyctl": 250, "add_key": 248, "request_key": 249, "setuid": 105,
    "setgid": 106, "setreuid": 113, "setregid": 114, "setresuid": 117, "setresgid": 119,
    "setgroups": 116, "setfsuid": 122, "setfsgid": 123, "capset": 126,
    "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
    "memfd_create": 319, "memfd_secret": 447, "kill": 62, "tkill": 200, "tgkill": 234,
    "rt_sigqueueinfo": 129, "rt_tgsigqueueinfo": 297, "pidfd_send_signal": 424,
    "pidfd_open": 434, "pidfd_getfd": 438, "kcmp": 312, "mknod": 133, "mknodat": 259,
    "mkdir": 83, "mkdirat": 258, "rmdir": 84, "unlink": 87, "unlinkat": 263, "rename": 82,
    "renameat": 264, "renameat2": 316, "link": 86, "linkat": 265, "symlink": 88,
    "symlinkat": 266, "chmod": 90, "fchmod": 91, "fchmodat": 268, "fchmodat2": 452,
    "chown": 92, "fchown": 93, "lchown": 94, "fchownat": 260, "truncate": 76, "utime": 132,
    "utimes": 235, "utimensat": 280, "futimesat": 261, "setrlimit": 160, "prlimit64": 302,
    "reboot": 169, "swapon": 167, "swapoff": 168, "sethostname": 170,
    "setdomainname": 171, "settimeofday": 164, "clock_settime": 227, "clock_adjtime": 305,
    "adjtimex": 159, "iopl": 172, "ioperm": 173, "acct": 163, "quotactl": 179,
    "quotactl_fd": 443, "syslog": 103, "vhangup": 153, "lookup_dcookie": 212,
    "nfsservctl": 180, "uselib": 134, "personality": 135, "move_pages": 279,
    "migrate_pages": 256, "fanotify_init": 300, "fanotify_mark": 301, "ioprio_set": 251,
    "sched_setscheduler": 144, "sched_setattr": 314, "chdir": 80, "fchdir": 81,
    "setxattr": 188, "lsetxattr": 189, "fsetxattr": 190, "removexattr": 197,
    "lremovexattr": 198, "fremovexattr": 199,
}  # fmt: skip
_AARCH64: Final[Mapping[str, int]] = {
    "openat": 56, "openat2": 437, "socket": 198, "socketpair": 199, "connect": 203,
    "bind": 200, "listen": 201, "accept": 202, "accept4": 242, "execve": 221,
    "execveat": 281, "clone": 220, "clone3": 435, "ptrace": 117, "process_vm_readv": 270,
    "process_vm_writev": 271, "process_madvise": 440, "mount": 40, "umount2": 39,
    "pivot_root": 41, "chroot": 51, "unshare": 97, "setns": 268, "fsopen": 430,
    "fsconfig": 431, "fsmount": 432, "fspick": 433, "move_mount": 429, "open_tree": 428,
    "mount_setattr": 442, "init_module": 105, "finit_module": 273, "delete_module": 106,
    "kexec_load": 104, "kexec_file_load": 294, "bpf": 280, "perf_event_open": 241,
    "userfaultfd": 282, "keyctl": 219, "add_key": 217, "request_key": 218, "setuid": 146,
    "setgid": 144, "setreuid": 145, "setregid": 143, "setresuid": 147, "setresgid": 149,
    "setgroups": 159, "setfsuid": 151, "setfsgid": 152, "capset": 91,
    "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
    "memfd_create": 279, "memfd_secret": 447, "kill": 129, "tkill": 130, "tgkill": 131,
    "rt_sigqueueinfo": 138, "rt_tgsigqueueinfo": 240, "pidfd_send_signal": 424,
    "pidfd_open": 434, "pidfd_getfd": 438, "kcmp": 272, "mknodat": 33, "mkdirat": 34,
    "unlinkat": 35, "renameat": 38, "renameat2": 276, "linkat": 37, "symlinkat": 36,
    "fchmod": 52, "fchmodat": 53, "fchmodat2": 452, "fchown": 55, "fchownat": 54,
    "truncate": 45, "utimensat": 88, "setrlimit": 164, "prlimit64": 261, "reboot": 142,
    "swapon": 224, "swapoff": 225, "sethostname": 161, "setdomainname": 162,
    "settimeofday": 170, "clock_settime": 112, "clock_adjtime": 266, "adjtimex": 171,
    "acct": 89, "quotactl": 60, "quotactl_fd": 443, "syslog": 116, "vhangup": 58,
    "lookup_dcookie": 18, "nfsservctl": 42, "personality": 92, "move_pages": 239,
    "migrate_pages": 238, "fanotify_init": 262, "fanotify_mark": 263, "ioprio_set": 30,
    "sched_setscheduler": 119, "sched_setattr": 274, "chdir": 49, "fchdir": 50,
    "setxattr": 5, "lsetxattr": 6, "fsetxattr": 7, "removexattr": 14, "lremovexattr": 15,
    "fremovexattr": 16,
}  # fmt: skip

# machine -> (AUDIT_ARCH value, numbers, the seccomp(2) number, x32 to refuse)
_MACHINES: Final = {
    "x86_64": (0xC000003E, _X86_64, 317, True),
    "aarch64": (0xC00000B7, _AARCH64, 277, False),
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
