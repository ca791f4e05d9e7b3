"""What a Python user would otherwise pick, doing the bench's workloads with wasmtime-py.

Three peers (:mod:`benchmarks.peers` drives them):

- **in-process**: wasmtime-py in one process (``python -m benchmarks.peer_worker``,
  a process of its own, since beamr's parent never imports wasmtime), which prints
  its figures as JSON;
- **ProcessPoolExecutor** and **anyio.to_process**: worker processes each holding
  wasmtime instances (made on first use, module globals), called with the functions
  below; data travels as pickled arguments and results, as such a user's would.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path
from typing import Any

from benchmarks.timing import median_of

#: untimed runs before each timed workload
WARMUP = 20

FIXTURES = Path(__file__).resolve().parent.parent / "wasm_fixtures"
_state: dict[str, Any] = {}


def _wasmtime() -> Any:
    import wasmtime

    return wasmtime


def _instances() -> dict[str, Any]:
    """This process's instances: edge (noop), bench_buffer (invert), pow (a host call)."""
    if _state:
        return _state
    wasmtime = _wasmtime()
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    edge = wasmtime.Instance(store, wasmtime.Module.from_file(engine, FIXTURES / "edge.wasm"), [])
    buffer = wasmtime.Instance(
        store, wasmtime.Module.from_file(engine, FIXTURES / "bench_buffer.wasm"), []
    )
    pow_module = wasmtime.Module.from_file(engine, FIXTURES / "pow.wasm")
    i32 = wasmtime.ValType.i32()
    mul = wasmtime.Func(store, wasmtime.FuncType([i32, i32], [i32]), lambda a, b: a * b)
    power = wasmtime.Instance(store, pow_module, [mul])
    memory = buffer.exports(store)["memory"]
    _state.update(
        store=store,
        noop=edge.exports(store)["noop"],
        invert=buffer.exports(store)["invert"],
        memory=memory,
        pow=power.exports(store)["pow"],
    )
    return _state


def warm() -> int:
    """Make this process's instances (a pool's initializer); its pid."""
    _instances()
    return os.getpid()


def call_noop() -> None:
    s = _instances()
    s["noop"](s["store"])


def write_call_read(data: bytes) -> bytes:
    """Write ``data`` at 0, invert it in place, read it back."""
    s = _instances()
    store, memory = s["store"], s["memory"]
    memory.write(store, data, 0)
    s["invert"](store, 0, len(data))
    return bytes(memory.read(store, 0, len(data)))


def host_calls(count: int) -> int:
    """pow(1, count): ``count`` calls of a Python host function."""
    s = _instances()
    result: int = s["pow"](s["store"], 1, count)
    return result


def pid() -> int:
    return os.getpid()


def _mul_handler(ctx: Any, a: int, b: int) -> int:
    """beamr's in-worker handler for pow's my_lib.mul (the same host function)."""
    return a * b


def in_process(sizes: list[int], rounds: int) -> dict[str, Any]:
    """The workloads in this process: seconds per operation (medians)."""
    wasmtime = _wasmtime()
    out: dict[str, Any] = {"call": median_of(call_noop, rounds, WARMUP)}
    for size in sizes:
        data = os.urandom(size)
        out[f"write-call-read {size}"] = median_of(
            functools.partial(write_call_read, data),
            max(5, rounds // (1 + size // 65536)),
            WARMUP,
        )
    out["1000 host calls"] = median_of(lambda: host_calls(1000), max(10, rounds // 100), WARMUP)
    s = _instances()
    module = wasmtime.Module.from_file(s["store"].engine, FIXTURES / "edge.wasm")
    out["start"] = median_of(lambda: wasmtime.Instance(s["store"], module, []), 200, WARMUP)
    return out


if __name__ == "__main__":
    sizes = [int(size) for size in sys.argv[1].split(",")]
    print(json.dumps(in_process(sizes, int(sys.argv[2]))))
