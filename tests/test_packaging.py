"""The wheel: both packages, py.typed, the demo modules and the console script; it
works from a directory that is not this repository (the worker is found through the
installed package, not the repo layout)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(ROOT)],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    (built,) = out.glob("beamr-*.whl")
    return built


def test_wheel_contents(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "beamr/__init__.py", "beamr/py.typed", "beamr/protocol.py", "beamr/sync.py",
        "beamr/demo_modules/calling.wasm", "workers/__main__.py", "workers/py.typed",
        "workers/wasmtime_worker.py",
    ):  # fmt: skip
        assert required in names, required
    entry_points = zipfile.ZipFile(wheel).read("beamr-0.1.0.dist-info/entry_points.txt")
    assert b"beamr = beamr.cli:main_exit" in entry_points
    assert not any(name.startswith(("tests/", "wasm_fixtures/")) for name in names)


def test_wheel_in_a_fresh_venv(wheel: Path, tmp_path: Path) -> None:
    """pip install of the wheel into a new venv (dependencies from the package index),
    then beamr used from a directory that is not this repository."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", str(wheel)],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    script = (
        "import beamr, workers, beamr.sync as bs\n"
        f"assert beamr.__file__.startswith({str(venv)!r}), beamr.__file__\n"
        f"assert workers.__file__.startswith({str(venv)!r}), workers.__file__\n"
        "from importlib import resources\n"
        "binary = resources.files('beamr').joinpath('demo_modules/calling.wasm').read_bytes()\n"
        "with bs.start(binary) as w:\n"
        "    print(bs.call(w, 'fac', [5.0]))\n"
    )
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin"}
    done = subprocess.run(
        [str(python), "-c", script], cwd=elsewhere, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[120.0]"
    demo = subprocess.run(
        [str(venv / "bin" / "beamr"), "demo"], cwd=elsewhere, env=env, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert demo.returncode == 0, demo.stderr
    assert "none left behind" in demo.stdout
