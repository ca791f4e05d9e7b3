"""beamr beside what a user would otherwise pick, on the same workloads, in one run.

Peers (:mod:`benchmarks.peer_worker`): in-process wasmtime-py; a
``ProcessPoolExecutor`` and ``anyio.to_process`` whose worker processes hold wasmtime
instances. Workloads: a trivial call; write-call-read of 1 KiB, 1 MiB and 16 MiB (write
a buffer, invert it in the wasm, read it back); calls/s with 2, 8 and 64 instances (or
pool workers) called concurrently; start latency and PSS per instance; 1000 host
calls (pow through a Python host function: the parent's handler and an in-worker one
for beamr). beamr and each process peer are measured in alternating turns; figures
are medians, and each row gives beamr's time over the peer's (below 1: beamr faster).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import anyio.to_process

import beamr
from beamr import _memory, _spawn, io
from benchmarks import peer_worker
from benchmarks.peer_worker import FIXTURES
from benchmarks.timing import async_median_of, pss

SIZES = [1 << 10, 1 << 20, 16 << 20]
CONCURRENCY = [2, 8, 64]
TURNS = 5

Timed = Callable[[], Awaitable[Any]]


async def _turns(operations: dict[str, Timed], rounds: int) -> dict[str, float]:
    """Each operation's median, measured in alternating turns (noise falls on all)."""
    for operation in operations.values():
        await async_median_of(operation, max(1, rounds // 10))  # warm up
    samples: dict[str, list[float]] = {name: [] for name in operations}
    for _ in range(TURNS):
        for name, operation in operations.items():
            samples[name].append(await async_median_of(operation, max(1, rounds // TURNS)))
    return {name: statistics.median(values) for name, values in samples.items()}


class _Pool:
    """A ProcessPoolExecutor peer, awaited from the event loop."""

    def __init__(self, workers: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.executor = concurrent.futures.ProcessPoolExecutor(
            workers, mp_context=context, initializer=peer_worker.warm
        )
        self.loop = asyncio.get_running_loop()

    async def run(self, func: Callable[..., Any], *args: Any) -> Any:
        return await self.loop.run_in_executor(self.executor, func, *args)

    async def pids(self, count: int) -> set[int]:
        return set(await asyncio.gather(*(self.run(peer_worker.warm) for _ in range(count))))

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)


async def _to_process(func: Callable[..., Any], *args: Any) -> Any:
    return await anyio.to_process.run_sync(func, *args, cancellable=False)


async def _concurrently(count: int, seconds: float, call: Callable[[int], Timed]) -> float:
    """Calls per second, ``count`` callers each looping on ``call(i)``."""
    done = 0
    deadline = time.perf_counter() + seconds

    async def loop(i: int) -> None:
        nonlocal done
        operation = call(i)
        while time.perf_counter() < deadline:
            await operation()
            done += 1

    start = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for i in range(count):
            tg.start_soon(loop, i)
    return done / (time.perf_counter() - start)


def _in_process(rounds: int) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.peer_worker", ",".join(map(str, SIZES)), str(rounds)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": _spawn.worker_root()},
    )
    return dict(json.loads(done.stdout))


async def measure(rounds: int) -> dict[str, Any]:
    """Every workload on beamr and each peer; seconds (or calls/s, or bytes)."""
    edge = (FIXTURES / "edge.wasm").read_bytes()
    buffer = (FIXTURES / "bench_buffer.wasm").read_bytes()
    power = (FIXTURES / "pow.wasm").read_bytes()
    out: dict[str, dict[str, Any]] = {
        "beamr": {},
        "ProcessPoolExecutor": {},
        "anyio.to_process": {},
    }
    beamr_ = out["beamr"]
    out["in-process wasmtime-py"] = dict(_in_process(rounds))
    pool = _Pool(1)
    await pool.pids(1)
    await _to_process(peer_worker.warm)
    handlers = {"my_lib": {"mul": lambda wasm, a, b: a * b}}
    in_worker = {"my_lib": {"mul": "benchmarks.peer_worker:_mul_handler"}}
    try:
        async with (
            await beamr.start(edge) as noop,
            await beamr.start(buffer) as buf,
            await beamr.start(power, imports=handlers) as pow_parent,
            await beamr.start(power, imports=in_worker) as pow_worker,
        ):
            calls = await _turns(
                {
                    "beamr": functools.partial(beamr.call, noop, "noop", []),
                    "pool": functools.partial(pool.run, peer_worker.call_noop),
                    "to_process": functools.partial(_to_process, peer_worker.call_noop),
                },
                rounds,
            )
            beamr_["call"] = calls["beamr"]
            out["ProcessPoolExecutor"]["call"] = calls["pool"]
            out["anyio.to_process"]["call"] = calls["to_process"]
            for size in SIZES:
                data = os.urandom(size)
                operations: dict[str, Timed] = {
                    "beamr": functools.partial(_beamr_wcr, buf, data),
                    "pool": functools.partial(pool.run, peer_worker.write_call_read, data),
                    "to_process": functools.partial(_to_process, peer_worker.write_call_read, data),
                }
                times = await _turns(operations, max(10, rounds // (1 + size // 32768)))
                key = f"write-call-read {size}"
                beamr_[key] = times["beamr"]
                out["ProcessPoolExecutor"][key] = times["pool"]
                out["anyio.to_process"][key] = times["to_process"]
            hosts = await _turns(
                {
                    "parent handler": functools.partial(beamr.call, pow_parent, "pow", [1, 1000]),
                    "in-worker handler": functools.partial(
                        beamr.call, pow_worker, "pow", [1, 1000]
                    ),
                    "pool": functools.partial(pool.run, peer_worker.host_calls, 1000),
                    "to_process": functools.partial(_to_process, peer_worker.host_calls, 1000),
                },
                max(10, rounds // 50),
            )
            beamr_["1000 host calls"] = hosts["parent handler"]
            beamr_["1000 host calls (in-worker handler)"] = hosts["in-worker handler"]
            out["ProcessPoolExecutor"]["1000 host calls"] = hosts["pool"]
            out["anyio.to_process"]["1000 host calls"] = hosts["to_process"]
    finally:
        pool.close()
    await _throughput(out, edge)
    await _starts(out, edge)
    return out


async def _beamr_wcr(wasm: beamr.Instance, data: bytes) -> bytes:
    """Write, invert, read: one round trip (io.batch) for small data; large data goes
    through io.write and io.read, which copy straight into and out of the worker's
    memory (three round trips, but no copy through the socket)."""
    if len(data) < _memory.BULK_THRESHOLD:
        *_, result = await io.batch(
            wasm,
            [io.Op.write(0, data), io.Op.call("invert", [0, len(data)]), io.Op.read(0, len(data))],
        )
        return bytes(result)
    await io.write(wasm, 0, data)
    await beamr.call(wasm, "invert", [0, len(data)])
    return await io.read(wasm, 0, len(data))


async def _throughput(out: dict[str, dict[str, Any]], edge: bytes) -> None:
    for count in CONCURRENCY:
        key = f"calls/s, {count} concurrent"
        out["beamr"][key] = await _beamr_rate(edge, count)
        out["ProcessPoolExecutor"][key] = await _pool_rate(count)
        out["anyio.to_process"][key] = await _to_process_rate(count)


async def _rate(count: int, call: Callable[[int], Timed], warmup: float = 0.2) -> float:
    await _concurrently(count, warmup, call)
    return await _concurrently(count, 1.0, call)


async def _beamr_rate(edge: bytes, count: int) -> float:
    instances = [await beamr.start(edge) for _ in range(count)]
    try:
        return await _rate(count, lambda i: functools.partial(beamr.call, instances[i], "noop", []))
    finally:
        for instance in instances:
            await instance.aclose()


async def _pool_rate(count: int) -> float:
    pool = _Pool(count)
    try:
        await pool.pids(count)
        return await _rate(count, lambda i: functools.partial(pool.run, peer_worker.call_noop))
    finally:
        pool.close()


async def _to_process_rate(count: int) -> float:
    limiter = anyio.CapacityLimiter(count)

    async def limited() -> None:
        await anyio.to_process.run_sync(peer_worker.call_noop, limiter=limiter)

    return await _rate(count, lambda i: limited, warmup=2.0)  # its workers start on demand


async def _starts(out: dict[str, dict[str, Any]], edge: bytes) -> None:
    """Start latency (a new instance, ready for calls) and PSS per instance."""
    samples = []
    for _ in range(20):
        start = time.perf_counter()
        instance = await beamr.start(edge)
        samples.append(time.perf_counter() - start)
        await instance.aclose()
    out["beamr"]["start"] = statistics.median(samples)
    instances = [await beamr.start(edge) for _ in range(16)]
    out["beamr"]["PSS per instance"] = statistics.mean(pss(i.pid) for i in instances)
    for instance in instances:
        await instance.aclose()
    samples = []
    for _ in range(3):
        start = time.perf_counter()
        pool = _Pool(1)
        await pool.run(peer_worker.call_noop)
        samples.append(time.perf_counter() - start)
        pool.close()
    out["ProcessPoolExecutor"]["start"] = statistics.median(samples)
    pool = _Pool(16)
    try:
        pids = await pool.pids(16)
        out["ProcessPoolExecutor"]["PSS per instance"] = statistics.mean(pss(p) for p in pids)
    finally:
        pool.close()


ROWS = [
    ("call", "s"),
    *((f"write-call-read {size}", "s") for size in SIZES),
    *((f"calls/s, {count} concurrent", "rate") for count in CONCURRENCY),
    ("start", "s"),
    ("PSS per instance", "bytes"),
    ("1000 host calls", "s"),
]


def table(out: dict[str, dict[str, Any]]) -> list[str]:
    """The peers table: beamr's figure, each peer's, and beamr over the peer (for
    rates, the peer's rate over beamr's: below 1 is beamr ahead in every row)."""
    peers = ["in-process wasmtime-py", "ProcessPoolExecutor", "anyio.to_process"]
    lines = [f"  {'workload':28}{'beamr':>12}" + "".join(f"{p:>26}" for p in peers)]

    def shown(value: Any, unit: str) -> str:
        if value is None:
            return "-"
        if unit == "s":
            return f"{value * 1e6:.1f}us" if value < 1e-2 else f"{value * 1e3:.1f}ms"
        if unit == "bytes":
            return f"{value / 2**20:.1f}MiB"
        return f"{value:.0f}/s"

    for name, unit in ROWS:
        ours = out["beamr"].get(name)
        line = f"  {name:28}{shown(ours, unit):>12}"
        for peer in peers:
            theirs = out[peer].get(name)
            if ours is None or theirs is None or not theirs:
                line += f"{'-':>26}"
                continue
            ratio = theirs / ours if unit == "rate" else ours / theirs
            line += f"{shown(theirs, unit) + f' ({ratio:.2f}x)':>26}"
        lines.append(line)
    extra = out["beamr"].get("1000 host calls (in-worker handler)")
    if extra is not None:
        lines.append(f"  {'1000 host calls, in-worker':28}{shown(extra, 's'):>12}")
    return lines
