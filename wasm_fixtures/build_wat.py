#!/usr/bin/env python3
"""Convert WebAssembly text files to binaries with ``wasmtime.wat2wasm``.

Usage::

    python build_wat.py FILE.wat [FILE.wat ...]

Each ``NAME.wat`` is written to ``NAME.wasm`` in the same directory.

When ``test_print.wat`` is among the inputs, ``bad.wasm`` is also written
next to it: the first bytes of ``test_print.wasm`` (the ``\\0asm`` magic, the
version and the start of the first section), cut off in the middle of that
section.  It is therefore recognisable as WebAssembly but fails to validate.
"""

import sys
from pathlib import Path

import wasmtime

# "\0asm" + version 1, followed by this many bytes of the first section.
BAD_HEADER_LEN = 8
BAD_EXTRA_BYTES = 4


def convert(src: Path) -> Path:
    text = src.read_text(encoding="utf-8")
    binary = wasmtime.wat2wasm(text)
    dst = src.with_suffix(".wasm")
    dst.write_bytes(bytes(binary))
    return dst


def write_bad(good: Path) -> Path:
    data = good.read_bytes()
    if data[:4] != b"\0asm":
        raise SystemExit(f"{good}: not a wasm binary")
    bad = data[: BAD_HEADER_LEN + BAD_EXTRA_BYTES]
    if len(bad) >= len(data):
        raise SystemExit(f"{good}: too small to truncate")
    dst = good.with_name("bad.wasm")
    dst.write_bytes(bad)
    return dst


def main(argv: list) -> int:
    if not argv:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    for arg in argv:
        src = Path(arg)
        if src.suffix != ".wat":
            print(f"skipping {src}: not a .wat file", file=sys.stderr)
            continue
        dst = convert(src)
        print(f"{src} -> {dst} ({dst.stat().st_size} bytes)")
        if src.name == "test_print.wat":
            bad = write_bad(dst)
            print(f"{dst} -> {bad} ({bad.stat().st_size} bytes, truncated)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
