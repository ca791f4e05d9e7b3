"""Soak: start, use, kill and stop many instances; the parent's descriptors, children
and memory stay flat. BEAMR_SOAK_CYCLES sets the number of cycles (default 60)."""

from __future__ import annotations

import os
import signal

import anyio
import pytest

import beamr
from beamr import io

from .conftest import child_pids, gone, open_fds, wasm

pytestmark = pytest.mark.anyio

CYCLES = int(os.environ.get("BEAMR_SOAK_CYCLES", "60"))
BATCH = 10


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def one_batch(batch: int) -> None:
    calling, edge = wasm("calling"), wasm("edge")
    instances: list[beamr.Instance] = []
    limits = beamr.Limits(call_timeout=0.05)

    async def start(binary: bytes) -> None:
        instances.append(await beamr.start(binary, limits=limits))

    async with anyio.create_task_group() as tg:
        for n in range(batch):
            tg.start_soon(start, calling if n % 2 else edge)
    for n, instance in enumerate(instances):
        text = f"cycle {n}".encode()
        if any(e.name == "spin" for e in instance.exports):  # edge: a runaway call, interrupted
            await io.write(instance, 64, text + b"\0")
            with pytest.raises(beamr.CallTimeout):
                await beamr.call(instance, "spin", [])
            assert await io.read_string(instance, 64) == text
        else:  # calling: strings through malloc, then every other one crashes
            ptr = await io.write_string(instance, text)
            assert await io.read_string(instance, ptr) == text
            if n % 4 == 1:
                os.kill(instance.pid, signal.SIGKILL)
                with pytest.raises(beamr.WorkerCrashed):
                    await io.size(instance)
    for instance in instances:
        await beamr.stop(instance)


async def test_soak_keeps_the_parent_flat() -> None:
    await one_batch(BATCH)  # warm up caches, lazy imports, allocator arenas
    fds, children, rss = open_fds(), child_pids(), rss_bytes()
    for _ in range(max(1, CYCLES // BATCH)):
        await one_batch(BATCH)
    grown = rss_bytes() - rss
    print(
        f"\nsoak: {CYCLES} instances; fds {fds} -> {open_fds()}, "
        f"children {len(children)} -> {len(child_pids())}, RSS {rss >> 20} MiB -> "
        f"{rss_bytes() >> 20} MiB"
    )
    assert open_fds() == fds
    assert gone(child_pids() - children)
    assert grown < 16 << 20, f"RSS grew by {grown >> 20} MiB over {CYCLES} instances"
