"""A worker that breaks the protocol on purpose: ``python rogue_worker.py MODE --fd N ...``.

It answers ``init`` like a real worker (an empty module), then misbehaves as MODE says.
"""

from __future__ import annotations

import signal
import socket
import struct
import sys
import time

import msgpack


def main() -> int:
    mode = sys.argv[1]
    sock = socket.socket(fileno=int(sys.argv[sys.argv.index("--fd") + 1]))
    buffer = b""

    def read_frame() -> list[object]:
        nonlocal buffer
        while True:
            if len(buffer) >= 4:
                (length,) = struct.unpack(">I", buffer[:4])
                if len(buffer) >= 4 + length:
                    body, buffer = buffer[4 : 4 + length], buffer[4 + length :]
                    value: list[object] = msgpack.unpackb(body)
                    return value
            chunk = sock.recv(65536)
            if not chunk:
                sys.exit(0)
            buffer += chunk

    def send(value: object) -> None:
        body = msgpack.packb(value, use_bin_type=True)
        sock.sendall(struct.pack(">I", len(body)) + body)

    if mode == "stubborn":  # ignores SIGTERM and EOF: only SIGKILL ends it
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    init = read_frame()
    if mode == "stubborn":
        send([init[0], "execution_result", [], [["memory", "memory", ""]], []])
        while True:
            time.sleep(3600)
    if mode == "flood":  # answers init, then writes junk for as long as it is read
        send([init[0], "execution_result", [], [["memory", "memory", ""]], []])
        junk = b"\xc1" * (1 << 20)
        try:
            while True:
                sock.sendall(junk)
        except OSError:
            return 0
    if mode == "exit_during_init":
        return 3
    if mode == "sandbox_error":  # refuses to run unconfined, and waits to be stopped
        send([init[0], "error", "sandbox", "seccomp: cannot load the filter", None, None])
    if mode == "garbage_during_init":
        sock.sendall(struct.pack(">I", 3) + b"\xc1\xc1\xc1")
    elif mode != "sandbox_error":
        send([init[0], "execution_result", [], [["memory", "memory", ""]], []])
        command = read_frame()
        if mode == "garbage":
            sock.sendall(struct.pack(">I", 2) + b"\x92\xc1")
        elif mode == "wrong_id":
            send([int(command[0]) + 99, "execution_result", 65536])  # type: ignore[call-overload]
        elif mode == "oversized":
            sock.sendall(struct.pack(">I", 0xFFFFFFFF))
        elif mode == "large_inline":  # 64 MiB claimed: far more than any inline reply
            sock.sendall(struct.pack(">I", 64 << 20) + b"\x00" * 4096)
        elif mode == "unknown_reply":
            send([command[0], "bonjour"])
        elif mode == "size_ok":  # the wrong kind of reply for size
            send([command[0], "ok"])
        elif mode == "size_empty":  # the right kind, the wrong shape
            send([command[0], "execution_result"])
        elif mode == "size_str":
            send([command[0], "execution_result", "65536"])
        elif mode == "locate_unmapped":  # an address where nothing is mapped
            send([command[0], "execution_result", 16, 1 << 20])
        elif mode == "locate_huge":  # a memory no parent should try to copy at once
            send([command[0], "execution_result", 1 << 40, 1 << 60])
        elif mode == "locate_malformed":
            send([command[0], "execution_result", "here", -1])
    # then stay silent until the parent closes the connection or kills us
    while sock.recv(65536):
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
