"""workers.wasi_preview1: WASI preview1 in Python for wasm32 and wasm64 guests.

What is proven here:

- the signature table: wasm32 is exactly what wasmtime's own WASI defines, wasm64
  widens pointers and sizes only, as HyperBEAM's AO modules import them;
- whole C programs (wasm_fixtures/wasi_*.c) print the same, exit the same and leave
  the same directory tree under wasmtime's WASI and under ours, unconfined and in a
  process confined as a worker is; a memory64 command runs end to end;
- preopen errors, proc_exit, and poll_oneoff's sleep and its interruption.

Every function on its own (against wasmtime, and wasm32 against wasm64) is in
test_wasi_preview1_calls.py; path fuzzing and the sandbox's security properties in
test_wasi_preview1_paths.py.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import wasmtime

from workers.wasi_preview1 import (
    Config,
    ConfigError,
    Exit,
    Interrupted,
    Preview1,
    close_preopens,
    open_preopens,
    signatures,
)
from workers.wasi_preview1.abi import FUNCTIONS

from .wasi_harness import (
    WASI,
    Run,
    Trampolines,
    TrapResult,
    WasmMemory,
    compiled,
    engine,
    fixture,
    make_sandbox,
    outside_untouched,
    run_ours,
    run_wasmtime,
    tree,
)

SUBS, EVENTS, OUT = 0x6000, 0x7000, 0x4000


def programs_agree(wasmtime_run: Run, our_run: Run) -> None:
    assert our_run.trap is None or wasmtime_run.trap is not None, our_run.trap
    assert (our_run.trap is None) == (wasmtime_run.trap is None), (wasmtime_run, our_run)
    assert our_run.status == wasmtime_run.status
    assert our_run.merged() == wasmtime_run.merged()


# -- the signature table -------------------------------------------------------------------


def test_wasm64_widens_only_pointers_and_sizes() -> None:
    narrow, wide = signatures(False), signatures(True)
    assert narrow.keys() == wide.keys() == FUNCTIONS.keys()
    assert len(FUNCTIONS) == 46
    for name, params in FUNCTIONS.items():
        for param, small, big in zip(params, narrow[name][0], wide[name][0], strict=True):
            if param.kind in ("p", "z"):
                assert (small, big) == ("i32", "i64"), (name, param)
            else:
                assert small == big, (name, param)
        assert narrow[name][1] == wide[name][1] == ([] if name == "proc_exit" else ["i32"])


def test_wasm32_signatures_are_wasmtimes() -> None:
    store = wasmtime.Store(engine())
    store.set_wasi(wasmtime.WasiConfig())
    linker = wasmtime.Linker(engine())
    linker.define_wasi()
    for name, (params, results) in signatures(False).items():
        func = linker.get(store, WASI, name)
        assert isinstance(func, wasmtime.Func)
        ty = func.type(store)
        assert [str(t) for t in ty.params] == params, name
        assert [str(t) for t in ty.results] == results, name


def test_wasm64_signatures_are_those_ao_modules_import() -> None:
    """The wasi imports of HyperBEAM's test/test-wasi-aos.wasm and test/test-aos.wasm
    (permaweb/HyperBEAM, memory64 modules built by emscripten), as wasmtime reads them."""
    ao_imports = {
        "fd_close": (["i32"], ["i32"]),
        "fd_write": (["i32", "i64", "i64", "i64"], ["i32"]),
        "fd_read": (["i32", "i64", "i64", "i64"], ["i32"]),
        "fd_seek": (["i32", "i64", "i32", "i64"], ["i32"]),
        "proc_exit": (["i32"], []),
        "environ_sizes_get": (["i64", "i64"], ["i32"]),
        "environ_get": (["i64", "i64"], ["i32"]),
        "clock_time_get": (["i32", "i64", "i64"], ["i32"]),
    }
    wide = signatures(True)
    for name, sig in ao_imports.items():
        assert wide[name] == sig, name


def test_wasi64_calls_fixture_is_the_table() -> None:
    module = compiled(fixture("wasi64_calls"), wasm64=True)
    imports = {str(imp.name): imp.type for imp in module.imports if imp.module == WASI}
    wide = signatures(True)
    assert imports.keys() == wide.keys()
    for name, ty in imports.items():
        assert isinstance(ty, wasmtime.FuncType)
        assert ([str(t) for t in ty.params], [str(t) for t in ty.results]) == wide[name]
    exports = {exp.name for exp in module.exports}
    assert exports == {"memory"} | {f"wasi_{name}" for name in wide}


# -- whole programs: wasmtime's WASI and ours agree ----------------------------------------

BIG_STDIN = b"".join(b"line %d of the input, longer than any buffer\n" % i for i in range(300))


@pytest.mark.parametrize("stdin", [None, b"", b"hi", BIG_STDIN], ids=["none", "empty", "2", "big"])
def test_stdio_echo(stdin: bytes | None) -> None:
    """Reads through a 7-byte buffer until EOF (at once without stdin), output
    interleaved on stdout and stderr."""
    wasm = fixture("wasi_stdio")
    theirs = run_wasmtime(wasm, args=["wasi_stdio", "echo"], stdin=stdin)
    ours = run_ours(wasm, args=["wasi_stdio", "echo"], stdin=stdin)
    programs_agree(theirs, ours)
    assert ours.status == 0
    assert ours.stdout == (stdin or b"").upper()
    reads = -(-len(stdin or b"") // 7)
    assert ours.stderr.endswith(b"total %d in %d reads, then 0\n" % (len(stdin or b""), reads))


def test_stdio_args_and_environment() -> None:
    wasm = fixture("wasi_stdio")
    args = ["wasi_stdio", "args", "two words", "", "ünïcode"]
    env = {"HOME": "/home/guest", "EMPTY": "", "EQ": "a=b"}
    theirs = run_wasmtime(wasm, args=args, env=env)
    ours = run_ours(wasm, args=args, env=env)
    programs_agree(theirs, ours)
    assert b"argv[4]=[\xc3\xbcn\xc3\xafcode]\n" in ours.stdout
    assert b"env[2]=[EQ=a=b]\n" in ours.stdout
    assert b"isatty(0..2)=000\n" in ours.stdout


def test_stdio_interleaving_keeps_order() -> None:
    wasm = fixture("wasi_stdio")
    theirs = run_wasmtime(wasm, args=["wasi_stdio", "interleave"])
    ours = run_ours(wasm, args=["wasi_stdio", "interleave"])
    programs_agree(theirs, ours)
    expected = [
        (s, b"%s %d\n" % (b"out" if s == 1 else b"err", i)) for i in range(5) for s in (1, 2)
    ]
    assert ours.merged() == [*expected, (1, b"gathered through stdio buffers\n")]


@pytest.mark.parametrize("status", [0, 7, 125, 126, 255])
def test_exit_status(status: int) -> None:
    """exit(n) below 126 ends the run with n; from 126 up wasmtime traps, and so do we."""
    wasm = fixture("wasi_stdio")
    args = ["wasi_stdio", "exit", str(status)]
    theirs, ours = run_wasmtime(wasm, args=args), run_ours(wasm, args=args)
    programs_agree(theirs, ours)
    if status < 126:
        assert ours.status == status
    else:
        assert ours.trap is not None
        assert "outside of [0..126)" in ours.trap


def test_clocks_random_and_sleep() -> None:
    wasm = fixture("wasi_clocks")
    theirs, ours = run_wasmtime(wasm, args=["c"]), run_ours(wasm, args=["c"])
    programs_agree(theirs, ours)
    assert ours.status == 0
    assert b": 0 0\n" not in ours.stdout.replace(b"getentropy: 0 0", b"")  # every check held
    assert ours.stdout.count(b" 1") >= 8


def test_files_and_directories(tmp_path: Path) -> None:
    """Create, write, read, seek, append, truncate, stat, readdir, rename, unlink,
    link, symlink/readlink, times, errors and escapes: the same lines, the same tree,
    and nothing outside the sandbox touched."""
    wasm = fixture("wasi_files")
    runs, trees = [], []
    for name, run in (("theirs", run_wasmtime), ("ours", run_ours)):
        base = tmp_path / name
        base.mkdir()
        box = make_sandbox(base)
        runs.append(run(wasm, args=["wasi_files"], dirs={str(box): "/sandbox"}))
        trees.append(tree(base))
        outside_untouched(base)
    programs_agree(*runs)
    assert runs[1].status == 0
    assert trees[0] == trees[1]
    out = runs[1].stdout.decode()
    assert "open ../outside.txt                      -> -1 errno 63" in out
    assert "symlink absolute                         -> -1 errno 63" in out
    assert "ls /sandbox/a: .(d) ..(d) renamed(d)" in out


_CONFINED = """
import os, sys
from tests.wasi_harness import compiled, fixture, run_ours
from workers import sandbox
base = sys.argv[1]
wasm = fixture("wasi_files")
compiled(wasm)  # as the worker: compiled before hardening
plan = sandbox.plan({"wasi": {"dirs": {base + "/sandbox": "/sandbox"}}, "limits": {}})
sandbox.apply(plan, lambda plan: None, expected_threads=len(os.listdir("/proc/self/task")))
try:
    open(base + "/outside.txt").close()
    sys.exit("not confined")
