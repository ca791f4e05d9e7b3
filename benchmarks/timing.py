"""The bench's one timing loop: samples of an operation, in seconds; their median;
and the memory a process holds (PSS)."""

from __future__ import annotations

import inspect
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any


def samples_of(operation: Callable[[], Any], rounds: int, warmup: int = 0) -> list[float]:
    """``rounds`` timings of a synchronous ``operation``, after ``warmup`` untimed runs."""
    for _ in range(warmup):
        operation()
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        operation()
        samples.append(time.perf_counter() - start)
    return samples


async def async_samples_of(
    operation: Callable[[], Awaitable[Any]], rounds: int, warmup: int = 0
) -> list[float]:
    """The same for an awaitable ``operation``."""
    assert inspect.iscoroutinefunction(operation) or callable(operation)
    for _ in range(warmup):
        await operation()
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        await operation()
        samples.append(time.perf_counter() - start)
    return samples


def median_of(operation: Callable[[], Any], rounds: int, warmup: int = 0) -> float:
    """The median of :func:`samples_of`."""
    return statistics.median(samples_of(operation, rounds, warmup))


async def async_median_of(
    operation: Callable[[], Awaitable[Any]], rounds: int, warmup: int = 0
) -> float:
    """The median of :func:`async_samples_of`."""
    return statistics.median(await async_samples_of(operation, rounds, warmup))


def pss(pid: int) -> int:
    """The proportional set size of process ``pid`` in bytes (0 if unknown)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0
