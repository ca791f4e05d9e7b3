"""The bench's one timing loop: samples of an operation, in seconds."""

from __future__ import annotations

import inspect
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
