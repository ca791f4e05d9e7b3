"""The compiled-module cache: compile once, reuse; anything wrong with an entry is a
miss and a recompile, never a crash."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import beamr
from beamr import _forkserver, protocol
from beamr.api import module_cache_dir

from .conftest import wasm

pytestmark = pytest.mark.anyio


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh cache directory. Workers are spawned here: a fork-server may hold the
    module compiled already (tests/test_fork_server.py covers that path)."""
    monkeypatch.setattr(_forkserver, "METHOD", "process")
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
    assert again[name].st_size == first[name].st_size
    assert again[name].st_mtime_ns >= first[name].st_mtime_ns  # marked used (LRU)


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


@pytest.mark.parametrize("method", ["process", "fork"])
async def test_an_entry_runs_only_for_its_own_key(
    cache: Path, method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Module B's entry copied under A's file name must not make A run B's code."""
    if method == "fork" and not _forkserver.FORK_SUPPORTED:
        pytest.skip("no fork-server here")
    monkeypatch.setattr(_forkserver, "METHOD", method)
    async with await beamr.start(
        wasm("pow"), imports={"my_lib": {"mul": lambda w, a, b: a * b}}
    ) as a:
        assert await beamr.call(a, "pow", [2, 5]) == [32]
    (entry_a,) = entries(cache)
    async with await beamr.start(wasm("fac")) as b:
        assert await beamr.call(b, "fac", [5.0]) == [120.0]
    (entry_b,) = set(entries(cache)) - {entry_a}
    (cache / entry_a).write_bytes((cache / entry_b).read_bytes())  # B's code, A's name
    try:
        async with await beamr.start(
            wasm("pow"), imports={"my_lib": {"mul": lambda w, a, b: a * b}}
        ) as a:
            assert [e.name for e in a.exports if e.kind == "func"] == ["pow"]
            assert await beamr.call(a, "pow", [2, 5]) == [32]
            assert await a.request(protocol.Probe("module_source")) == "compiled"
    finally:
        _forkserver.FORK_SERVER.shutdown()
    assert (cache / entry_a).read_bytes() != (cache / entry_b).read_bytes()  # rewritten


async def test_the_cache_keeps_to_its_size_bound(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Least recently used entries go first; half-written leftovers go once stale."""
    assert await fac() == [120.0]
    (calling,) = entries(cache)
    size = (cache / calling).stat().st_size
    stale = cache / ".leftover.of.a.stopped.worker"
    stale.write_bytes(b"x" * 100)
    os.utime(stale, (0, 0))
    fresh = cache / ".being.written"
    fresh.write_bytes(b"y")
    monkeypatch.setenv("BEAMR_CACHE_MAX_BYTES", str(size - 1))  # room for fac alone
    async with await beamr.start(wasm("fac")) as instance:  # a second entry: over the bound
        assert await beamr.call(instance, "fac", [3.0]) == [6.0]
    remaining = entries(cache)
    assert calling not in remaining  # the least recently used went
    assert len(remaining) == 1
    assert not stale.exists()
    assert fresh.exists()  # maybe another worker's, still being written


def test_a_bad_cache_bound_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from beamr.api import module_cache_max_bytes

    monkeypatch.setenv("BEAMR_CACHE_MAX_BYTES", "lots")
    with pytest.raises(ValueError, match="BEAMR_CACHE_MAX_BYTES"):
        module_cache_max_bytes()
    monkeypatch.setenv("BEAMR_CACHE_MAX_BYTES", "1024")
    assert module_cache_max_bytes() == 1024
