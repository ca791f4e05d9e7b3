"""memory64 modules with HyperBEAM's WASI-64 and legacy exceptions, as AO processes are,
through beamr in every start mode: WASI served from workers/wasi_preview1, the
exceptions translated on load, the dev_json_iface calling sequence, state kept
across messages and carried by a snapshot into a fresh instance.

wasm_fixtures/ao_process.wat is the process (see its header); wasi64_hello and
wasi64_calls exercise WASI-64 itself (its implementation is tested function by
function, against wasmtime's, in test_wasi_preview1*.py).
"""

from __future__ import annotations

import struct
from pathlib import Path

import anyio
import pytest

import beamr
from beamr import io

from .conftest import wasm

pytestmark = pytest.mark.anyio

AO = wasm("ao_process")
HELLO64 = wasm("wasi64_hello")
CALLS64 = wasm("wasi64_calls")


async def handle(instance: beamr.Instance, msg: bytes, env: bytes = b"{}") -> bytes:
    """HyperBEAM's dev_json_iface: write the message, then the env; call; read."""
    msg_ptr = await io.write_string(instance, msg)
    env_ptr = await io.write_string(instance, env)
    (reply,) = await beamr.call(instance, "handle", [msg_ptr, env_ptr])
    return await io.read_string(instance, int(reply))


async def test_messages_keep_their_state_and_exceptions_are_caught(start_mode: str) -> None:
    async with await beamr.start(AO, wasi=True) as instance:
        assert await handle(instance, b"hello") == b"count=1 len=5"
        assert await handle(instance, b"!boom") == b"caught=7"  # thrown and caught inside
        assert await handle(instance, b"x" * 300) == b"count=2 len=300"
        assert (await instance.output()).stdout == b"hello!boom" + b"x" * 300


async def test_a_snapshot_restores_the_process_in_a_fresh_instance(start_mode: str) -> None:
    async with await beamr.start(AO, wasi=True) as first:
        for _ in range(3):
            await handle(first, b"m")
        snapshot = await beamr.serialize(first)
        assert await handle(first, b"m") == b"count=4 len=1"
    async with await beamr.start(AO, wasi=True) as fresh:
        assert await handle(fresh, b"m") == b"count=1 len=1"  # a new process starts at 0
    async with await beamr.start(AO, wasi=True) as restored:
        await beamr.deserialize(restored, snapshot)
        assert await handle(restored, b"m") == b"count=4 len=1"


async def test_the_wasi64_clock_writes_eight_bytes() -> None:
    async with await beamr.start(AO, wasi=True) as instance:
        await io.write(instance, 600, b"\xff" * 16)
        assert await beamr.call(instance, "clock", []) == [0]
        (now,) = struct.unpack("<Q", await io.read(instance, 600, 8))
        assert now > 0
        assert await io.read(instance, 608, 8) == b"\xff" * 8  # nothing past the u64


async def test_a_wasi64_command_gets_args_env_stdin_and_dirs(
    tmp_path: Path, start_mode: str
) -> None:
    done = await beamr.run(
        HELLO64, args=["hello64", "a b"], env={"K": "V"}, stdin=b"in", dirs={str(tmp_path): "/d"}
    )
    assert done.status == 3
    assert done.stdout == (
        b"hello from wasm64\nhello64\na b\nK=V\nclock ok\nrandom ok\nyield ok\npreopen /d\n"
    )
    assert done.stderr == b"in"


async def test_wasi64_proc_exit_is_proc_exit() -> None:
    async with await beamr.start(CALLS64, wasi=True) as instance:
        with pytest.raises(beamr.ProcExit) as caught:
            await beamr.call(instance, "wasi_proc_exit", [7])
        assert caught.value.status == 7
        with pytest.raises(beamr.Trap, match="126"):  # as wasmtime's WASI: a trap
            await beamr.call(instance, "wasi_proc_exit", [126])
        assert await io.size(instance) == 2 * 65536  # and the instance lives on


async def test_a_bad_wasi64_pointer_traps_as_in_wasmtime() -> None:
    async with await beamr.start(CALLS64, wasi=True) as instance:
        with pytest.raises(beamr.Trap, match="fd_write"):
            await beamr.call(instance, "wasi_fd_write", [1, 1 << 40, 1, 0])


async def test_a_guest_asleep_in_wasi64_poll_oneoff_is_interrupted_by_the_timeout() -> None:
    """A relative clock subscription of an hour: call_timeout ends it, and the
    instance stays usable."""
    subscription = struct.pack("<QB7xIxxxxQQH6x", 1, 0, 1, 3600 * 10**9, 0, 0)
    limits = beamr.Limits(call_timeout=0.5)
    async with await beamr.start(CALLS64, wasi=True, limits=limits) as instance:
        await io.write(instance, 1024, subscription)
        with anyio.fail_after(30):  # a bound for a hang, not a measurement
            with pytest.raises(beamr.CallTimeout):
                await beamr.call(instance, "wasi_poll_oneoff", [1024, 2048, 1, 4096])
        assert await io.size(instance) == 2 * 65536


async def test_wasi64_file_access_stays_inside_the_dirs(tmp_path: Path) -> None:
    """path_open of "../outside" beneath the preopen (fd 3) is refused (EPERM, 63)."""
    (tmp_path / "inside").mkdir()
    (tmp_path / "outside").write_bytes(b"secret")
    config = beamr.WasiConfig(dirs={str(tmp_path / "inside"): "/in"})
    async with await beamr.start(CALLS64, wasi=config) as instance:
        name = b"../outside"
        await io.write(instance, 1024, name)
        errno = await beamr.call(
            instance, "wasi_path_open", [3, 0, 1024, len(name), 0, 0x1FFFFFFF, 0x1FFFFFFF, 0, 2048]
        )
        assert errno == [63]


async def test_legacy_exceptions_and_wasi64_together_under_fuel_and_memory_limits() -> None:
    limits = beamr.Limits(fuel=50_000_000, memory_bytes=4 << 20)
    async with await beamr.start(AO, wasi=True, limits=limits) as instance:
        assert await handle(instance, b"!") == b"caught=7"
        assert await handle(instance, b"ok") == b"count=1 len=2"
