"""``python -m tests.private_network CMD...``: run CMD in a private network namespace.

The namespace has only a loopback interface, brought up here, so whatever CMD starts
(a Ray cluster for ``tests/test_cluster.py``) can listen on loopback and nowhere else.
Entering one needs root (``.ci/run`` runs as root) or unprivileged user namespaces;
where it cannot be had, CMD runs as it is and the cluster tests skip, saying why.

When CMD ends, every process still in the namespace is one CMD started and left
behind (nothing else lives there): each is named on stderr and killed, and the run
fails.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import signal
import socket
import struct
import sys
import time

CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
_IFREQ = struct.Struct("16sH14s")
#: how long processes may take to exit once CMD has ended, before they count as left
GRACE = 10.0


def loopback_flags(sock: socket.socket) -> int:
    flags: int = _IFREQ.unpack(fcntl.ioctl(sock, SIOCGIFFLAGS, _IFREQ.pack(b"lo", 0, b"")))[1]
    return flags


def private_network() -> str | None:
    """None if this process is in a network namespace with nothing but loopback, up;
    else why not."""
    names = [name for _, name in socket.if_nameindex()]
    if names != ["lo"]:
        return f"the network has interfaces {names}: not a private namespace"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        if not loopback_flags(sock) & IFF_UP:
            return "loopback is down"
    return None


def enter() -> str | None:
    """Move this process into a new network namespace, loopback up; None, or why not.

    As root, the namespace alone; otherwise inside a new user namespace too, where
    this user is root (and so may bring loopback up), if the system allows it."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        first = os.strerror(ctypes.get_errno())
        uid, gid = os.getuid(), os.getgid()
        if libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0:
            again = os.strerror(ctypes.get_errno())
            return f"unshare(CLONE_NEWNET) failed ({first}), with a user namespace too ({again})"
        try:
            for name, text in (
                ("setgroups", "deny"),
                ("uid_map", f"0 {uid} 1"),
                ("gid_map", f"0 {gid} 1"),
            ):
                with open(f"/proc/self/{name}", "w") as f:
                    f.write(text)
        except OSError as exc:
            return f"mapping this user into a user namespace failed: {exc}"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        flags = loopback_flags(sock)
        fcntl.ioctl(sock, SIOCSIFFLAGS, _IFREQ.pack(b"lo", flags | IFF_UP, b""))
    return private_network()


def _namespace(pid: int | str) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/net")
    except OSError:
        return None


def left_behind() -> dict[int, str]:
    """The processes in this namespace other than this one: pid -> command line."""
    ours = _namespace("self")
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        if _namespace(entry) == ours:
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    found[int(entry)] = f.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
    return found


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    reason = enter()
    if reason is not None:
        print(f"tests.private_network: {reason}; running without one", file=sys.stderr)
        os.execvp(argv[0], argv)
    child = os.fork()
    if child == 0:
        os.execvp(argv[0], argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the child gets it and ends
    _, status = os.waitpid(child, 0)
    code = os.waitstatus_to_exitcode(status)
    deadline = time.monotonic() + GRACE
    while left_behind() and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        time.sleep(0.1)
    left = left_behind()
    for pid, command in left.items():
        print(f"tests.private_network: left behind: {pid} {command[:200]}", file=sys.stderr)
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    if left and code == 0:
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
