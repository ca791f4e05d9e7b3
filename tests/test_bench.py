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
    trio = {t["target"]: t for t in data["targets"] if t["target"].startswith("trio: ")}
    assert set(trio) == {
        "trio: io.size <= 1.2x raw echo",
        "trio: call(noop) <= 1.15x io.size",
        "trio: 1 KiB write-call-read batch <= 1.3x call(noop)",
        "trio: 16 KiB chunk (write + call) <= 1.3x round trip",
        "trio: in-worker host call <= 3x in-process",
        "trio: parent host call <= 2x io.size",
    }
    assert all(t["value"] > 0 for t in trio.values())
    assert any(t["target"].startswith("beamr.sync call") for t in data["targets"])
    # the peers, each measured in the same run
    assert set(data["peers"]) == {
        "beamr", "in-process wasmtime-py", "ProcessPoolExecutor", "anyio.to_process",
    }  # fmt: skip
    assert data["peers"]["ProcessPoolExecutor"]["call"] > 0
    assert "ProcessPoolExecutor" in done.stdout
    round_trips = [t for t in trio.values() if "placements" in t]
    assert len(round_trips) == 2
    if len(os.sched_getaffinity(0)) >= 2:  # pinned placements are measured and judged
        assert set(data["placements"]["trio"]) == {"same CPU", "two CPUs"}
    for target in round_trips:  # judged on the worst placement, the scheduler's too
        assert target["value"] == max(target["placements"].values())
