"""``python -m workers.baselines EDGE IMPORTS MEMORY``: in-process baselines.

The physical limits ``beamr bench`` compares with, measured in one process that
owns wasmtime (the parent never imports it): a no-op export called through
wasmtime-py's ``Func.__call__`` and through the worker's own call path, a wasm ->
Python host function -> wasm call, and reads/writes of linear memory of each size
(a fresh ``bytes`` of a view over the memory; ``ctypes.memmove`` into it).

It prints one JSON line of call medians (seconds), then serves copy measurements so
``beamr bench`` can interleave them with its own in the same run: each stdin line
``read SIZE ROUNDS`` or ``write SIZE ROUNDS`` is answered with a JSON line of that
many samples (seconds), until stdin closes.
"""

from __future__ import annotations

import ctypes
import functools
import json
import statistics
import sys
from collections.abc import Callable
from typing import Any

import wasmtime

from benchmarks.timing import samples_of
from workers.wasmtime_worker import WasmtimeBackend


def median_of(operation: Callable[[], Any], rounds: int) -> float:
    return statistics.median(samples_of(operation, rounds, min(rounds, 200)))


class _NoHost:
    """The edge module imports nothing and writes no output."""

    def host_call(self, module: str, name: str, args: list[Any], signature: str) -> list[Any]:
        raise AssertionError("no import is called")

    def write_output(self, stream: int, data: bytes) -> None:
        raise AssertionError("no output is written")


def main(argv: list[str]) -> int:
    edge, imports, memory_module = argv[0], argv[1], argv[2]
    out: dict[str, Any] = {}

    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    instance = wasmtime.Instance(store, wasmtime.Module.from_file(engine, edge), [])
    noop = instance.exports(store)["noop"]
    assert isinstance(noop, wasmtime.Func)
    out["Func.__call__ noop"] = median_of(lambda: noop(store), 20000)

    with open(edge, "rb") as f:
        backend = WasmtimeBackend(f.read(), {}, _NoHost())
    backend.link({})
    backend.instantiate()

    def worker_path() -> None:
        backend.arm(fresh_fuel=True)
        backend.prepare_call("noop", [])()

    out["worker call path noop"] = median_of(worker_path, 20000)

    module = wasmtime.Module.from_file(engine, imports)
    linker = wasmtime.Linker(engine)
    linker.allow_shadowing = True
    i32 = wasmtime.ValType.i32()
    for imp in module.imports:
        ty = imp.type
        assert isinstance(ty, wasmtime.FuncType)
        linker.define(
            store,
            imp.module,
            imp.name or "",
            wasmtime.Func(store, ty, (lambda x: x) if ty.params == [i32] else (lambda *a: None)),
        )
    call_i32 = linker.instantiate(store, module).exports(store)["call_i32"]
    assert isinstance(call_i32, wasmtime.Func)
    out["wasm -> python -> wasm"] = median_of(lambda: call_i32(store, 7), 20000)

    memory_instance = wasmtime.Instance(store, wasmtime.Module.from_file(engine, memory_module), [])
    memory = memory_instance.exports(store)["memory"]
    assert isinstance(memory, wasmtime.Memory)
    address = ctypes.cast(memory.data_ptr(store), ctypes.c_void_p).value or 0
    print(json.dumps(out), flush=True)

    data = bytes(range(256)) * (memory.data_len(store) // 256)
    written: set[int] = set()
    for line in sys.stdin:
        kind, size_text, rounds_text = line.split()
        size, rounds = int(size_text), int(rounds_text)
        if kind not in ("read", "write") or not 0 < size <= len(data) or rounds < 1:
            raise SystemExit(f"workers.baselines: bad request {line.strip()!r}")
        if kind == "write" or size not in written:
            # a read of never-touched memory would copy the shared zero page: write first
            write = functools.partial(ctypes.memmove, address, data, size)
            samples = samples_of(write, rounds, 1)
            written.add(size)
        if kind == "read":
            view = memoryview((ctypes.c_char * size).from_address(address))
            samples = samples_of(functools.partial(bytes, view), rounds, 1)
        print(json.dumps(samples), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
