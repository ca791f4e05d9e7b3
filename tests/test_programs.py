"""WASI programs: beamr.run, stdin, exit statuses, output (kept, capped, streamed),
relative dirs in every start mode, and pools that serve program-style jobs.

``wasm_fixtures/prog.c`` is the program (a WASI command); its usage is at its top.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import beamr
from beamr import io

from .conftest import child_pids, gone, wasm

pytestmark = pytest.mark.anyio

PROG = wasm("prog")
MiB = 1 << 20


async def run(*args: str, **options: Any) -> beamr.Completed:
    return await beamr.run(PROG, args=["prog", *args], **options)


# ------------------------------------------------------------------------- stdin


async def test_stdin_is_read_byte_for_byte() -> None:
    data = bytes(range(256)) * 3 + b"\0\r\n"
    done = await run("cat", stdin=data)
    assert done == beamr.Completed(0, data, b"")


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=5000))
async def test_any_stdin_comes_back_from_cat(data: bytes) -> None:
    assert (await run("cat", stdin=data)).stdout == data


async def test_without_stdin_the_program_reads_eof_at_once() -> None:
    assert (await run("count")).stdout == b"0\n"
    assert (await run("count", stdin=b"")).stdout == b"0\n"


async def test_stdin_larger_than_any_buffer() -> None:
    assert (await run("count", stdin=b"x" * (5 * MiB + 3))).stdout == b"%d\n" % (5 * MiB + 3)


async def test_stdin_accepts_bytes_like_and_refuses_text() -> None:
    assert (await run("cat", stdin=bytearray(b"ab"))).stdout == b"ab"
    assert (await run("cat", stdin=memoryview(b"cd"))).stdout == b"cd"
    with pytest.raises(TypeError, match="stdin"):
        await run("cat", stdin="text")


# ----------------------------------------------------------------- exit statuses


@pytest.mark.parametrize("status", [0, 1, 7, 20, 125])
async def test_the_status_is_proc_exits_and_output_is_kept(status: int) -> None:
    done = await run("exit", str(status))
    assert done == beamr.Completed(status, b"bye\n", b"err\n")


@pytest.mark.parametrize("status", [126, 255])
async def test_statuses_from_126_on_are_a_trap_as_in_wasmtime(status: int) -> None:
    with pytest.raises(beamr.Trap, match="invalid exit status") as caught:
        await run("exit", str(status))
    assert not isinstance(caught.value, beamr.ProcExit)
    assert caught.value.stdout == b"bye\n"  # type: ignore[attr-defined]


async def test_returning_from_main_is_status_zero() -> None:
    assert await run("return") == beamr.Completed(0, b"", b"")


async def test_usage_errors_are_the_programs_own_status() -> None:
    done = await run("no-such-command")
    assert done.status == 64
    assert done.stderr.startswith(b"usage: prog")


async def test_a_trap_raises_with_the_output_so_far() -> None:
    with pytest.raises(beamr.Trap) as caught:
        await run("trap")
    assert caught.value.code == "unreachable"
    assert caught.value.stdout == b"before the trap\n"  # type: ignore[attr-defined]
    assert caught.value.stderr == b""  # type: ignore[attr-defined]


async def test_a_timeout_raises_with_the_output_so_far_and_leaves_nothing() -> None:
    before = child_pids()
    with pytest.raises(beamr.CallTimeout) as caught:
        await run("spin", limits=beamr.Limits(call_timeout=0.5))
    assert caught.value.stdout == b"spinning\n"  # type: ignore[attr-defined]
    assert gone(child_pids() - before)


async def test_proc_exit_in_a_plain_call_is_proc_exit_and_the_instance_lives_on() -> None:
    config = beamr.WasiConfig(args=["prog", "exit", "3"])
    async with await beamr.start(PROG, wasi=config) as instance:
        with pytest.raises(beamr.ProcExit) as caught:
            await beamr.call(instance, "_start", [])
        assert caught.value.status == 3
        assert caught.value.code == "exit"
        assert isinstance(caught.value, beamr.Trap)
        assert await io.size(instance) > 0
        assert await instance.output() == beamr.Output(b"bye\n", b"err\n")


async def test_a_module_without_start_is_not_a_command() -> None:
    with pytest.raises(beamr.ExportNotFound, match="_start"):
        await beamr.run(wasm("calling"))


# ------------------------------------------------------------------------ output


async def test_twenty_mib_of_output_comes_back_whole() -> None:
    done = await run("big", str(20 * MiB))
    assert len(done.stdout) == 20 * MiB
    assert done.stdout == bytes(ord("a") + i % 26 for i in range(26)) * (20 * MiB // 26) + bytes(
        ord("a") + i % 26 for i in range(20 * MiB % 26)
    )
    assert not done.stdout_truncated


@pytest.mark.parametrize(
    ("size", "limit", "truncated"),
    [(MiB, MiB, False), (MiB + 1, MiB, True), (3 * MiB, MiB, True), (10, 0, True), (0, 0, False)],
)
async def test_output_past_the_limit_is_cut_and_said_so(
    size: int, limit: int, truncated: bool
) -> None:
    done = await run("big", str(size), output_limit=limit)
    assert done.stdout == bytes(ord("a") + i % 26 for i in range(min(size, limit)))
    assert done.stdout_truncated is truncated
    assert done.stderr_truncated is False


async def test_output_streams_while_the_program_runs() -> None:
    """The program prints, then never returns: the line reaches the listener while it
    runs (sent by the worker's watcher: nothing else follows it)."""
    chunks: list[tuple[str, bytes]] = []
    arrived = anyio.Event()

    def listener(stream: str, data: bytes) -> None:
        chunks.append((stream, data))
        arrived.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(lambda: run("spin", on_output=listener))
        await arrived.wait()
        tg.cancel_scope.cancel()
    assert chunks == [("stdout", b"spinning\n")]


async def test_streamed_chunks_keep_the_order_of_the_writes() -> None:
    chunks: list[tuple[str, bytes]] = []

    async def listener(stream: str, data: bytes) -> None:  # async listeners work too
        chunks.append((stream, data))

    done = await run("mix", on_output=listener)
    assert chunks == [("stdout", b"o1"), ("stderr", b"e1"), ("stdout", b"o2")]
    assert done == beamr.Completed(0, b"", b"")  # streamed, so not kept


async def test_a_listener_that_raises_ends_the_run_with_its_error() -> None:
    def listener(stream: str, data: bytes) -> None:
        raise RuntimeError("listener failed")

    with pytest.raises(RuntimeError, match="listener failed"):
        await run("exit", "0", on_output=listener)


async def test_output_can_be_taken_while_the_call_runs() -> None:
    """Instance.output() answers at once: no round trip that would wait for the call."""
    ready = anyio.Event()
    handlers = {"env": {"ready": lambda instance: ready.set()}}
    async with await beamr.start(wasm("wasi_ready"), imports=handlers, wasi=True) as instance:
        async with anyio.create_task_group() as tg:
            tg.start_soon(beamr.call, instance, "_start", [])
            await ready.wait()  # written, and the wasm runs on (forever)
            with anyio.fail_after(5):  # a bound for a hang, not a measurement
                assert await instance.output() == beamr.Output(b"hello\n", b"")
            tg.cancel_scope.cancel()


# -------------------------------------------------------------- args, env, dirs


async def test_args_and_env_reach_the_program_as_given() -> None:
    done = await run("args", "a b", "", "ünï", env={"A": "1", "EMPTY": ""})
    assert done.stdout == "a b\n\nünï\n".encode()
    done = await run("env", "A", "EMPTY", "HOME", env={"A": "1", "EMPTY": ""})
    assert done.stdout == b"A=1\nEMPTY=\nHOME unset\n"


async def test_dirs_are_preopened_and_writable(tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_bytes(b"inside")
    done = await run("read", "/data/in.txt", dirs={str(tmp_path): "/data"})
    assert done == beamr.Completed(0, b"inside", b"")
    done = await run("write", "/data/out.txt", "written", dirs={str(tmp_path): "/data"})
    assert done.status == 0
    assert (tmp_path / "out.txt").read_bytes() == b"written"


async def test_without_dirs_there_is_no_file_system(tmp_path: Path) -> None:
    done = await run("read", str(tmp_path / "x"))
    assert done.status == 2
    assert b"read " in done.stderr


async def test_relative_dirs_are_the_callers_working_directory_in_every_start_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, start_mode: str
) -> None:
    (tmp_path / "here").mkdir()
    (tmp_path / "here" / "marker").write_bytes(b"")
    monkeypatch.chdir(tmp_path / "here")
    done = await run("ls", "/cwd", dirs={".": "/cwd"})
    assert done == beamr.Completed(0, b"marker\n", b"")


async def test_a_pool_resolves_relative_dirs_when_it_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("first", "second"):
        (tmp_path / name).mkdir()
        (tmp_path / name / name).write_bytes(b"")
    monkeypatch.chdir(tmp_path / "first")
    pool = beamr.Pool(PROG, size=1, wasi=beamr.WasiConfig(dirs={".": "/cwd"}))
    monkeypatch.chdir(tmp_path / "second")  # the pool's instances start after this
    async with pool:
        assert (await pool.run(args=["prog", "ls", "/cwd"])).stdout == b"first\n"
        # a checkout's own relative dirs: resolved at the checkout
        done = await pool.run(args=["prog", "ls", "/cwd"], dirs={".": "/cwd"})
        assert done.stdout == b"second\n"


async def test_a_missing_dir_is_named_before_anything_starts(tmp_path: Path) -> None:
    before = child_pids()
    with pytest.raises(FileNotFoundError, match="nowhere"):
        await run("ls", "/x", dirs={str(tmp_path / "nowhere"): "/x"})
    assert child_pids() == before


# ------------------------------------------------------------------------- pools


async def test_a_pool_runs_jobs_with_their_own_args_and_stdin() -> None:
    async with beamr.Pool(PROG, size=2, wasi=True) as pool:

        async def job(i: int) -> beamr.Completed:
            return await pool.run(args=["prog", "cat"], stdin=b"job %d" % i)

        results: dict[int, beamr.Completed] = {}

        async def collect(i: int) -> None:
            results[i] = await job(i)

        async with anyio.create_task_group() as tg:
            for i in range(6):
                tg.start_soon(collect, i)
    assert {i: r.stdout for i, r in results.items()} == {i: b"job %d" % i for i in range(6)}


async def test_a_pool_checkout_with_its_own_wasi_settings() -> None:
    async with beamr.Pool(PROG, size=1, wasi=beamr.WasiConfig(env={"A": "pool"})) as pool:
        config = beamr.WasiConfig(args=["prog", "env", "A"], env={"A": "mine"})
        async with pool.instance(wasi=config) as instance:
            assert await beamr.call(instance, "_start", []) == []  # main returned 0
            assert (await instance.output()).stdout == b"A=mine\n"
        done = await pool.run(args=["prog", "env", "A"])  # the pool's own settings
        assert done.stdout == b"A=pool\n"


async def test_per_checkout_settings_need_a_wasi_pool_of_fresh_instances() -> None:
    async with beamr.Pool(PROG, size=1) as pool:
        with pytest.raises(ValueError, match="wasi="):
            async with pool.instance(wasi=beamr.WasiConfig()):
                pass
        with pytest.raises(ValueError, match="wasi="):
            await pool.run()
    async with beamr.Pool(PROG, size=1, wasi=True, max_uses=3) as pool:
        with pytest.raises(ValueError, match="max_uses=1"):
            async with pool.instance(wasi=beamr.WasiConfig()):
                pass
        with pytest.raises(ValueError, match="max_uses=1"):
            await pool.run(args=["prog", "exit", "4"])  # a program runs once per instance


async def test_a_pool_reuses_an_instantiated_instance_when_asked() -> None:
    """max_uses > 1: the first checkout instantiates, later ones get it as it is."""
    async with beamr.Pool(wasm("calling"), size=1, wasi=True, max_uses=None) as pool:
        async with pool.instance() as first:
            pid = first.pid
            assert await beamr.call(first, "add", [2, 3]) == [5]
        async with pool.instance() as again:
            assert again.pid == pid
            assert await beamr.call(again, "add", [4, 3]) == [7]


async def test_a_checkout_whose_instantiation_fails_raises_and_leaves_nothing() -> None:
    before = child_pids()
    limits = beamr.Limits(call_timeout=0.5)
    async with beamr.Pool(wasm("start_spin"), size=1, wasi=True, limits=limits) as pool:
        with pytest.raises(beamr.CallTimeout):
            async with pool.instance():
                pass
    assert gone(child_pids() - before)


async def test_every_worker_ends_with_its_run() -> None:
    before = child_pids()
    for args in (["cat"], ["exit", "3"], ["return"]):
        await run(*args)
    assert gone(child_pids() - before)
    assert os.getpid() not in child_pids()
