"""The beamr command, run as a subprocess: output and exit status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import FIXTURES


def beamr(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "beamr", *args], capture_output=True, text=True, timeout=120
    )


def fixture(name: str) -> str:
    return str(FIXTURES / f"{name}.wasm")


def test_inspect_table() -> None:
    done = beamr("inspect", fixture("pow"))
    assert done.returncode == 0, done.stderr
    assert "wasm32" in done.stdout
    assert "my_lib.mul" in done.stdout
    assert "(ii)i" in done.stdout
    assert "pages 1..unbounded (32-bit)" in done.stdout


def test_inspect_json_and_wasm64() -> None:
    done = beamr("inspect", "--json", fixture("wasm64"))
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert info["arch"] == "wasm64"
    exports = {e["name"]: e for e in info["exports"]}
    assert exports["malloc"]["signature"] == "(I)I"
    assert exports["memory"]["memory64"] is True
    assert exports["memory"]["min_pages"] == 2


def test_call_numbers_by_signature() -> None:
    assert beamr("call", fixture("fac"), "fac", "5").stdout.strip() == "120.0"
    assert beamr("call", fixture("edge"), "id_i64", "0x10").stdout.strip() == "16"
    assert beamr("call", fixture("edge"), "multi", "1", "2").stdout.strip() == "2 1"
    assert beamr("call", fixture("edge"), "noop").stdout.strip() == ""


def test_call_with_strings() -> None:
    done = beamr("call", fixture("calling"), "greet", "--string", "shell", "--read-string")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Hello, shell!\n"
    done = beamr("call", fixture("calling"), "str_len", "--string", "four")
    assert done.stdout.strip() == "4"


def test_call_with_wasi_shows_its_output_as_it_comes() -> None:
    done = beamr("call", fixture("calling"), "print_hello", "--wasi")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Hello from WASI!\n0\n"  # the output, then the result
    assert done.stderr == "err line\n"


def test_call_keeps_the_output_of_a_program_that_exits_and_takes_its_status() -> None:
    done = beamr(
        "call", fixture("prog"), "_start", "--wasi-arg", "prog", "--wasi-arg", "exit",
        "--wasi-arg", "3",
    )  # fmt: skip
    assert (done.returncode, done.stdout, done.stderr) == (3, "bye\n", "err\n")


def test_call_takes_wasi_settings_and_limits(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("file text")
    done = beamr(
        "call", fixture("prog"), "_start", "--wasi-arg", "prog", "--wasi-arg", "read",
        "--wasi-arg", "/d/f", "--dir", f"{tmp_path}::/d", "--fuel", "100000000",
    )  # fmt: skip
    assert (done.returncode, done.stdout) == (0, "file text\n"), done.stderr


def test_memory_dump() -> None:
    done = beamr("memory", fixture("test_print"), "--dump", "64", "16")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "00000040  00 00 48 65 6c 6c 6f 2c 20 57 6f 72 6c 64 21 00  |..Hello, World!.|"
    )
    done = beamr("memory", fixture("edge"), "--call", "grow", "1", "--dump", "0x1fff0", "16")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("0001fff0  00 00")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["inspect", "/no/such/file.wasm"], "cannot read"),
        (["inspect", fixture("bad")], "not a valid wasm module"),
        (["call", fixture("fac"), "nope"], "no function named 'nope'"),
        (["call", fixture("fac"), "fac", "x"], "is not an f64"),
        (["call", fixture("fac"), "fac"], "takes 1 arguments"),
        (["call", fixture("edge"), "div", "1", "0"], "integer_division_by_zero"),
        (["call", fixture("pow"), "pow", "2", "3"], "my_lib.mul"),
        (["memory", fixture("test_print"), "--dump", "65530", "100"], "outside the memory"),
        (["call", fixture("edge"), "id_i32", "4294967296"], "out of range"),
    ],
)
def test_errors_are_one_line_and_exit_1(args: list[str], message: str) -> None:
    done = beamr(*args)
    assert done.returncode == 1
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Traceback" not in done.stderr


def test_usage_errors_exit_2() -> None:
    assert beamr().returncode == 2
    assert beamr("memory", fixture("fac"), "--dump", "-1", "4").returncode == 2
    assert beamr("inspect", fixture("fac"), "--", "x").returncode == 2
    for bad in (["--dir", "::/x"], ["--dir", "a::"], ["--env", "=1"], ["--fuel", "0"],
                ["--timeout", "nan"], ["--env", "BEAMR_SURELY_UNSET_NAME"]):  # fmt: skip
        done = beamr("run", fixture("prog"), *bad)
        assert done.returncode == 2, bad
        assert "usage: beamr run" in done.stderr


# ------------------------------------------------------------------------------ run


def run_prog(*args: str, stdin: bytes = b"", env: dict[str, str] | None = None) -> Any:
    return subprocess.run(
        [sys.executable, "-m", "beamr", "run", fixture("prog"), *args],
        input=stdin,
        capture_output=True,
        timeout=120,
        env=env,
    )


def test_run_passes_stdin_through_byte_for_byte() -> None:
    data = bytes(range(256)) * 40
    done = run_prog("--", "cat", stdin=data)
    assert (done.returncode, done.stdout, done.stderr) == (0, data, b"")


def test_run_exits_with_the_programs_status_and_keeps_its_output() -> None:
    done = run_prog("--", "exit", "42")
    assert (done.returncode, done.stdout, done.stderr) == (42, b"bye\n", b"err\n")


def test_run_without_stdin_reads_eof() -> None:
    done = run_prog("--no-stdin", "--", "count", stdin=b"ignored")
    assert done.stdout == b"0\n"


def test_run_argv_env_and_dirs(tmp_path: Path) -> None:
    done = run_prog("--", "args", "-v", "--", "x")  # a second -- is the program's
    assert done.stdout == b"-v\n--\nx\n"
    env = {**os.environ, "FROM_HERE": "inherited"}
    done = run_prog("--env", "A=1", "--env", "FROM_HERE", "--", "env", "A", "FROM_HERE", env=env)
    assert done.stdout == b"A=1\nFROM_HERE=inherited\n"
    (tmp_path / "a").write_bytes(b"")
    (tmp_path / "b").write_bytes(b"")
    for spelling, guest in ((f"{tmp_path}::/data", "/data"), (str(tmp_path), str(tmp_path))):
        done = run_prog("--dir", spelling, "--", "ls", guest)
        assert (done.returncode, done.stdout) == (0, b"a\nb\n"), done.stderr


def test_run_argv0() -> None:
    done = run_prog("--argv0", "myname", "--", "nonsense")
    assert done.returncode == 64
    assert done.stderr.startswith(b"usage: prog")  # (the program prints its own name)


def test_run_a_trap_exits_134_after_the_output() -> None:
    done = run_prog("--", "trap")
    assert done.returncode == 134
    assert done.stdout == b"before the trap\n"
    assert b"trapped" in done.stderr
    assert b"unreachable" in done.stderr


def test_run_limits() -> None:
    done = run_prog("--timeout", "0.5", "--", "spin")
    assert done.returncode == 1
    assert b"0.5s" in done.stderr
    assert done.stdout == b"spinning\n"
    done = run_prog("--fuel", "1000000", "--", "big", "100000000")
    assert done.returncode == 134
    assert b"out_of_fuel" in done.stderr


def test_run_refuses_a_module_that_is_not_a_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "beamr", "run", fixture("calling")],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert done.returncode == 1
    assert "not a WASI command" in done.stderr


@pytest.mark.parametrize("command", ["run", "inspect", "call", "memory", "demo"])
def test_every_command_has_help(command: str) -> None:
    done = beamr(command, "--help")
    assert done.returncode == 0
    assert f"usage: beamr {command}" in done.stdout


def test_demo_runs() -> None:
    done = beamr("demo")
    assert done.returncode == 0, done.stderr
    assert "Hello, Ada!" in done.stdout
    assert "none left behind" in done.stdout
