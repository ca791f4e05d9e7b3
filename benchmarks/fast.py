"""The "fast by default, fewer crossings" figures, each against a baseline measured in
the same run: plain starts (40 concurrently) and their idle PSS, the fork-server's
idle exit, thousands of live instances, pool checkouts, batches, host calls, and
the blocking facade's cost over the async call it wraps."""

from __future__ import annotations

import functools
import os
import resource
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

import beamr
import beamr.sync as bs
from beamr import _forkserver, _memory, io
from benchmarks.peer_worker import FIXTURES
from benchmarks.timing import async_median_of, pss

Timed = Callable[[], Awaitable[Any]]


def _fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.wasm").read_bytes()


async def starts(rounds: int = 5, count: int = 40) -> dict[str, float]:
    """Plain ``beamr.start``s, ``count`` at once: per second, and PSS per idle one."""
    edge = _fixture("edge")
    async with await beamr.start(edge):  # the fork-server starts; the module is cached
        pass
    rates: list[float] = []
    sizes: list[float] = []
    for _ in range(rounds):
        instances: list[beamr.Instance] = []
        start = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for _ in range(count):
                tg.start_soon(_start_into, edge, instances)
        rates.append(count / (time.perf_counter() - start))
        sizes.append(statistics.mean(pss(i.pid) for i in instances))
        async with anyio.create_task_group() as tg:
            for instance in instances:
                tg.start_soon(instance.aclose)
    return {"starts/s": statistics.median(rates), "PSS MiB": statistics.median(sizes) / 2**20}


async def idle_exit() -> float:
    """Seconds from the last instance's stop to the fork-server's exit (its pidfd)."""
    async with await beamr.start(_fixture("edge")):
        server = _forkserver.FORK_SERVER.pid
    if server is None:
        return float("nan")
    pidfd = os.pidfd_open(server)
    try:
        start = time.perf_counter()
        await anyio.wait_readable(pidfd)
        return time.perf_counter() - start
    finally:
        os.close(pidfd)


def _available() -> int:
    """MemAvailable in bytes (a large figure where /proc does not say)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 1 << 62


#: ``many`` stops starting instances when the machine would have less than this left
RESERVE = 2 << 30


async def many(count: int) -> dict[str, Any]:
    """``count`` instances alive at once, each answering; descriptors and private
    memory per instance. Instances start 100 at a time; if the next hundred would
    leave less than :data:`RESERVE` of available memory, it stops there and says so
    (memory, not beamr, is then the bound)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    edge = _fixture("edge")
    before = len(os.listdir("/proc/self/fd"))
    available = _available()
    instances: list[beamr.Instance] = []
    stopped = ""
    start = time.perf_counter()
    try:
        while len(instances) < count:
            if instances:
                each = (available - _available()) / len(instances)
                if _available() - 100 * each < RESERVE:
                    stopped = (
                        f"stopped at {len(instances)}: {each / 2**20:.2f} MiB of memory "
                        f"each, {_available() / 2**30:.1f} GiB left"
                    )
                    break
            async with anyio.create_task_group() as tg:
                for _ in range(min(100, count - len(instances))):
                    tg.start_soon(_start_into, edge, instances)
        started = time.perf_counter() - start
        fds = (len(os.listdir("/proc/self/fd")) - before) / max(1, len(instances))
        memory = (available - _available()) / max(1, len(instances))
        answered = 0
        for instance in instances:
            answered += await io.size(instance) == 65536
    finally:
        async with anyio.create_task_group() as tg:
            for instance in instances:
                tg.start_soon(instance.aclose)
    return {
        "alive": len(instances),
        "answered": answered,
        "started in s": round(started, 1),
        "descriptors per instance": round(fds, 2),
        "memory per instance MiB": round(memory / 2**20, 2),
        "open-file limit": f"{soft} (hard {hard})",
        **({"bound": stopped} if stopped else {}),
    }


async def _start_into(binary: bytes, instances: list[beamr.Instance]) -> None:
    instances.append(await beamr.start(binary))


