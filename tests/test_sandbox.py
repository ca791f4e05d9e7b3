"""Defense in depth, proven from inside live workers: what a worker cannot do, on every
thread, in both start modes; where it finds its code; and that it fails closed."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest

import beamr
from beamr import _spawn, io
from beamr import protocol as p
from workers import landlock, sandbox, seccomp

from .conftest import child_pids, gone, wasm

pytestmark = pytest.mark.anyio


async def probe(instance: beamr.Instance, what: str) -> str:
    return await instance.request(p.Probe(what))


def status(pid: int, task: str | None = None) -> dict[str, str]:
    path = f"/proc/{pid}/status" if task is None else f"/proc/{pid}/task/{task}/status"
    lines = Path(path).read_text().splitlines()
    return {k: v.strip() for k, _, v in (line.partition(":") for line in lines)}


def environ(pid: int) -> bytes:
    with open(f"/proc/{pid}/environ", "rb") as f:
        return f.read()


DENIED = ["open", "socket", "execve", "fork", "io_uring", "memfd", "kill"]


@pytest.mark.parametrize("what", DENIED)
async def test_the_worker_cannot(what: str, start_mode: str) -> None:
    """io_uring (its own open and socket), memfd_create and signals to other processes
    were allowed before; open, sockets, exec and fork were denied already."""
    async with await beamr.start(wasm("calling"), wasi=True) as instance:
        assert (await probe(instance, what)).startswith("denied")
        # and the instance works as before: memory growth, traps, WASI, threads
        ptr = await io.malloc(instance, 4 << 20)
        await io.write(instance, ptr, b"x" * (4 << 20))
        await beamr.call(instance, "print_hello", [])
        assert (await instance.output()).stdout == b"Hello from WASI!\n"


async def test_a_probe_can_tell_allowed_from_denied() -> None:
    """The probes themselves work: unconfined, the same attempts succeed."""
    async with await beamr.start(wasm("calling"), sandbox=False) as instance:
        for what in ("open", "memfd", "kill", "socket"):
            assert await probe(instance, what) == "allowed", what


async def test_with_dirs_file_access_stays_inside_them(tmp_path: Path, start_mode: str) -> None:
    """Before, granting WASI dirs let the worker open any path (/etc/shadow,
    /proc/<parent>/environ). Landlock now confines it to the granted directories."""
    granted = tmp_path / "granted"
    granted.mkdir()
    (granted / "inside.txt").write_text("ok")
    outside = tmp_path / "outside.txt"
    outside.write_text("secret")
    config = beamr.WasiConfig(dirs={str(granted): "/data"})
    async with await beamr.start(wasm("calling"), wasi=config) as instance:
        assert await probe(instance, f"open:{granted / 'inside.txt'}") == "allowed"
        assert await probe(instance, f"create:{granted / 'new.txt'}") == "allowed"
        assert (await probe(instance, f"open:{outside}")).startswith("denied")
        assert (await probe(instance, "open:/etc/hostname")).startswith("denied")
        assert (await probe(instance, f"open:/proc/{os.getpid()}/environ")).startswith("denied")
        assert (await probe(instance, f"create:{tmp_path / 'new.txt'}")).startswith("denied")
        for what in ("socket", "io_uring", "memfd", "kill"):
            assert (await probe(instance, what)).startswith("denied"), what
    assert not (tmp_path / "new.txt").exists()


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


async def test_environment_is_empty_and_only_our_descriptors_are_open(start_mode: str) -> None:
    async with await beamr.start(wasm("fac")) as instance:
        assert environ(instance.pid) == b""  # nothing of the caller's
        assert os.readlink(f"/proc/{instance.pid}/cwd") == "/"
        fds = os.listdir(f"/proc/{instance.pid}/fd")
        # stdio, the socket, the interrupt pipe, the parent's pidfd, the watcher's pipe
        assert len(fds) <= 9, fds


async def test_every_thread_is_filtered_and_unprivileged(start_mode: str) -> None:
    """The watcher thread exists before the filter: TSYNC covers it; capabilities and
    Landlock are per thread, so it confines itself too."""
    async with await beamr.start(wasm("calling")) as instance:
        tasks = os.listdir(f"/proc/{instance.pid}/task")
        assert len(tasks) == 2  # the main thread and the watcher: nothing unconfined
        for task in tasks:
            fields = status(instance.pid, task)
            assert fields["Seccomp"] == "2", f"thread {task} runs unfiltered"
            assert fields["NoNewPrivs"] == "1"
            assert fields["CapEff"] == fields["CapPrm"] == "0000000000000000"


# --------------------------------------------------- the worker's own code, only


@pytest.fixture
def hostile_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with a ``workers`` package, ``msgpack.py`` and ``wasmtime.py``
    of its own: each leaves a marker file if anything imports it."""
    (tmp_path / "workers").mkdir()
    for module in ("workers/__init__.py", "workers/__main__.py", "msgpack.py", "wasmtime.py"):
        marker = tmp_path / f"{module.replace('/', '.')}.imported"
        (tmp_path / module).write_text(f"open({str(marker)!r}, 'w').close()\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


async def test_the_working_directory_never_shadows_the_worker(
    hostile_cwd: Path, start_mode: str
) -> None:
    """Before, ``python -m workers`` put the cwd first on sys.path: a project's own
    ``workers`` package ran instead of the worker, and a msgpack.py or wasmtime.py in
    the cwd ran inside the unsandboxed worker or fork-server."""
    async with await beamr.start(wasm("calling")) as instance:
        assert await beamr.call(instance, "add", [2, 3]) == [5]
    assert not imported(hostile_cwd)


def imported(directory: Path) -> list[Path]:
    return list(directory.glob("*.imported"))


def test_the_cli_does_not_import_the_working_directory_either(hostile_cwd: Path) -> None:
    """The ``beamr`` command (its own directory first on sys.path, not the cwd)."""
    command = Path(sys.executable).parent / "beamr"
    if not command.exists():
        pytest.skip("the beamr console script is not installed next to this Python")
    fixture = Path(__file__).parent.parent / "wasm_fixtures" / "calling.wasm"
    done = subprocess.run(
        [str(command), "call", str(fixture), "add", "2", "3"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "5"
    assert not list(hostile_cwd.glob("*.imported"))


def test_workers_are_found_through_beamrs_own_location() -> None:
    root = Path(_spawn.worker_root())
    assert (root / "beamr" / "__init__.py").samefile(Path(beamr.__file__))
    assert (root / "workers" / "__init__.py").is_file()


# ------------------------------------------------------------- fails closed


def test_hardening_that_cannot_complete_is_refused_and_the_worker_stops() -> None:
    """The command loop: a sandbox failure is the init's reply, and the worker leaves
    without instantiating anything (before: a warning on stderr, and on it ran)."""
    from workers.server import Server
    from workers.wasmtime_worker import WasmtimeBackend

    from .test_worker import Peer

    instantiated: list[bool] = []

    class Backend(WasmtimeBackend):
        def instantiate(self) -> None:
            instantiated.append(True)
            super().instantiate()

    def harden(options: Any) -> None:
        from workers.backend import CommandFailed

        raise CommandFailed("sandbox", "seccomp: the filter could not be loaded")

    ours, theirs = socket.socketpair()
    ours.settimeout(30)
    server = Server(theirs, Backend, harden=harden)
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    reply = Peer(ours).request(p.Init(wasm("edge"), {}))
    assert isinstance(reply, p.Error)
    assert (reply.kind, reply.text) == ("sandbox", "seccomp: the filter could not be loaded")
    thread.join(10)
    assert not thread.is_alive()  # it stopped serving
    assert not instantiated
    theirs.close()
    ours.close()


def test_a_plan_that_cannot_be_kept_is_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(sandbox.SandboxFailure, match="process_bytes"):
        sandbox.plan({"limits": {"process_bytes": 1 << 20}})
    monkeypatch.setattr(landlock, "abi", lambda: 0)
    with pytest.raises(sandbox.SandboxFailure, match="Landlock"):
        sandbox.plan({"wasi": {"dirs": {"/tmp": "/tmp"}}})
    plan = sandbox.plan({})  # without dirs, seccomp alone confines files
    with pytest.raises(sandbox.SandboxFailure, match="threads"):
        sandbox.apply(plan, lambda plan: None, expected_threads=99)
    monkeypatch.setattr(seccomp, "SUPPORTED", False)
    with pytest.raises(sandbox.SandboxFailure, match="seccomp"):
        sandbox.plan({})
    assert sandbox.plan({"sandbox": False}).enabled is False  # the explicit opt-out


def test_the_filter_program_denies_what_it_lists() -> None:
    """The exact program, loaded in a throwaway child process."""
    script = textwrap.dedent(
        """
        import errno, os, socket, threading
        from workers import seccomp
        seccomp.install(seccomp.build(os.getpid(), allow_files=False))
        def attempt(action):
            try:
                action()
                return "allowed"
            except OSError as exc:
                return errno.errorcode[exc.errno]
        results = {
            "open": attempt(lambda: os.close(os.open("/etc/hostname", os.O_RDONLY))),
            "socket": attempt(lambda: socket.socket().close()),
            "memfd": attempt(lambda: os.close(os.memfd_create("x"))),
            "kill other": attempt(lambda: os.kill(os.getppid(), 0)),
            "kill self": attempt(lambda: os.kill(os.getpid(), 0)),
            "mkdir": attempt(lambda: os.mkdir("/tmp/beamr-filter-test")),
            "chmod": attempt(lambda: os.chmod("/tmp", 0o1777)),
        }
        thread = threading.Thread(target=lambda: None)
        thread.start()
        thread.join()
        results["thread"] = "allowed"
        print(results)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
        cwd=_spawn.worker_root(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    results = eval(done.stdout)
    assert results == {
        "open": "EPERM",
        "socket": "EPERM",
        "memfd": "EPERM",
        "kill other": "EPERM",
        "kill self": "allowed",
        "mkdir": "EPERM",
        "chmod": "EPERM",
        "thread": "allowed",
    }


def test_the_program_is_well_formed_for_every_machine() -> None:
    for machine in ("x86_64", "aarch64"):
        for allow_files in (False, True):
            program = seccomp.build(1234, allow_files=allow_files, machine=machine)
            assert len(program) % 8 == 0
            assert len(program) // 8 < 4096


async def test_a_worker_cannot_be_started_unconfined_by_accident() -> None:
    before = child_pids()
    with pytest.raises(beamr.SandboxError):
        await beamr.start(wasm("edge"), limits=beamr.Limits(process_bytes=1 << 20))
    assert gone(child_pids() - before)
    async with await beamr.start(wasm("edge")) as instance:
        assert status(instance.pid)["Seccomp"] == "2"
