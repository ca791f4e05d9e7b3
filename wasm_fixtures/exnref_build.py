#!/usr/bin/env python3
"""Rebuild the exnref translator's fixtures, binaryen's translations included.

Usage, from the repository root::

    WASM_OPT=/path/to/wasm-opt .venv/bin/python wasm_fixtures/exnref_build.py

``wasm-opt`` is binaryen's optimizer (npm's ``binaryen`` package provides it, run
by node); without ``WASM_OPT`` it is looked up on ``PATH``. The script

1. writes ``exnref_fuzz.wat``: a corpus of random programs from
   ``tests/exnref_fuzz.py`` (seeds 0, 1, 2, ..., leaving out the few programs
   binaryen itself fails to translate), the seeds listed in its header;
2. converts every ``exnref_*.wat`` to ``.wasm`` with ``build_wat.py``'s converter
   (``wasmtime.wat2wasm`` accepts the legacy try/catch/delegate syntax);
3. writes ``exnref_NAME.binaryen.wasm``, binaryen's ``--translate-to-exnref`` of
   every legacy ``exnref_NAME.wasm``: the oracle the tests compare our
   translation with when they cannot run binaryen.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import wasmtime  # noqa: E402
from build_wat import convert  # noqa: E402

from tests import exnref_fuzz, exnref_harness  # noqa: E402

#: programs in the corpus
CORPUS_SIZE = 40
#: fixtures with no legacy opcodes: nothing for binaryen to translate
NO_ORACLE = {"exnref_nolegacy"}


def _binaryen_can(program: exnref_fuzz.Program) -> bool:
    binary = bytes(wasmtime.wat2wasm(exnref_fuzz.module([program])))
    try:
        exnref_harness.binaryen_translate(binary)
    except subprocess.CalledProcessError:
        return False
    return True


def write_corpus(path: Path) -> None:
    seeds: list[int] = []
    seed = 0
    while len(seeds) < CORPUS_SIZE:
        (program,) = exnref_fuzz.seeded([seed])
        if _binaryen_can(program):
            seeds.append(seed)
        else:
            print(f"seed {seed}: binaryen fails on this program; left out")
        seed += 1
    header = (
        ";; Random legacy exception-handling programs for the exnref translator\n"
        ";; (workers/exnref), written by wasm_fixtures/exnref_build.py with\n"
        ";; tests/exnref_fuzz.py. Seeds: " + " ".join(map(str, seeds)) + "\n"
    )
    path.write_text(header + exnref_fuzz.module(exnref_fuzz.seeded(seeds)), encoding="utf-8")
    print(f"{path.name}: {len(seeds)} programs")


def main() -> int:
    if not exnref_harness.have_binaryen():
        print("wasm-opt does not run: set WASM_OPT (npm install binaryen)", file=sys.stderr)
        return 1
    write_corpus(HERE / "exnref_fuzz.wat")
    for wat in sorted(HERE.glob("exnref_*.wat")):
        wasm = convert(wat)
        print(f"{wat.name} -> {wasm.name} ({wasm.stat().st_size} bytes)")
        if wat.stem in NO_ORACLE:
            continue
        oracle = wat.with_suffix(".binaryen.wasm")
        oracle.write_bytes(exnref_harness.binaryen_translate(wasm.read_bytes()))
        print(f"{wasm.name} -> {oracle.name} ({oracle.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
