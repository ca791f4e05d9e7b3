"""Defense in depth: from inside a running worker, open/socket/exec/fork fail."""

from __future__ import annotations

import pytest

import beamr
from beamr import io
from beamr import protocol as p

from .conftest import wasm

pytestmark = pytest.mark.anyio


async def probe(instance: beamr.Instance, what: str) -> str:
    reply = await instance.request(p.Probe(what))
    assert isinstance(reply, p.Result)
    return str(reply.values[0])


@pytest.mark.parametrize("what", ["open", "socket", "execve", "fork"])
async def test_the_worker_cannot(what: str) -> None:
    async with await beamr.start(wasm("calling"), wasi=True) as instance:
        assert (await probe(instance, what)).startswith("denied")
        # and the instance works as before: memory growth, traps, WASI, threads
        ptr = await io.malloc(instance, 4 << 20)
        await io.write(instance, ptr, b"x" * (4 << 20))
        await beamr.call(instance, "print_hello", [])
        assert (await instance.output()).stdout == b"Hello from WASI!\n"


async def test_traps_and_interrupts_still_work_under_the_filter() -> None:
    async with await beamr.start(wasm("edge"), limits=beamr.Limits(call_timeout=0.2)) as inst:
        with pytest.raises(beamr.Trap):
            await beamr.call(inst, "load", [1 << 20])
        with pytest.raises(beamr.CallTimeout):
            await beamr.call(inst, "spin", [])
        assert await beamr.call(inst, "grow", [10]) == [1]


async def test_process_memory_guard() -> None:
    """RLIMIT_DATA: wasm growth past the OS guard fails inside the wasm."""
    limits = beamr.Limits(process_bytes=256 << 20)
    async with await beamr.start(wasm("wasm64"), limits=limits) as instance:
        assert await io.malloc(instance, 16 << 20) > 0
        with pytest.raises(beamr.MallocFailed):
            await io.malloc(instance, 512 << 20)
        assert await io.malloc(instance, 1 << 20) > 0


async def test_environment_is_minimal() -> None:
    async with await beamr.start(wasm("fac")) as instance:
        environ = (await anyio_read(f"/proc/{instance.pid}/environ")).split(b"\0")
        names = {entry.split(b"=", 1)[0] for entry in environ if entry}
        assert names <= {b"PYTHONPATH", b"PYTHONDONTWRITEBYTECODE", b"PATH"}
        fds = await anyio_listdir(f"/proc/{instance.pid}/fd")
        # stdin, stdout, stderr, the socket, the interrupt pipe, plus runtime
        # internals (epoll etc.), nothing inherited from the parent beyond these
        assert len(fds) <= 8


@pytest.mark.parametrize("method", ["fork", "process"])
async def test_every_thread_of_the_worker_is_filtered(
    method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The interrupt thread starts before the filter: TSYNC must cover it too."""
    from beamr import _process

    if method == "fork" and not _process.FORK_SUPPORTED:
        pytest.skip("no fork-server here")
    monkeypatch.setattr(_process, "METHOD", "auto" if method == "fork" else "process")
    with beamr.fork_server():
        instance = await beamr.start(wasm("calling"))
    async with instance:
        assert isinstance(instance._process, _process.ForkedWorker) == (method == "fork")
        tasks = await anyio_listdir(f"/proc/{instance.pid}/task")
        assert len(tasks) >= 2  # the main thread and the interrupt thread
        for task in tasks:
            status = (await anyio_read(f"/proc/{instance.pid}/task/{task}/status")).decode()
            fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
            assert fields["Seccomp"].strip() == "2", f"thread {task} runs unfiltered"
            assert fields["NoNewPrivs"].strip() == "1"


def test_the_filter_program_is_compiled_once() -> None:
    from workers import sandbox

    program = sandbox.compile_filter(allow_open=False)  # compiled, never loaded here
    assert program
    assert len(program) % 8 == 0  # struct sock_filter entries
    assert sandbox.compile_filter(allow_open=False) is program
    assert sandbox.compile_filter(allow_open=True) != program


async def anyio_read(path: str) -> bytes:
    import anyio

    return await anyio.Path(path).read_bytes()


async def anyio_listdir(path: str) -> list[str]:
    import anyio

    return [entry.name async for entry in anyio.Path(path).iterdir()]


def test_without_seccomp_the_worker_warns_and_carries_on(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only the degraded path runs in-process: a real filter would sandbox pytest."""
    import sys

    from workers import sandbox

    monkeypatch.setitem(sys.modules, "pyseccomp", None)  # import fails as without it
    monkeypatch.setattr(sandbox, "_PROGRAMS", {})  # nothing compiled before either
    assert sandbox.seccomp(allow_open=False) is False
    assert "seccomp unavailable" in capsys.readouterr().err


def test_process_limit_defaults() -> None:
    from workers.sandbox import DEFAULT_PROCESS_BYTES, PROCESS_HEADROOM, process_limit

    assert process_limit({}) == DEFAULT_PROCESS_BYTES
    assert process_limit({"memory_bytes": 1 << 20}) == (1 << 20) + PROCESS_HEADROOM
    assert process_limit({"memory_bytes": 1 << 20, "process_bytes": 5 << 20}) == 5 << 20
