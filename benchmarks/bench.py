"""``python -m benchmarks`` (``make bench``): beamr's round trips against their physical baselines.

Every figure is measured in the same run, on the same event loop, against a raw echo
over the same kind of socket with the same framing (a child process that answers each
frame at once), so the printed ratios are what matter on a shared, noisy machine.
Results go to a table on stdout and to JSON (``--json PATH``).

It covers the per-command round trips (``io.size``, ``call`` of a no-op, an import
round trip) under asyncio and trio, against the raw echo, a blocking echo (the
floor) and in-process wasmtime (measured in a subprocess: the parent never imports
wasmtime); ``io.read``/``io.write`` from 16 B to 64 MiB against in-process copies
(with a PNG plot when matplotlib is installed); batches, host calls, the blocking
facade and the peers table (:mod:`benchmarks.peers`); and with ``--scale``, plain
starts, idle PSS, pools, 5000 live instances and calls/s over N instances. Each issue
target is printed with its measured figure and met/missed.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import resource
import socket
import statistics
import struct
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import msgpack

import beamr
from beamr import _spawn, io
from beamr._forkserver import IDLE_EXIT
from benchmarks import fast, peers
from benchmarks.timing import async_samples_of, samples_of

HEADER = struct.Struct(">I")


def _echo_child(fd: int) -> int:
    """The baseline peer: answer each frame with a tiny reply, as fast as Python can."""
    sock = socket.socket(fileno=fd)
    packer = msgpack.Packer(use_bin_type=True)
    buffer = b""
    while True:
        while len(buffer) < 4 or len(buffer) < 4 + HEADER.unpack_from(buffer)[0]:
            chunk = sock.recv(65536)
            if not chunk:
                return 0
            buffer += chunk
        (length,) = HEADER.unpack_from(buffer)
        value = msgpack.unpackb(buffer[4 : 4 + length])
        buffer = buffer[4 + length :]
        body = packer.pack([value[0], "execution_result", 65536])
        sock.sendall(HEADER.pack(len(body)) + body)


TURNS = 10  # measurements alternate in this many turns, so noise falls on all alike


def _spawn_echo() -> tuple[subprocess.Popen[bytes], socket.socket]:
    """The echo peer, started as spawn() starts a worker."""
    ours, theirs = socket.socketpair()
    child = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.bench", "--echo-child", str(theirs.fileno())],
        pass_fds=(theirs.fileno(),),
        env={"PYTHONPATH": _spawn.worker_root()},
        start_new_session=True,  # as a worker is (its own session, so its own autogroup)
    )
    theirs.close()
    return child, ours


class _Echo:
    """A connection to an echo peer, with the same framing as beamr's protocol."""

    def __init__(self, *, blocking: bool) -> None:
        self.child, self.sock = _spawn_echo()
        self.sock.setblocking(blocking)
        self.packer = msgpack.Packer(use_bin_type=True)
        self.buffer = bytearray()
        self.counter = 0

    def _frame(self) -> bytes:
        self.counter += 1
        body: bytes = self.packer.pack([self.counter, "size"])
        return HEADER.pack(len(body)) + body

    def _reply(self) -> bool:
        buffer = self.buffer
        if len(buffer) < 4 or len(buffer) < 4 + HEADER.unpack_from(buffer)[0]:
            return False
        (length,) = HEADER.unpack_from(buffer)
        msgpack.unpackb(bytes(buffer[4 : 4 + length]))
        del buffer[: 4 + length]
        return True

    async def raw(self) -> None:
        """The baseline: a raw anyio socket echo (send, wait for readability with
        anyio, recv), no state machine, no validation."""
        self.sock.send(self._frame())
        while not self._reply():
            await anyio.wait_readable(self.sock)
            self.buffer.extend(self.sock.recv(65536))

    def blocking(self) -> None:
        """The floor: the same echo with plain blocking socket calls, no event loop."""
        self.sock.sendall(self._frame())
        while not self._reply():
            self.buffer.extend(self.sock.recv(65536))

    def close(self) -> None:
        self.sock.close()
        self.child.wait(10)


SWEEP_SIZES = [16, 256, 4 << 10, 64 << 10, 1 << 20, 16 << 20, 64 << 20]


SWEEP_PAGES = 1025  # wasm_fixtures/sweep_memory.wat: the sweep's target memory
assert max(SWEEP_SIZES) <= SWEEP_PAGES * 65536