except PermissionError:
    pass
run = run_ours(wasm, args=["wasi_files"], dirs={base + "/sandbox": "/sandbox"})
sys.stdout.buffer.write(run.stdout)
sys.exit(run.status)
"""


def test_files_under_the_worker_sandbox(tmp_path: Path) -> None:
    """In a process confined as a worker is (seccomp, Landlock on the sandbox, no
    capabilities), the files program prints what it prints unconfined."""
    from workers import landlock, seccomp

    if not seccomp.SUPPORTED or landlock.abi() < 1:
        pytest.skip("no seccomp filter or no Landlock here")
    outputs = []
    for confined in (False, True):
        base = tmp_path / ("confined" if confined else "free")
        base.mkdir()
        box = make_sandbox(base)
        if confined:
            root = Path(__file__).resolve().parent.parent
            done = subprocess.run(
                [sys.executable, "-c", _CONFINED, str(base)],
                capture_output=True,
                cwd=root,
                timeout=120,
                check=False,
            )
            assert done.returncode == 0, done.stderr.decode()[-3000:]
            outputs.append(done.stdout)
        else:
            outputs.append(run_ours(fixture("wasi_files"), dirs={str(box): "/sandbox"}).stdout)
        outside_untouched(base)
    assert outputs[1] == outputs[0]
    assert b"fd reuse: 1" in outputs[1]


def test_wasm64_program(tmp_path: Path) -> None:
    """A memory64 command (wasi64_hello.wat) with 16-byte iovecs, 8-byte sizes and
    the 64-bit prestat."""
    ours = run_ours(
        fixture("wasi64_hello"),
        args=["prog", "arg one"],
        env={"KEY": "value"},
        stdin=b"from stdin",
        dirs={str(tmp_path): "/data"},
        wasm64=True,
    )
    assert ours.trap is None
    assert ours.status == 3
    assert ours.merged() == [
        (1, b"hello from wasm64\nprog\narg one\nKEY=value\n"),
        (2, b"from stdin"),
        (1, b"clock ok\nrandom ok\nyield ok\npreopen /data\n"),
    ]


# -- preopens -----------------------------------------------------------------------------


def test_preopens_are_checked_and_closed(tmp_path: Path) -> None:
    before = len(os.listdir("/proc/self/fd"))
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="missing"):
        open_preopens({str(tmp_path): "/a", str(tmp_path / "missing"): "/b"})
    with pytest.raises(ConfigError, match="file"):
        open_preopens({str(tmp_path / "file"): "/c"})
    assert len(os.listdir("/proc/self/fd")) == before  # nothing left open
    preopens = open_preopens({str(tmp_path): "/a"})
    store = wasmtime.Store(engine())
    wasi = Preview1(Config(preopens=preopens), WasmMemory(store), wasm64=False)
    close_preopens(preopens)
    assert len(os.listdir("/proc/self/fd")) == before + 1  # its own copy
    wasi.close()
    assert len(os.listdir("/proc/self/fd")) == before


# -- the process: exit, sleeping, interrupts ----------------------------------------------


@pytest.mark.parametrize("wasm64", [False, True])
def test_proc_exit(wasm64: bool) -> None:
    with Trampolines("ours", wasm64=wasm64) as t:
        with pytest.raises(Exit) as info:
            t.call("proc_exit", 42)
        assert info.value.status == 42
        assert isinstance(t.call("proc_exit", 126), TrapResult)
        assert isinstance(t.call("proc_exit", -1), TrapResult)
    with Trampolines("ours", wasm64=wasm64, traps=False) as t:
        with pytest.raises(Exit) as info:
            t.call("proc_exit", 200)
        assert info.value.status == 200


class _NoticedWait(threading.Event):
    """An event that says when someone starts waiting on it."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting = threading.Event()

    def wait(self, timeout: float | None = None) -> bool:
        self.waiting.set()
        return super().wait(timeout)


