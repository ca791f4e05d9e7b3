"""``python -m workers.baselines EDGE IMPORTS MEMORY SIZES``: in-process baselines.

The physical limits ``beamr bench`` compares with, measured in one process that
owns wasmtime (the parent never imports it): a no-op export called through
wasmtime-py's ``Func.__call__`` and through the worker's own call path, a wasm ->
Python host function -> wasm call, and reads/writes of linear memory of each size
(a fresh ``bytes`` of a view over the memory; ``ctypes.memmove`` into it). Prints
JSON: medians in seconds.
"""

from __future__ import annotations

import ctypes
import functools
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import wasmtime

from workers.wasmtime_worker import WasmtimeBackend


def median_of(operation: Callable[[], Any], rounds: int) -> float:
    for _ in range(min(rounds, 200)):
        operation()
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        operation()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def rounds_for(size: int) -> int:
    return 2000 if size <= 1 << 16 else 200 if size <= 1 << 20 else 20


def main(argv: list[str]) -> int:
    edge, imports, memory_module, sizes = argv[0], argv[1], argv[2], argv[3]
    out: dict[str, Any] = {}

    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    instance = wasmtime.Instance(store, wasmtime.Module.from_file(engine, edge), [])
    noop = instance.exports(store)["noop"]
    assert isinstance(noop, wasmtime.Func)
    out["Func.__call__ noop"] = median_of(lambda: noop(store), 20000)

    with open(edge, "rb") as f:
        backend = WasmtimeBackend(f.read(), {}, lambda *a: [])

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
    reads, writes = {}, {}
    for size in (int(s) for s in sizes.split(",")):
        view = memoryview((ctypes.c_char * size).from_address(address))
        data = bytes(range(256)) * (size // 256) + bytes(size % 256)
        # write first: a read of never-touched memory would copy the shared zero page
        writes[size] = median_of(
            functools.partial(ctypes.memmove, address, data, size), rounds_for(size)
        )
        reads[size] = median_of(functools.partial(bytes, view), rounds_for(size))
    out["read"], out["write"] = reads, writes
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