class _InProcess:
    """In-process wasmtime figures from ``python -m benchmarks.baselines`` (a process of
    its own: the parent never imports wasmtime), kept running so its copies can be
    measured in turns with beamr's."""

    def __init__(self) -> None:
        paths = [str(FIXTURES / f"{name}.wasm") for name in ("edge", "imports", "sweep_memory")]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.baselines", *paths],
            env={"PYTHONPATH": _spawn.worker_root()},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.calls: dict[str, float] = json.loads(self._line())

    def _line(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"benchmarks.baselines exited ({self.process.wait()})")
        return line

    def samples(self, kind: str, size: int, rounds: int) -> list[float]:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{kind} {size} {rounds}\n")
        self.process.stdin.flush()
        samples: list[float] = json.loads(self._line())
        return samples

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(60)


def _sweep_rounds(size: int) -> int:
    return 300 if size <= 1 << 16 else 60 if size <= 1 << 20 else 30 if size <= 16 << 20 else 10


async def _sweep(sizes: list[int], inproc: _InProcess) -> dict[str, dict[int, list[float]]]:
    """io.read / io.write seconds per size through beamr, and the in-process copies of
    the same size, measured in alternating turns so both see the same machine."""
    samples: dict[str, dict[int, list[float]]] = {
        "read": {}, "write": {}, "in-process read": {}, "in-process write": {}
    }  # fmt: skip
    async with await beamr.start(_fixture("sweep_memory")) as wasm:
        for size in sizes:
            data = bytes(range(256)) * (size // 256) + bytes(size % 256)
            rounds = _sweep_rounds(size)
            turn = max(1, rounds // TURNS)
            for kind in samples:
                samples[kind][size] = []
            await io.write(wasm, 0, data)  # warm: map the pages on both sides
            for _ in range(rounds // turn):
                samples["write"][size] += await async_samples_of(
                    functools.partial(io.write, wasm, 0, data), turn, warmup=1
                )
                samples["in-process write"][size] += inproc.samples("write", size, turn)
                samples["read"][size] += await async_samples_of(
                    functools.partial(io.read, wasm, 0, size), turn, warmup=1
                )
                samples["in-process read"][size] += inproc.samples("read", size, turn)
    return samples


FIXTURES = Path(__file__).resolve().parent.parent / "wasm_fixtures"


def _fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.wasm").read_bytes()


def _pin(pids: list[int], ours: set[int], theirs: set[int]) -> None:
    """Pin this thread to ``ours`` and every thread of the peers (processes this
    bench started) to ``theirs``."""
    os.sched_setaffinity(0, ours)
    for pid in pids:
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{pid}/task"):
                with contextlib.suppress(OSError):
                    os.sched_setaffinity(int(task), theirs)


#: Placements measured besides the scheduler's own choice: parent and peer on one CPU,
#: and on two. Where the scheduler puts a peer decides a round trip more than any code
#: does (a wake-up on the same CPU is a context switch; on another, a cross-CPU wake-up),
#: and it may place the echo and a worker differently in the same run.
#: Each is (the parent's, the peers') index among the CPUs this process may use.
PLACEMENTS = {"same CPU": (0, 0), "two CPUs": (0, 1)}


async def _measure(rounds: int) -> dict[str, dict[str, list[float]]]:
    """Round-trip samples of each operation and its baselines, measured in turns:
    under the scheduler's placement ("free"), then under each of :data:`PLACEMENTS`
    where the machine has the CPUs and allows pinning."""
    handlers = {"env": {"host_mul": lambda w, a, b: a * b}}
    with contextlib.ExitStack() as echoes:
        raw = _Echo(blocking=False)
        echoes.callback(raw.close)
        floor = _Echo(blocking=True)
        echoes.callback(floor.close)
        async with (
            await beamr.start(_fixture("edge")) as edge,
            await beamr.start(_fixture("calling"), imports=handlers) as calling,
        ):
            operations: dict[str, Callable[[], Awaitable[Any]]] = {
                "raw echo": raw.raw,
                "io.size": functools.partial(io.size, edge),
                "call(noop)": functools.partial(beamr.call, edge, "noop", []),
                "call with 1 import": functools.partial(
                    beamr.call, calling, "mul_via_host", [6, 7]
                ),
            }
            warmup = min(200, rounds)
            for operation in operations.values():
                await async_samples_of(operation, 0, warmup=warmup)
            samples_of(floor.blocking, warmup)

            async def turns(count: int) -> dict[str, list[float]]:
                results: dict[str, list[float]] = {name: [] for name in operations}
                results["blocking echo"] = []
                turn = max(1, count // TURNS)
                for _ in range(count // turn):
                    for name, operation in operations.items():
                        results[name] += await async_samples_of(operation, turn)
                    results["blocking echo"] += samples_of(floor.blocking, turn)
                return results

            measured = {"free": await turns(rounds)}
            cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set()
            if len(cpus) >= 2:
                usable = sorted(cpus)
                peers = [raw.child.pid, floor.child.pid, edge.pid, calling.pid]
                try:
                    for placement, (ours, theirs) in PLACEMENTS.items():
                        _pin(peers, {usable[ours]}, {usable[theirs]})
                        measured[placement] = await turns(max(1, rounds // 2))
                finally:
                    _pin(peers, cpus, cpus)
            return measured


async def _throughput(seconds: float, sizes: list[int]) -> dict[str, float]:
    """Calls per second over N instances driven in parallel."""
    binary = _fixture("edge")
    out: dict[str, float] = {}
    for n in sizes:
        instances = [await beamr.start(binary) for _ in range(n)]
        calls = 0
        try:
            with anyio.move_on_after(seconds):
                async with anyio.create_task_group() as tg:

                    async def drive(wasm: beamr.Instance) -> None:
                        nonlocal calls
                        while True:
                            await beamr.call(wasm, "noop", [])
                            calls += 1

                    for wasm in instances:
                        tg.start_soon(drive, wasm)
        finally:
            for wasm in instances:
                await beamr.stop(wasm)
        out[f"calls/s over {n} instances"] = round(calls / seconds)
    return out


BASELINES = {
    "io.size": ("raw echo", 1.0),
    "call(noop)": ("raw echo", 1.0),
    "call with 1 import": ("raw echo", 2.0),
}


def _rows(samples: dict[str, list[float]], medians: dict[str, float]) -> dict[str, Any]:
    """A table row per operation: median, p90 and the ratio to its baseline."""
    rows = {}
    for name, median in medians.items():
        values = sorted(samples[name])
        row: dict[str, Any] = {
            "median_us": round(median * 1e6, 1),
            "p90_us": round(values[int(0.9 * len(values))] * 1e6, 1),
        }
        if name in BASELINES:
            base, times = BASELINES[name]
            row["ratio"] = round(median / (medians[base] * times), 2)
            row["baseline"] = f"{times:g} x {base}"
        rows[name] = row
    return rows


def _target(name: str, value: float | None, limit: float, *, at_least: bool) -> dict[str, Any]:
    met = value is not None and (value >= limit if at_least else value <= limit)
    return {"target": name, "value": value, "met": met}


def run(rounds: int, backends: list[str], scale: bool = False) -> dict[str, Any]:
    report: dict[str, Any] = {"rounds": rounds, "cpus": os.cpu_count(), "backends": {}}
    targets: list[dict[str, Any]] = []
    inproc = _InProcess()
    try:
        _measure_all(report, targets, inproc, rounds, backends, scale)
    finally:
        inproc.close()
    report["targets"] = targets
    return report


def _at_most(targets: list[dict[str, Any]], name: str, value: float, limit: float) -> None:
    targets.append(_target(name, round(value, 3), limit, at_least=False))


def _at_least(targets: list[dict[str, Any]], name: str, value: float, limit: float) -> None:
    targets.append(_target(name, round(value, 3), limit, at_least=True))


def _measure_all(
    report: dict[str, Any],
    targets: list[dict[str, Any]],
    inproc: _InProcess,
    rounds: int,
    backends: list[str],
    scale: bool,
) -> None:
    report["in-process us"] = {k: round(v * 1e6, 2) for k, v in inproc.calls.items()}
    with contextlib.suppress(ValueError, OSError):  # thousands of workers: 3 fds each
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    report["peers"] = peer_figures = anyio.run(peers.measure, rounds)
    in_process_host = peer_figures["in-process wasmtime-py"]["1000 host calls"] / 1000
    for backend in backends:
        measured = anyio.run(_measure, rounds, backend=backend)
        placed = {
            placement: {name: statistics.median(values) for name, values in by_name.items()}
            for placement, by_name in measured.items()
        }
        report["backends"][backend] = _rows(measured["free"], placed["free"])
        report.setdefault("placements", {})[backend] = {
            placement: _rows(measured[placement], placed[placement])
            for placement in measured
            if placement != "free"
        }
        # Round trips are judged under every placement, the scheduler's own ("free")
        # and each pinned one: the worst ratio is the figure, all are printed beside.
        checks: list[tuple[str, float, Callable[[dict[str, float]], float]]] = [
            ("io.size <= 1.2x raw echo", 1.2, lambda m: m["io.size"] / m["raw echo"]),
            ("call(noop) <= 1.15x io.size", 1.15, lambda m: m["call(noop)"] / m["io.size"]),
        ]
        for name, limit, ratio in checks:
            ratios = {placement: round(ratio(m), 2) for placement, m in placed.items()}
            target = _target(f"{backend}: {name}", max(ratios.values()), limit, at_least=False)
            target["placements"] = ratios
            targets.append(target)
        fast_figures = report.setdefault("fast", {})[backend] = {}
        if scale:
            fast_figures["starts"] = started = anyio.run(fast.starts, backend=backend)
            _at_least(targets, f"{backend}: plain starts/s, 40 at once >= 300",
                      started["starts/s"], 300)  # fmt: skip
            _at_most(targets, f"{backend}: idle PSS per instance <= 4 MiB", started["PSS MiB"], 4)
            fast_figures["pool"] = pooled = anyio.run(fast.pool, backend=backend)
            _at_least(targets, f"{backend}: Pool fresh checkouts/s >= 300",
                      pooled["fresh checkouts/s"], 300)  # fmt: skip
            _at_most(targets, f"{backend}: warm checkout + call <= 2x call",
                     pooled["warm checkout + call / call"], 2)  # fmt: skip
        fast_figures["batches"] = batched = anyio.run(fast.batches, rounds, backend=backend)
        _at_most(targets, f"{backend}: 1 KiB write-call-read batch <= 1.3x call(noop)",
                 batched["1 KiB write-call-read / call(noop)"], 1.3)  # fmt: skip
        _at_most(targets, f"{backend}: 16 KiB chunk (write + call) <= 1.3x round trip",
                 batched["16 KiB chunk (write + call) / round trip"], 1.3)  # fmt: skip
        fast_figures["host calls"] = hosts = anyio.run(fast.host_calls, rounds, backend=backend)
        _at_most(targets, f"{backend}: in-worker host call <= 3x in-process",
                 hosts["in-worker host call s"] / in_process_host, 3)  # fmt: skip
        _at_most(targets, f"{backend}: parent host call <= 2x io.size",
                 hosts["parent host call s"] / placed["free"]["io.size"], 2)  # fmt: skip
    report["sync"] = synced = fast.sync_cost(rounds)
    _at_most(targets, "beamr.sync call <= 1.5x async call",
             synced["sync call(noop) / async call(noop)"], 1.5)  # fmt: skip
    if scale:
        idle = anyio.run(fast.idle_exit)
        report["fork-server idle exit s"] = round(idle, 2)
        _at_most(targets, f"fork-server exits <= {IDLE_EXIT + 0.5:g} s after the last stop",
                 idle, IDLE_EXIT + 0.5)  # fmt: skip
        report["many"] = alive = anyio.run(fast.many, MANY)
        _at_least(targets, f"{MANY} instances alive, each answering", alive["answered"], MANY)
        report["throughput"] = anyio.run(_throughput, 2.0, [1, 2, 8, 64])
    sweep = anyio.run(_sweep, SWEEP_SIZES, inproc)
    report["sweep"] = {}
    for kind in ("read", "write"):
        report["sweep"][kind] = {}
        for size in SWEEP_SIZES:
            ours = statistics.median(sweep[kind][size])
            theirs = statistics.median(sweep[f"in-process {kind}"][size])
            report["sweep"][kind][str(size)] = {
                # three significant digits: small sizes are tiny figures, not 0.0
                "beamr GB/s": float(f"{size / ours / 1e9:.3g}"),
                "in-process GB/s": float(f"{size / theirs / 1e9:.3g}"),
                "ratio": float(f"{theirs / ours:.3g}"),
            }
        ratio = report["sweep"][kind][str(16 << 20)]["ratio"]
        targets.append(_target(f"16 MiB {kind} >= 0.6x in-process", ratio, 0.6, at_least=True))


def plot(report: dict[str, Any], path: Path) -> bool:
    """The io sweep as a PNG (throughput against size); False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    sizes = SWEEP_SIZES
    fig, ax = plt.subplots(figsize=(8, 5))
    for kind, style in (("read", "-"), ("write", "--")):
        rows = report["sweep"][kind]
        ax.plot(
            sizes,
            [rows[str(s)]["beamr GB/s"] for s in sizes],
            "o" + style,
            label=f"beamr io.{kind}",
        )
        ax.plot(
            sizes,
            [rows[str(s)]["in-process GB/s"] for s in sizes],
            "s" + style,
            label=f"in-process {kind}",
            alpha=0.7,
        )
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("bytes per operation")
    ax.set_ylabel("GB/s (median)")
    ax.set_title("beamr io vs in-process copies (same run)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return True


#: instances alive at once in the scale figures
MANY = 5000


def _shown(value: Any) -> Any:
    return float(f"{value:.3g}") if isinstance(value, float) else value


def print_table(report: dict[str, Any]) -> None:
    print("beamr bench: beside what a user would otherwise pick (peers, same run)")
    for line in peers.table(report["peers"]):
        print(line)
    print()
    for backend, sections in report.get("fast", {}).items():
        for section, figures in sections.items():
            print(f"beamr bench: {section} ({backend})")
            for name, value in figures.items():
                print(f"    {name:44} {_shown(value)}")
        print()
    for section in ("sync", "many", "throughput"):
        if section in report:
            print(f"beamr bench: {section}")
            for name, value in report[section].items():
                print(f"    {name:44} {_shown(value)}")
            print()
    if "fork-server idle exit s" in report:
        print(f"beamr bench: fork-server idle exit {report['fork-server idle exit s']} s\n")
    print("beamr bench: in-process baselines (a wasmtime process of their own)")
    for name, value in report["in-process us"].items():
        print(f"    {name:40} {value} us")
    print()
    print(
        f"beamr bench: {report['rounds']} rounds each, {report['cpus']} CPUs "
        "(medians; ratios against baselines measured in the same run)"
    )
    for backend, rows in report["backends"].items():
        print(f"\n  {backend}")
        print(f"    {'operation':22} {'median':>10} {'p90':>10}   ratio  baseline")
        for name, row in rows.items():
            ratio = f"{row['ratio']:.2f}x" if "ratio" in row else ""
            print(
                f"    {name:22} {row['median_us']:>8.1f}us {row['p90_us']:>8.1f}us"
                f"   {ratio:>5}  {row.get('baseline', '')}"
            )
    for backend, placements in report.get("placements", {}).items():
        for placement, prows in placements.items():
            line = "  ".join(
                f"{name} {row['median_us']:.1f}us"
                + (f" ({row['ratio']:.2f}x)" if "ratio" in row else "")
                for name, row in prows.items()
            )
            print(f"\n  {backend}, pinned to {placement}: {line}")
    print("\n  io sweep (GB/s, median)")
    print(f"    {'size':>10} {'read':>8} {'in-proc':>8} {'ratio':>6}"
          f"   {'write':>8} {'in-proc':>8} {'ratio':>6}")  # fmt: skip
    for size in SWEEP_SIZES:
        r, w = report["sweep"]["read"][str(size)], report["sweep"]["write"][str(size)]
        cells = [
            f"{r['beamr GB/s']:>8.3g} {r['in-process GB/s']:>8.3g} {r['ratio']:>6.3g}",
            f"{w['beamr GB/s']:>8.3g} {w['in-process GB/s']:>8.3g} {w['ratio']:>6.3g}",
        ]
        print(f"    {size:>10} {cells[0]}   {cells[1]}")
    print("\n  targets")
    for target in report["targets"]:
        mark = "met   " if target["met"] else "MISSED"
        placements = target.get("placements", {})
        beside = (
            "  (" + ", ".join(f"{k}: {v}" for k, v in placements.items()) + ")"
            if len(placements) > 1
            else ""
        )
        print(f"    {mark} {target['target']:58} {target['value']}{beside}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--backend", choices=["asyncio", "trio"], action="append")
    parser.add_argument("--json", type=Path, help="also write the report as JSON here")
    parser.add_argument(
        "--scale",
        action="store_true",
        help="also measure spawning, idle PSS and calls/s over N instances",
    )
    parser.add_argument("--echo-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.echo_child is not None:
        return _echo_child(args.echo_child)
    report = run(args.rounds, args.backend or ["asyncio", "trio"], scale=args.scale)
    print_table(report)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))
        print(f"\nwrote {args.json}")
        png = args.json.with_name("sweep.png")
        if plot(report, png):
            print(f"wrote {png}")
        else:
            print("(no plot: matplotlib is not installed; make bench installs it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