@pytest.mark.parametrize("wasm64", [False, True])
@pytest.mark.parametrize("absolute", [False, True])
def test_poll_oneoff_wakes_on_interrupt(wasm64: bool, absolute: bool) -> None:
    """A guest asleep in poll_oneoff (for 30 s) raises Interrupted as soon as ``wake``
    is set, and answers as usual when it is not set."""
    with Trampolines("ours", wasm64=wasm64) as t:
        assert t.wasi is not None
        wake = t.wasi.config.wake = _NoticedWait()
        # long enough that a sleep the interrupt did not end fails the test
        long = 30 * 10**9
        sub = struct.Struct("<QB7xIxxxxQQH6x")
        t.write(SUBS, sub.pack(7, 0, 1, long, 0, int(absolute)))
        ready = threading.Event()

        def interrupt() -> None:
            ready.wait()
            wake.waiting.wait()
            wake.set()

        thread = threading.Thread(target=interrupt)
        thread.start()
        started = time.monotonic()
        ready.set()
        with pytest.raises(Interrupted):
            t.call("poll_oneoff", SUBS, EVENTS, 1, OUT)
        thread.join()
        assert time.monotonic() - started < 15
        wake.clear()
        t.write(SUBS, sub.pack(8, 0, 1, 0, 0, 0))
        assert t.call("poll_oneoff", SUBS, EVENTS, 1, OUT) == 0
        assert t.read(EVENTS, 8) == struct.pack("<Q", 8)


def test_poll_oneoff_sleeps_until_the_first_clock() -> None:
    """Two clocks, 1 ms and an hour: it returns after the first, reporting it alone."""
    with Trampolines("ours") as t:
        sub = struct.Struct("<QB7xIxxxxQQH6x")
        t.write(SUBS, sub.pack(1, 0, 1, 3600 * 10**9, 0, 0) + sub.pack(2, 0, 0, 10**6, 0, 0))
        assert t.call("poll_oneoff", SUBS, EVENTS, 2, OUT) == 0
        assert struct.unpack("<I", t.read(OUT, 4)) == (1,)
        assert struct.unpack("<QHB", t.read(EVENTS, 11)) == (2, 0, 0)
