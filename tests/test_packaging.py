"""The wheel: both packages, py.typed, the demo modules and the console script; it
works from a directory that is not this repository (the worker is found through the
installed package, not the repo layout)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built from a copy of the working tree: no build/ directory of an earlier build
    (setuptools reuses it) can slip stale files in."""
    out = tmp_path_factory.mktemp("dist")
    source = tmp_path_factory.mktemp("source") / "beamr"
    ignored = shutil.ignore_patterns(
        ".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis"
    )
    shutil.copytree(ROOT, source, ignore=ignored, symlinks=True)
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(out), str(source)],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    (built,) = out.glob("beamr-*.whl")
    return built


def test_wheel_contents(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "beamr/__init__.py", "beamr/py.typed", "beamr/protocol/__init__.py",
        "beamr/protocol/messages.py", "beamr/sync.py",
        "beamr/demo_modules/calling.wasm", "workers/__main__.py", "workers/py.typed",
        "workers/wasmtime_worker.py", "beamr/cluster/__init__.py", "beamr/cluster/_host.py",
    ):  # fmt: skip
        assert required in names, required
    import beamr

    info = f"beamr-{beamr.__version__}.dist-info"  # the version is defined once
    entry_points = zipfile.ZipFile(wheel).read(f"{info}/entry_points.txt")
    assert b"beamr = beamr.cli:main_exit" in entry_points
    assert not any(name.startswith(("tests/", "wasm_fixtures/", "benchmarks/")) for name in names)
    assert not any("bench" in name or "baselines" in name for name in names)  # not shipped


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
        "import sys\n"
        "assert 'ray' not in sys.modules\n"
        "try:\n"
        "    import beamr.cluster\n"  # without the extra: a clear error, not Ray's
        "except ImportError as exc:\n"
        "    assert 'pip install \"beamr[ray]\"' in str(exc), exc\n"
        "else:\n"
        "    raise AssertionError('beamr.cluster imported without Ray')\n"
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


def test_importing_beamr_never_imports_ray() -> None:
    """Ray is installed here (the cluster extra), and still only beamr.cluster loads it."""
    script = (
        "import sys, anyio, beamr, beamr.io, beamr.sync\n"
        "from importlib import resources\n"
        "binary = resources.files('beamr').joinpath('demo_modules/calling.wasm').read_bytes()\n"
        "async def main():\n"
        "    async with await beamr.start(binary) as w:\n"
        "        await beamr.call(w, 'fac', [3.0])\n"
        "anyio.run(main)\n"
        "assert 'ray' not in sys.modules, 'import beamr imported ray'\n"
        "import beamr.cluster\n"
        "assert 'ray' in sys.modules\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
