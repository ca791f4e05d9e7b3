"""WASI preview1: wasmtime's implementation, default-deny, output captured."""

from __future__ import annotations

import anyio
import pytest

import beamr
from beamr import io

from .conftest import wasm

pytestmark = pytest.mark.anyio


async def test_wasi_output_is_captured() -> None:
    async with await beamr.start(wasm("calling"), wasi=True) as instance:
        assert await beamr.call(instance, "print_hello", []) == [0]
        assert await instance.output() == (b"Hello from WASI!\n", b"err line\n")
        assert await instance.output() == (b"", b"")  # taken, so cleared
        await beamr.call(instance, "print_hello", [])
        await beamr.call(instance, "print_hello", [])
        out = await instance.output()
        assert out.stdout == b"Hello from WASI!\n" * 2
        assert out.stderr == b"err line\n" * 2


async def test_wasi_is_default_deny() -> None:
    async with await beamr.start(wasm("calling"), wasi=True) as instance:
        assert await beamr.call(instance, "get_env_count", []) == [0]


async def test_wasi_config_grants_env() -> None:
    config = beamr.WasiConfig(env={"A": "1", "B": "2"}, args=["prog", "x"])
    async with await beamr.start(wasm("calling"), wasi=config) as instance:
        assert await beamr.call(instance, "get_env_count", []) == [2]


async def test_without_wasi_a_wasi_call_is_a_missing_import() -> None:
    async with await beamr.start(wasm("calling")) as instance:
        with pytest.raises(beamr.MissingImport, match="wasi_snapshot_preview1"):
            await beamr.call(instance, "print_hello", [])
        assert await beamr.call(instance, "add", [1, 2]) == [3]
    async with await beamr.start(wasm("calling"), wasi=False) as instance:
        with pytest.raises(beamr.MissingImport):
            await beamr.call(instance, "get_env_count", [])


async def test_explicit_handlers_win_over_builtin_wasi() -> None:
    written: list[bytes] = []

    async def fd_write(w: beamr.Instance, fd: int, iovs: int, count: int, nwritten: int) -> int:
        total = 0
        for i in range(count):
            entry = await io.read(w, iovs + 8 * i, 8)
            ptr, length = int.from_bytes(entry[:4], "little"), int.from_bytes(entry[4:], "little")
            written.append(await io.read(w, ptr, length))
            total += length
        await io.write(w, nwritten, total.to_bytes(4, "little"))
        return 0

    imports = {"wasi_snapshot_preview1": {"fd_write": fd_write}}
    for wasi in (True, False):
        written.clear()
        async with await beamr.start(wasm("wasi_hello"), imports=imports, wasi=wasi) as instance:
            assert await beamr.call(instance, "hello", []) == [0]
            if wasi:
                assert await instance.output() == (b"", b"")
        assert written == [b"hi\n"]


async def test_wasi_config_is_checked() -> None:
    with pytest.raises(TypeError):
        beamr.WasiConfig(args="not a list")
    with pytest.raises(TypeError):
        beamr.WasiConfig(env={"A": 1})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        await beamr.start(wasm("calling"), wasi="yes")  # type: ignore[arg-type]


async def test_poll_oneoff_sleeps_and_reports_its_event() -> None:
    async with await beamr.start(wasm("wasi_sleep"), wasi=True) as instance:
        assert await beamr.call(instance, "sleep", [1_000_000]) == [0]  # 1 ms
        assert await beamr.call(instance, "events", []) == [1]
        assert await beamr.call(instance, "event_userdata", []) == [77]


async def test_a_timeout_reaches_a_guest_sleeping_in_poll_oneoff() -> None:
    """Before, CallTimeout came, but the next call hung 10 s (wasmtime's own sleep
    cannot be interrupted) and then the worker was killed."""
    limits = beamr.Limits(call_timeout=0.2)
    async with await beamr.start(wasm("wasi_sleep"), wasi=True, limits=limits) as instance:
        pid = instance.pid
        with pytest.raises(beamr.CallTimeout):
            await beamr.call(instance, "sleep", [3600 * 10**9])  # an hour
        with anyio.fail_after(5):  # a hang (or a killed worker) here is the bug
            assert await beamr.call(instance, "noop", []) == []
        assert instance.pid == pid
        assert instance.usable
        with anyio.move_on_after(0.2):  # a cancelled await wakes it too
            await beamr.call(instance, "sleep", [3600 * 10**9])
        with anyio.fail_after(5):
            assert await beamr.call(instance, "sleep", [0]) == [0]
