"""``python -m workers --fd N --interrupt-fd M``: serve one wasm instance.

``--fd`` is this worker's end of a connected stream socket carrying the protocol
frames; ``--interrupt-fd`` is the read end of a pipe carrying call ids to interrupt.
Both are inherited; stdout and stderr are left to stray prints and never carry frames.
"""

from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workers", description=__doc__)
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--interrupt-fd", type=int, required=True)
    args = parser.parse_args(argv)
    for fd in (args.fd, args.interrupt_fd):
        try:
            os.fstat(fd)
        except OSError:
            parser.error(f"file descriptor {fd} is not open")

    from workers.server import main as serve

    return serve(args.fd, args.interrupt_fd)


if __name__ == "__main__":
    sys.exit(main())
