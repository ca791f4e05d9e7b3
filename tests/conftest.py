"""Shared fixtures: both anyio backends, the wasm fixtures, and a leak check."""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "wasm_fixtures"


def wasm(name: str) -> bytes:
    """The bytes of ``wasm_fixtures/NAME.wasm``."""
    return (FIXTURES / f"{name}.wasm").read_bytes()


def child_pids() -> set[int]:
    """Live (or zombie) children of this process, whichever thread started them."""
    pids: set[int] = set()
    for path in glob.glob(f"/proc/{os.getpid()}/task/*/children"):
        try:
            with open(path) as f:
                pids.update(int(p) for p in f.read().split())
        except OSError:
            continue
    return pids


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(autouse=True)
def no_leaked_workers() -> Iterator[None]:
    """Every test stops the workers it started: none may outlive it, not even a zombie."""
    before = child_pids()
    yield
    leaked = child_pids() - before
    assert not leaked, f"worker processes left behind: {sorted(leaked)}"


def f32_round(x: float) -> float:
    """``x`` rounded to the nearest f32, as a Python float."""
    import struct

    return float(struct.unpack("<f", struct.pack("<f", x))[0])