async def pool(seconds: float = 3.0) -> dict[str, float]:
    """Fresh-instance checkouts per second; a warm checkout plus its first call over a
    call on a held instance."""
    edge = _fixture("edge")
    out: dict[str, float] = {}
    async with beamr.Pool(edge, size=8) as fresh:
        async with fresh.instance() as wasm:
            await beamr.call(wasm, "noop", [])
        done, deadline = 0, time.perf_counter() + seconds
        start = time.perf_counter()
        while time.perf_counter() < deadline:
            async with fresh.instance() as wasm:
                await beamr.call(wasm, "noop", [])
            done += 1
        out["fresh checkouts/s"] = done / (time.perf_counter() - start)
    async with beamr.Pool(edge, size=2, max_uses=None) as warm:

        async def checkout() -> None:
            async with warm.instance() as wasm:
                await beamr.call(wasm, "noop", [])

        async with await beamr.start(edge) as held:
            call = functools.partial(beamr.call, held, "noop", [])
            times = await _turns({"checkout": checkout, "call": call}, 2000)
    out["warm checkout + call / call"] = times["checkout"] / times["call"]
    return out


async def _turns(operations: dict[str, Timed], rounds: int, turns: int = 10) -> dict[str, float]:
    samples: dict[str, list[float]] = {name: [] for name in operations}
    for _ in range(turns):
        for name, operation in operations.items():
            samples[name].append(await async_median_of(operation, rounds // turns, warmup=10))
    return {name: statistics.median(values) for name, values in samples.items()}


async def batches(rounds: int) -> dict[str, float]:
    """A 1 KiB write-call-read batch, and a 16 KiB-chunk loop (write + call per chunk,
    one batch each), each over one ``call(noop)`` round trip."""
    buffer = _fixture("bench_buffer")
    async with await beamr.start(buffer) as wasm:
        kib = os.urandom(1024)
        chunk = os.urandom(16 << 10)

        async def write_call_read() -> None:
            await io.batch(
                wasm, [io.Op.write(0, kib), io.Op.call("invert", [0, 1024]), io.Op.read(0, 1024)]
            )

        async def chunk_step() -> None:
            await io.batch(wasm, [io.Op.write(0, chunk), io.Op.call("invert", [0, len(chunk)])])

        call = functools.partial(beamr.call, wasm, "noop", [])
        times = await _turns({"wcr": write_call_read, "chunk": chunk_step, "call": call}, rounds)
    return {
        "1 KiB write-call-read / call(noop)": times["wcr"] / times["call"],
        "16 KiB chunk (write + call) / round trip": times["chunk"] / times["call"],
        "bulk threshold": float(_memory.BULK_THRESHOLD),
    }


async def host_calls(rounds: int) -> dict[str, float]:
    """Seconds per host call: 1000 of them in one pow, answered in the worker and by
    the parent."""
    power = _fixture("pow")
    in_worker = {"my_lib": {"mul": "benchmarks.peer_worker:_mul_handler"}}
    parent = {"my_lib": {"mul": lambda wasm, a, b: a * b}}
    async with (
        await beamr.start(power, imports=in_worker) as fast,
        await beamr.start(power, imports=parent) as slow,
    ):
        times = await _turns(
            {
                "worker": functools.partial(beamr.call, fast, "pow", [1, 1000]),
                "parent": functools.partial(beamr.call, slow, "pow", [1, 100]),
            },
            max(20, rounds // 50),
        )
    return {
        "in-worker host call s": times["worker"] / 1000,
        "parent host call s": times["parent"] / 100,
    }


def sync_cost(rounds: int) -> dict[str, float]:
    """``beamr.sync.call`` over the async call it wraps, the latter measured on the
    facade's own loop (in its thread), in alternating turns."""
    with bs.start(_fixture("edge")) as wasm:
        call = functools.partial(beamr.call, wasm.aio, "noop", [])
        sync_samples: list[float] = []
        async_medians: list[float] = []
        for _ in range(200):
            bs.call(wasm, "noop", [])
        for _ in range(10):
            for _ in range(rounds // 10):
                start = time.perf_counter()
                bs.call(wasm, "noop", [])
                sync_samples.append(time.perf_counter() - start)
            async_medians.append(bs._run(async_median_of, call, rounds // 10, 10))
    ratio = statistics.median(sync_samples) / statistics.median(async_medians)
    return {"sync call(noop) / async call(noop)": ratio}
