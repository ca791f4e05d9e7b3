"""``make bench-cluster``: beamr.cluster on a two-node Ray cluster on this machine.

Run in a private network namespace (``python -m tests.private_network``: Ray listens
on loopback only). Figures, each against its baseline in the same run, on asyncio and
trio: a remote ``call(noop)`` against a bare Ray actor method call (an async actor
whose method returns at once; target at most 1.3x), in alternating turns; calls/s with
instances on one node against the same number spread over two; starts/s across the
cluster, 40 at a time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

from benchmarks.timing import async_median_of

FIXTURES = Path(__file__).resolve().parent.parent / "wasm_fixtures"
TURNS = 5


def _cluster() -> Any:
    from ray.cluster_utils import Cluster

    from beamr.cluster import HEALTH_CHECKS

    args: dict[str, Any] = {"num_cpus": 1, "node_ip_address": "127.0.0.1",
                            "object_store_memory": 128 << 20}  # fmt: skip
    head = {**args, "include_dashboard": False, "_system_config": HEALTH_CHECKS}
    made = Cluster(initialize_head=True, head_node_args=head)
    made.add_node(**args)
    made.wait_for_nodes()
    return made


async def _rate(instances: list[Any], seconds: float) -> float:
    import beamr

    calls = 0

    async def drive(wasm: Any) -> None:
        nonlocal calls
        while True:
            await beamr.call(wasm, "noop", [])
            calls += 1

    with anyio.move_on_after(seconds):
        async with anyio.create_task_group() as tg:
            for wasm in instances:
                tg.start_soon(drive, wasm)
    return calls / seconds


async def measure(rounds: int) -> dict[str, Any]:
    import ray

    import beamr
    from beamr import cluster
    from beamr.cluster._bridge import wait

    @ray.remote(num_cpus=0)
    class Bare:
        async def noop(self) -> tuple[bool, None]:
            return True, None

    edge = (FIXTURES / "edge.wasm").read_bytes()
    out: dict[str, Any] = {}
    async with await cluster.connect() as c:
        first, second = c.nodes
        strategy = ray.util.scheduling_strategies.NodeAffinitySchedulingStrategy(first, soft=False)
        bare = Bare.options(scheduling_strategy=strategy).remote()  # type: ignore[attr-defined]
        async with await c.start(edge, node=first) as wasm:

            async def bare_call() -> Any:
                return await wait(bare.noop.remote())

            async def remote_call() -> Any:
                return await beamr.call(wasm, "noop", [])

            for operation in (bare_call, remote_call):
                await async_median_of(operation, max(10, rounds // 10))  # warm up
            samples: dict[str, list[float]] = {"bare": [], "remote": []}
            for _ in range(TURNS):
                samples["bare"].append(await async_median_of(bare_call, rounds // TURNS))
                samples["remote"].append(await async_median_of(remote_call, rounds // TURNS))
            out["bare actor call us"] = statistics.median(samples["bare"]) * 1e6
            out["remote call(noop) us"] = statistics.median(samples["remote"]) * 1e6
            out["remote / bare"] = out["remote call(noop) us"] / out["bare actor call us"]
        ray.kill(bare)
        count = 8
        one = [await c.start(edge, node=first) for _ in range(count)]
        out[f"calls/s, {count} instances on one node"] = await _rate(one, 2.0)
        for wasm in one:
            await wasm.aclose()
        two = [await c.start(edge) for _ in range(count)]
        out["nodes used"] = len({w.node for w in two})
        out[f"calls/s, {count} instances over two nodes"] = await _rate(two, 2.0)
        for wasm in two:
            await wasm.aclose()
        started: list[Any] = []
        start = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for _ in range(40):

                async def one_start() -> None:
                    started.append(await c.start(edge))

                tg.start_soon(one_start)
        out["starts/s across the cluster, 40 at once"] = 40 / (time.perf_counter() - start)
        out["started on each node"] = sorted(
            sum(1 for w in started if w.node == n) for n in (first, second)
        )
        for wasm in started:
            await wasm.aclose()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cluster")
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    from tests.private_network import private_network

    reason = private_network()
    if reason is not None:
        print(f"bench-cluster: needs a private network namespace ({reason})", file=sys.stderr)
        return 1
    tmp = tempfile.mkdtemp(prefix="br", dir="/tmp")
    os.environ.update(RAY_TMPDIR=tmp, RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="disabled")
    import ray

    made = _cluster()
    report: dict[str, Any] = {}
    try:
        ray.init(address=made.address, logging_level="warning")
        for backend in ("asyncio", "trio"):
            report[backend] = anyio.run(measure, args.rounds, backend=backend)
    finally:
        ray.shutdown()
        made.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)
    print("beamr bench-cluster: two nodes on this machine (medians; same run)")
    for backend, figures in report.items():
        print(f"\n  {backend}")
        for name, value in figures.items():
            shown = f"{value:.3g}" if isinstance(value, float) else value
            print(f"    {name:44} {shown}")
    print("\n  targets")
    for backend, figures in report.items():
        ratio = figures["remote / bare"]
        mark = "met   " if ratio <= 1.3 else "MISSED"
        print(f"    {mark} {backend}: remote call(noop) <= 1.3x a bare actor call   {ratio:.2f}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
