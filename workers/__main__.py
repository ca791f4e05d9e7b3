"""``python -m workers --fd N --interrupt-fd M [--owner PID]``: serve one wasm instance.

``--fd`` is this worker's end of a connected stream socket carrying the protocol
frames; ``--interrupt-fd`` is the read end of a pipe carrying call ids to interrupt.
Both are inherited; stdout and stderr are left to stray prints and never carry frames.
``--owner`` is the parent's pid: the worker exits as soon as that process is gone.

The parent starts it isolated (``python -I``, from ``/``), with beamr's own install
location first on ``sys.path``: nothing in the caller's working directory or
environment is imported (see :data:`beamr._spawn.BOOTSTRAP`).
"""

from __future__ import annotations

import argparse
import os
import sys


def owner_pidfd(pid: int) -> int | None:
    """A pidfd of the parent ``pid``; exits at once if it is gone already."""
    try:
        fd = os.pidfd_open(pid)
    except (OSError, AttributeError):
        fd = None
    if os.getppid() != pid:  # checked after opening: the pidfd names the right process
        os._exit(0)
    return fd


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workers", description=__doc__)
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--interrupt-fd", type=int, required=True)
    parser.add_argument("--owner", type=int)
    args = parser.parse_args(argv)
    for fd in (args.fd, args.interrupt_fd):
        try:
            os.fstat(fd)
        except OSError:
            parser.error(f"file descriptor {fd} is not open")
    owner = owner_pidfd(args.owner) if args.owner else None

    from workers.process import main as serve

    return serve(args.fd, args.interrupt_fd, owner)


if __name__ == "__main__":
    sys.exit(main())
