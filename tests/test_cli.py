"""The beamr command, run as a subprocess: output and exit status."""

from __future__ import annotations

import json
import subprocess
import sys

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


def test_call_with_wasi_shows_its_output() -> None:
    done = beamr("call", fixture("calling"), "print_hello", "--wasi")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "0\nHello from WASI!\n"
    assert done.stderr == "err line\n"


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


@pytest.mark.parametrize("command", ["inspect", "call", "memory", "demo"])
def test_every_command_has_help(command: str) -> None:
    done = beamr(command, "--help")
    assert done.returncode == 0
    assert f"usage: beamr {command}" in done.stdout


def test_demo_runs() -> None:
    done = beamr("demo")
    assert done.returncode == 0, done.stderr
    assert "Hello, Ada!" in done.stdout
    assert "none left behind" in done.stdout
