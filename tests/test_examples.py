"""The examples in examples/ run, print what they say, and the README shows them verbatim."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from .private_network import private_network

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))

EXPECTED = {
    "hello_asyncio.py": "Hello, asyncio!\n[120.0]\n",
    "hello_trio.py": "Hello, trio!\n[2880067194370816120]\n",
    "imports_with_memory.py": "wasm says: Hello, imports!\n[14]\n[42]\n",
    "limits.py": "trapped: out_of_fuel\n[-1]\ninterrupted after 0.2 s\n[42]\n",
    "sync_script.py": "logged: Hello, notebook!\n131072\n",
    "programs.py": (
        "0 b'hello, stdin\\n'\n3 b'bye\\n' b'err\\n'\nstdout b'o1'\nstderr b'e1'\n"
        "stdout b'o2'\nb'1000\\n'\n"
    ),
    "globals_and_resolvers.py": "42\nresolving env.i32_to_i32(i)i [21]\n[42]\n[42]\n",
    "cluster.py": "Hello, cluster!\n[42]\nb'Hello, cluster!'\n",
}


def test_every_example_is_checked() -> None:
    assert {path.name for path in EXAMPLES} == set(EXPECTED)


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(p, marks=pytest.mark.private_network) if p.name == "cluster.py" else p
        for p in EXAMPLES
    ],
    ids=[path.name for path in EXAMPLES],
)
def test_example_runs(path: Path) -> None:
    env = dict(os.environ)
    if path.name == "cluster.py":  # a local Ray: it listens, so only in a private network
        reason = private_network()
        if reason is not None:
            pytest.skip(f"the Ray example runs in a private network namespace ({reason})")
        env = {k: v for k, v in env.items() if not k.startswith("RAY_")}
        env["RAY_TMPDIR"] = tempfile.mkdtemp(prefix="br", dir="/tmp")  # short: sockets
    try:
        done = subprocess.run(
            [sys.executable, str(path)], capture_output=True, text=True, timeout=120,
            cwd=ROOT, env=env,
        )  # fmt: skip
    finally:
        if "RAY_TMPDIR" in env and path.name == "cluster.py":
            shutil.rmtree(env["RAY_TMPDIR"], ignore_errors=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout == EXPECTED[path.name]


def test_readme_shows_the_examples_verbatim() -> None:
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    shown = {block.splitlines()[0].removeprefix("# "): block for block in blocks}
    for path in EXAMPLES:
        name = f"examples/{path.name}"
        assert name in shown, f"README does not show {name}"
        assert shown[name] == path.read_text(), f"README's copy of {name} is stale"
