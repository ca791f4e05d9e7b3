"""Helpers for the exnref tests: run modules under wasmtime, ask binaryen, grow modules.

wasmtime is the judge of validity and the machine that runs both our
translation and binaryen's. binaryen (``wasm-opt``, from npm's ``binaryen``) is
optional: it is found through ``WASM_OPT`` or ``PATH``, and only when it
actually runs (it is a node script); the tests that need it skip otherwise.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import wasmtime

from workers.exnref.binary import leb, sections, u32

from .conftest import FIXTURES

#: the fixtures with legacy exception handling (``wasm_fixtures/NAME.wasm``)
LEGACY = ["exnref_basic", "exnref_features", "exnref_fuzz"]

#: binaryen's features: what the fixtures use and wasmtime (the engine below) runs.
#: Not --all-features, with which binaryen writes exact reference types (custom
#: descriptors) that wasmtime rejects.
BINARYEN_FLAGS = [
    "--enable-exception-handling",
    "--enable-reference-types",
    "--enable-multivalue",
    "--enable-memory64",
    "--enable-multimemory",
    "--enable-simd",
    "--enable-relaxed-simd",
    "--enable-tail-call",
    "--enable-gc",
    "--enable-bulk-memory",
    "--enable-bulk-memory-opt",
    "--enable-threads",
    "--enable-sign-ext",
    "--enable-nontrapping-float-to-int",
    "--enable-mutable-globals",
    "--enable-extended-const",
]

#: fuel for one call: far more than any fixture needs, little enough to stop a runaway
CALL_FUEL = 10_000_000

#: (log trace, outcome: "ok" or the trap / uncaught-exception text, results)
Outcome = tuple[tuple[int, ...], str, tuple[int, ...]]


def wat(text: str) -> bytes:
    return bytes(wasmtime.wat2wasm(text))


def fixture(name: str, suffix: str = ".wasm") -> bytes:
    """``wasm_fixtures/NAME.wasm`` (or another suffix: ``.binaryen.wasm``)."""
    return (FIXTURES / f"{name}{suffix}").read_bytes()


def section_payloads(binary: bytes) -> dict[int, list[bytes]]:
    """The payloads of a module's sections, by section id."""
    out: dict[int, list[bytes]] = {}
    for sid, _, start, end in sections(binary):
        out.setdefault(sid, []).append(binary[start:end])
    return out


def wasm_opt() -> str:
    return os.environ.get("WASM_OPT") or shutil.which("wasm-opt") or "wasm-opt"


@functools.cache
def have_binaryen() -> bool:
    """Whether ``wasm-opt`` runs here (it needs node when it comes from npm)."""
    try:
        proc = subprocess.run([wasm_opt(), "--version"], capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


@functools.cache
def engine() -> wasmtime.Engine:
    cfg = wasmtime.Config()
    cfg.wasm_exceptions = True
    cfg.wasm_memory64 = True
    # exnref values live on the GC heap: without GC support wasmtime aborts the
    # process compiling a try_table
    cfg.gc_support = True
    # what the features fixture mixes with exceptions
    cfg.wasm_multi_memory = True
    cfg.wasm_tail_call = True
    cfg.wasm_function_references = True
    cfg.wasm_gc = True
    # a broken translation may branch into a loop forever: fuel makes that a trap
    cfg.consume_fuel = True
    return wasmtime.Engine(cfg)


def compile_module(binary: bytes) -> wasmtime.Module:
    return wasmtime.Module(engine(), binary)


def _describe(err: Exception) -> str:
    text = str(err)
    if "Caused by:" in text:
        text = text.split("Caused by:", 1)[1]
    return " ".join(text.split())


def run_exports(
    binary: bytes, args: Sequence[tuple[int, ...]]
) -> dict[tuple[str, tuple[int, ...]], Outcome]:
    """Call every exported function with each argument tuple, a fresh instance each.

    The only import a module may have is ``env.log (i32)``, which records its
    argument in the trace. Arguments are repeated to fill the parameters.
    """
    eng = engine()
    module = wasmtime.Module(eng, binary)
    results: dict[tuple[str, tuple[int, ...]], Outcome] = {}
    names = [e.name for e in module.exports if isinstance(e.type, wasmtime.FuncType)]
    log_type = wasmtime.FuncType([wasmtime.ValType.i32()], [])
    for name in names:
        for a in args:
            store = wasmtime.Store(eng)
            store.set_fuel(CALL_FUEL)
            trace: list[int] = []
            imports: list[wasmtime.Func] = []
            for imp in module.imports:
                assert (imp.module, imp.name) == ("env", "log"), (imp.module, imp.name)
                imports.append(wasmtime.Func(store, log_type, trace.append))
            func = wasmtime.Instance(store, module, imports).exports(store)[name]
            assert isinstance(func, wasmtime.Func)
            nparams = len(func.type(store).params)
            try:
                r = func(store, *(list(a) * nparams)[:nparams])
            except wasmtime.Trap as err:
                results[(name, a)] = (tuple(trace), _describe(err), ())
                continue
            vals = () if r is None else tuple(r) if isinstance(r, list) else (r,)
            results[(name, a)] = (tuple(trace), "ok", vals)
    return results


def binaryen_translate(binary: bytes) -> bytes:
    """binaryen's ``--translate-to-exnref`` of ``binary``."""
    with tempfile.TemporaryDirectory() as d:
        src, dst = Path(d) / "in.wasm", Path(d) / "out.wasm"
        src.write_bytes(binary)
        subprocess.run(
            [wasm_opt(), *BINARYEN_FLAGS, "--translate-to-exnref", str(src), "-o", str(dst)],
            check=True,
            capture_output=True,
            timeout=120,
        )
        return dst.read_bytes()


def binaryen_validate(binary: bytes) -> str | None:
    """None if binaryen reads and validates the module, else its message."""
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "in.wasm"
        src.write_bytes(binary)
        proc = subprocess.run(
            [wasm_opt(), *BINARYEN_FLAGS, str(src), "-o", os.devnull],
            capture_output=True,
            text=True,
            timeout=120,
        )
        return None if proc.returncode == 0 else " ".join(proc.stderr.split())[-2000:]


def replicate_functions(binary: bytes, times: int) -> bytes:
    """A bigger valid module: every defined function body repeated ``times`` times.

    The copies are never called; they only make the code section larger (for
    timing). Everything else is kept.
    """
    out = [binary[:8]]
    for sid, hstart, pstart, pend in sections(binary):
        payload = binary[pstart:pend]
        if sid in (3, 10):
            n, p = u32(payload, 0)
            new = leb(n * times) + payload[p:] * times
            out.append(bytes((sid,)) + leb(len(new)) + new)
        else:
            out.append(binary[hstart:pend])
    return b"".join(out)


def grow_to(binary: bytes, size: int) -> bytes:
    """replicate_functions() with the factor that makes the module about ``size`` bytes."""
    code = sum(end - start for sid, _, start, end in sections(binary) if sid in (3, 10))
    times = max(1, -(-(size - (len(binary) - code)) // code))
    return replicate_functions(binary, times)
