"""System call numbers by machine, for the seccomp filter (:mod:`workers.seccomp`).

Taken from the kernel's ``arch/x86/entry/syscalls/syscall_64.tbl`` (x86_64) and
``include/uapi/asm-generic/unistd.h`` (aarch64). ``-`` marks a call the machine does
not have (aarch64 has only the ``*at`` forms): a filter for it cannot name one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

__all__ = ["AARCH64", "X86_64"]

_TABLE: Final = """
name                  x86_64  aarch64
open                       2        -
creat                     85        -
openat                   257       56
openat2                  437      437
open_by_handle_at        304        -
name_to_handle_at        303        -
socket                    41      198
socketpair                53      199
connect                   42      203
bind                      49      200
listen                    50      201
accept                    43      202
accept4                  288      242
execve                    59      221
execveat                 322      281
fork                      57        -
vfork                     58        -
clone                     56      220
clone3                   435      435
ptrace                   101      117
process_vm_readv         310      270
process_vm_writev        311      271
process_madvise          440      440
mount                    165       40
umount2                  166       39
pivot_root               155       41
chroot                   161       51
unshare                  272       97
setns                    308      268
fsopen                   430      430
fsconfig                 431      431
fsmount                  432      432
fspick                   433      433
move_mount               429      429
open_tree                428      428
mount_setattr            442      442
init_module              175      105
finit_module             313      273
delete_module            176      106
kexec_load               246      104
kexec_file_load          320      294
bpf                      321      280
perf_event_open          298      241
userfaultfd              323      282
keyctl                   250      219
add_key                  248      217
request_key              249      218
setuid                   105      146
setgid                   106      144
setreuid                 113      145
setregid                 114      143
setresuid                117      147
setresgid                119      149
setgroups                116      159
setfsuid                 122      151
setfsgid                 123      152
capset                   126       91
io_uring_setup           425      425
io_uring_enter           426      426
io_uring_register        427      427
memfd_create             319      279
memfd_secret             447      447
kill                      62      129
tkill                    200      130
tgkill                   234      131
rt_sigqueueinfo          129      138
rt_tgsigqueueinfo        297      240
pidfd_send_signal        424      424
pidfd_open               434      434
pidfd_getfd              438      438
kcmp                     312      272
mknod                    133        -
mknodat                  259       33
mkdir                     83        -
mkdirat                  258       34
rmdir                     84        -
unlink                    87        -
unlinkat                 263       35
rename                    82        -
renameat                 264       38
renameat2                316      276
link                      86        -
linkat                   265       37
symlink                   88        -
symlinkat                266       36
chmod                     90        -
fchmod                    91       52
fchmodat                 268       53
fchmodat2                452      452
chown                     92        -
fchown                    93       55
lchown                    94        -
fchownat                 260       54
truncate                  76       45
utime                    132        -
utimes                   235        -
utimensat                280       88
futimesat                261        -
setrlimit                160      164
prlimit64                302      261
reboot                   169      142
swapon                   167      224
swapoff                  168      225
sethostname              170      161
setdomainname            171      162
settimeofday             164      170
clock_settime            227      112
clock_adjtime            305      266
adjtimex                 159      171
iopl                     172        -
ioperm                   173        -
acct                     163       89
quotactl                 179       60
quotactl_fd              443      443
syslog                   103      116
vhangup                  153       58
lookup_dcookie           212       18
nfsservctl               180       42
uselib                   134        -
personality              135       92
move_pages               279      239
migrate_pages            256      238
fanotify_init            300      262
fanotify_mark            301      263
ioprio_set               251       30
sched_setscheduler       144      119
sched_setattr            314      274
chdir                     80       49
fchdir                    81       50
setxattr                 188        5
lsetxattr                189        6
fsetxattr                190        7
removexattr              197       14
lremovexattr             198       15
fremovexattr             199       16
"""


def _column(machine: str) -> Mapping[str, int]:
    header, *rows = (line.split() for line in _TABLE.strip().splitlines())
    at = header.index(machine)
    return {row[0]: int(row[at]) for row in rows if row[at] != "-"}


X86_64: Final = _column("x86_64")
AARCH64: Final = _column("aarch64")
