"""The bench harness (``make bench``, not shipped): one short run prints every table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "benchmarks.bench", *args],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )  # fmt: skip


def test_bench_prints_ratios(tmp_path: Path) -> None:
    report = tmp_path / "bench.json"
    done = bench("--rounds", "30", "--backend", "trio", "--json", str(report))
    assert done.returncode == 0, done.stderr
    assert "raw echo" in done.stdout
    rows = json.loads(report.read_text())["backends"]["trio"]
    assert set(rows) == {"raw echo", "blocking echo", "io.size", "call(noop)", "call with 1 import"}
    assert all(row["ratio"] > 0 for row in rows.values() if "ratio" in row)
    data = json.loads(report.read_text())
    assert set(data["sweep"]["read"]) == {
        str(s) for s in (16, 256, 4096, 65536, 1 << 20, 16 << 20, 64 << 20)
    }
    assert all(row["ratio"] > 0 for row in data["sweep"]["write"].values())
    assert {"Func.__call__ noop", "wasm -> python -> wasm"} <= set(data["in-process us"])
    assert "targets" in done.stdout
    assert all(isinstance(t["met"], bool) for t in data["targets"])
    round_trips = [t for t in data["targets"] if t["target"].startswith("trio: ")]
    assert len(round_trips) == 4
    if len(os.sched_getaffinity(0)) >= 2:  # pinned placements are measured and judged
        assert set(data["placements"]["trio"]) == {"same CPU", "two CPUs"}
        for target in round_trips:
            pinned = [v for k, v in target["placements"].items() if k != "free"]
            assert target["value"] == max(pinned)
