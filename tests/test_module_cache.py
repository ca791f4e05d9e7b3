"""The compiled-module cache: compile once, reuse; anything wrong with an entry is a
miss and a recompile, never a crash."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import beamr
from beamr import _process
from beamr.instance import module_cache_dir

from .conftest import wasm

pytestmark = pytest.mark.anyio


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh cache directory. Workers are spawned here: a fork-server may hold the
    module compiled already (tests/test_fork_server.py covers that path)."""
    monkeypatch.setattr(_process, "METHOD", "process")
    directory = tmp_path / "cache"
    monkeypatch.setenv("BEAMR_CACHE_DIR", str(directory))
    return directory


def entries(directory: Path) -> dict[str, os.stat_result]:
    return {p.name: p.stat() for p in directory.glob("*.cwasm")}


async def fac(limits: beamr.Limits | None = None) -> list[int | float]:
    async with await beamr.start(wasm("calling"), limits=limits) as instance:
        return await beamr.call(instance, "fac", [5.0])


async def test_a_module_is_compiled_once_then_reused(cache: Path) -> None:
    assert await fac() == [120.0]
    first = entries(cache)
    assert len(first) == 1
    assert oct(os.stat(cache).st_mode & 0o777) == "0o700"
    assert await fac() == [120.0]
    again = entries(cache)
    assert again.keys() == first.keys()
    (name,) = first
    assert again[name].st_ino == first[name].st_ino  # read, not rewritten
    assert again[name].st_mtime_ns == first[name].st_mtime_ns


async def test_engine_configurations_get_their_own_entries(cache: Path) -> None:
    assert await fac() == [120.0]
    assert await fac(beamr.Limits(fuel=10**6)) == [120.0]
    assert len(entries(cache)) == 2


def damaged(entry: Path) -> list[tuple[str, bytes]]:
    data = entry.read_bytes()
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF
    return [
        ("flipped byte", bytes(flipped)),
        ("truncated", data[: len(data) // 3]),
        ("empty", b""),
        ("garbage", os.urandom(len(data))),
        ("header only", data[:57]),
    ]


async def test_a_corrupt_entry_is_recompiled_and_rewritten(cache: Path) -> None:
    await fac()
    ((name, _),) = entries(cache).items()
    entry = cache / name
    good = entry.read_bytes()
    for what, bad in damaged(entry):
        entry.write_bytes(bad)
        assert await fac() == [120.0], what
        assert entry.read_bytes() == good, f"{what}: not rewritten"


async def test_a_mismatched_entry_is_recompiled(cache: Path) -> None:
    """An entry compiled for another engine configuration (fuel metering) put under
    this configuration's name: its digest is right, wasmtime refuses it."""
    await fac()
    (plain,) = entries(cache)
    await fac(beamr.Limits(fuel=10**6))
    (fueled,) = set(entries(cache)) - {plain}
    good = (cache / plain).read_bytes()
    (cache / plain).write_bytes((cache / fueled).read_bytes())
    assert await fac() == [120.0]
    assert (cache / plain).read_bytes() == good


async def test_an_unsafe_directory_is_not_used(cache: Path) -> None:
    os.mkdir(cache, 0o700)
    os.chmod(cache, 0o777)  # anyone could plant compiled code here
    assert await fac() == [120.0]
    assert entries(cache) == {}


async def test_the_cache_can_be_turned_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEAMR_CACHE_DIR", "")
    assert module_cache_dir() is None
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert await fac() == [120.0]
    assert not (tmp_path / ".cache").exists()


def test_default_location(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BEAMR_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", "/somewhere")
    assert module_cache_dir() == "/somewhere/beamr"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", "/home/u")
    assert module_cache_dir() == "/home/u/.cache/beamr"


async def test_an_invalid_module_is_not_cached(cache: Path) -> None:
    with pytest.raises(beamr.InvalidModule):
        await beamr.start(wasm("bad"))
    assert entries(cache) == {}
