"""``beamr bench`` (``make bench``): beamr's round trips against their physical baselines.

Every figure is measured in the same run, on the same event loop, against a raw echo
over the same kind of socket with the same framing (a child process that answers each
frame at once), so the printed ratios are what matter on a shared, noisy machine.
Results go to a table on stdout and to JSON (``--json PATH``).

It covers the per-command round trips (``io.size``, ``call`` of a no-op, an import
round trip) under asyncio and trio, against the raw echo, a blocking echo (the
floor) and in-process wasmtime (measured in a subprocess: the parent never imports
wasmtime); ``io.read``/``io.write`` from 16 B to 64 MiB against in-process copies
(with a PNG plot when matplotlib is installed); and with ``--scale``, spawning,
idle PSS, 1000 live instances and calls/s over N instances. Each issue target is
printed with its measured ratio and met/missed.
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
import time
from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import msgpack

import beamr
from beamr import _process, io

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


async def _timed(operation: Callable[[], Awaitable[Any]], rounds: int) -> list[float]:
    for _ in range(min(200, rounds)):  # warm up
        await operation()
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        await operation()
        samples.append(time.perf_counter() - start)
    return samples


def _spawn_echo() -> tuple[subprocess.Popen[bytes], socket.socket]:
    """The echo peer, started like a worker (vfork+exec: as quick as spawn())."""
    ours, theirs = socket.socketpair()
    child = subprocess.Popen(
        [sys.executable, "-m", "beamr.bench", "--echo-child", str(theirs.fileno())],
        pass_fds=(theirs.fileno(),),
        env=_process._worker_env(),
    )
    theirs.close()
    return child, ours


async def _raw_echo(rounds: int) -> list[float]:
    """The baseline: a raw anyio socket echo with the same framing (send, wait for
    readability with anyio, recv), no state machine, no validation."""
    child, ours = _spawn_echo()
    ours.setblocking(False)
    packer = msgpack.Packer(use_bin_type=True)
    buffer = bytearray()
    counter = 0

    async def echo() -> None:
        nonlocal counter
        counter += 1
        body = packer.pack([counter, "size"])
        ours.send(HEADER.pack(len(body)) + body)
        while len(buffer) < 4 or len(buffer) < 4 + HEADER.unpack_from(buffer)[0]:
            await anyio.wait_readable(ours)
            buffer.extend(ours.recv(65536))
        (length,) = HEADER.unpack_from(buffer)
        msgpack.unpackb(bytes(buffer[4 : 4 + length]))
        del buffer[: 4 + length]

    try:
        return await _timed(echo, rounds)
    finally:
        ours.close()
        await anyio.to_thread.run_sync(child.wait, 10)


def _blocking_echo(rounds: int) -> list[float]:
    """The floor: the same echo with plain blocking socket calls, no event loop."""
    child, ours = _spawn_echo()
    packer = msgpack.Packer(use_bin_type=True)
    samples = []
    try:
        for i in range(rounds + 200):
            start = time.perf_counter()
            body = packer.pack([i + 1, "size"])
            ours.sendall(HEADER.pack(len(body)) + body)
            buffer = b""
            while len(buffer) < 4 or len(buffer) < 4 + HEADER.unpack_from(buffer)[0]:
                buffer += ours.recv(65536)
            msgpack.unpackb(buffer[4:])
            if i >= 200:
                samples.append(time.perf_counter() - start)
    finally:
        ours.close()
        child.wait(10)
    return samples


SWEEP_SIZES = [16, 256, 4 << 10, 64 << 10, 1 << 20, 16 << 20, 64 << 20]


def memory_module(pages: int) -> bytes:
    """A module that only exports a memory of ``pages`` pages (for the io sweep)."""

    def leb(n: int) -> bytes:
        out = bytearray()
        while True:
            byte, n = n & 0x7F, n >> 7
            out.append(byte | (0x80 if n else 0))
            if not n:
                return bytes(out)

    def section(kind: int, body: bytes) -> bytes:
        return bytes([kind]) + leb(len(body)) + body

    memory = section(5, b"\x01\x00" + leb(pages))
    export = section(7, b"\x01" + leb(6) + b"memory" + b"\x02\x00")
    return b"\0asm\x01\0\0\0" + memory + export


def _baselines(sizes: list[int]) -> dict[str, Any]:
    """In-process wasmtime figures, from ``python -m workers.baselines``."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for name, binary in (
            ("edge", _fixture("edge")),
            ("imports", _fixture("imports")),
            ("memory", memory_module(max(sizes) // 65536 + 1)),
        ):
            path = Path(tmp) / f"{name}.wasm"
            path.write_bytes(binary)
            paths.append(str(path))
        done = subprocess.run(
            [sys.executable, "-m", "workers.baselines", *paths, ",".join(map(str, sizes))],
            env=_process._worker_env(),
            capture_output=True,
            check=True,
            timeout=300,
        )
    result: dict[str, Any] = json.loads(done.stdout)
    for kind in ("read", "write"):
        result[kind] = {int(k): v for k, v in result[kind].items()}
    return result


def _sweep_rounds(size: int) -> int:
    return 300 if size <= 1 << 16 else 60 if size <= 1 << 20 else 10


async def _sweep(sizes: list[int]) -> dict[str, dict[int, float]]:
    """Median io.read / io.write seconds per size, through beamr."""
    reads, writes = {}, {}
    async with await beamr.start(memory_module(max(sizes) // 65536 + 1)) as wasm:
        for size in sizes:
            data = bytes(range(256)) * (size // 256) + bytes(size % 256)
            rounds = _sweep_rounds(size)
            writes[size] = statistics.median(
                await _timed(functools.partial(io.write, wasm, 0, data), rounds)
            )
            reads[size] = statistics.median(
                await _timed(functools.partial(io.read, wasm, 0, size), rounds)
            )
    return {"read": reads, "write": writes}


def _fixture(name: str) -> bytes:
    return resources.files("beamr").joinpath("demo_modules", f"{name}.wasm").read_bytes()


async def _measure(rounds: int) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {"raw echo": await _raw_echo(rounds)}
    async with await beamr.start(_fixture("edge")) as wasm:
        results["io.size"] = await _timed(lambda: io.size(wasm), rounds)
        results["call(noop)"] = await _timed(lambda: beamr.call(wasm, "noop", []), rounds)
    handlers = {"env": {"host_mul": lambda w, a, b: a * b}}
    async with await beamr.start(_fixture("calling"), imports=handlers) as wasm:
        results["call with 1 import"] = await _timed(
            lambda: beamr.call(wasm, "mul_via_host", [6, 7]), rounds
        )
    return results


def _pss_bytes(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


async def _spawning(count: int) -> dict[str, Any]:
    """Instances started per second, sequentially and concurrently; PSS per idle one;
    against a bare ``python -c "import wasmtime"`` spawn."""
    binary = _fixture("edge")
    start = time.perf_counter()
    for _ in range(3):
        await anyio.run_process(
            [sys.executable, "-c", "import wasmtime"], env=_process._worker_env()
        )
    bare = (time.perf_counter() - start) / 3
    start = time.perf_counter()
    for _ in range(3):
        async with await beamr.start(binary) as wasm:
            await io.size(wasm)
    spawned = (time.perf_counter() - start) / 3
    with beamr.fork_server():
        async with await beamr.start(binary) as wasm:  # the fork-server starts
            await io.size(wasm)
        start = time.perf_counter()
        for _ in range(10):
            async with await beamr.start(binary) as wasm:
                await io.size(wasm)
        forked = (time.perf_counter() - start) / 10
        return {
            "bare python+wasmtime spawn ms": round(bare * 1e3, 1),
            "spawned start+first reply ms": round(spawned * 1e3, 1),
            "forked start+first reply ms": round(forked * 1e3, 1),
            **await _concurrent_starts(binary, count),
        }


async def _concurrent_starts(binary: bytes, count: int) -> dict[str, Any]:
    """``count`` starts at once: the rate, the PSS of each idle instance, answers."""
    instances: list[beamr.Instance] = []
    start = time.perf_counter()
    try:
        async with anyio.create_task_group() as tg:
            for _ in range(count):
                tg.start_soon(lambda: _start_into(binary, instances))
        concurrent = time.perf_counter() - start
        pss = [v for v in (_pss_bytes(i.pid) for i in instances) if v is not None]
        answered = sum([await io.size(i) == 65536 for i in instances])
    finally:
        for instance in instances:
            await beamr.stop(instance)
    return {
        f"instances/s ({count} concurrent)": round(count / concurrent, 1),
        "idle PSS per instance MiB": round(statistics.median(pss) / (1 << 20), 2) if pss else None,
        "answered": f"{answered}/{count}",
    }


async def _start_into(binary: bytes, instances: list[beamr.Instance]) -> None:
    instances.append(await beamr.start(binary))


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


def _target(name: str, value: float | None, limit: float, *, at_least: bool) -> dict[str, Any]:
    met = value is not None and (value >= limit if at_least else value <= limit)
    return {"target": name, "value": value, "met": met}


async def _thousand(count: int = 1000) -> dict[str, Any]:
    """``count`` instances alive at once, each answering."""
    binary = _fixture("edge")
    instances: list[beamr.Instance] = []
    start = time.perf_counter()
    try:
        async with anyio.create_task_group() as tg:
            for _ in range(count):
                tg.start_soon(_start_into, binary, instances)
        started = time.perf_counter() - start
        answered = sum([await io.size(i) == 65536 for i in instances])
    finally:
        async with anyio.create_task_group() as tg:
            for instance in instances:
                tg.start_soon(instance.aclose)
    return {"alive": len(instances), "answered": answered, "started in s": round(started, 2)}


def run(rounds: int, backends: list[str], scale: bool = False) -> dict[str, Any]:
    report: dict[str, Any] = {"rounds": rounds, "cpus": os.cpu_count(), "backends": {}}
    targets: list[dict[str, Any]] = []
    inproc = _baselines(SWEEP_SIZES)
    report["in-process us"] = {
        k: round(v * 1e6, 2) for k, v in inproc.items() if isinstance(v, float)
    }
    blocking = statistics.median(_blocking_echo(rounds))
    report["blocking echo us"] = round(blocking * 1e6, 1)
    if scale:
        with contextlib.suppress(ValueError, OSError):  # 1000 workers: ~4 fds each
            _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        report["spawn"] = spawn = anyio.run(_spawning, 32)
        with beamr.fork_server():  # services start many instances: forked
            report["thousand"] = thousand = anyio.run(_thousand)
            report["throughput"] = anyio.run(_throughput, 2.0, [1, 2, 8, 64])
        targets.append(
            _target(
                "instances/s started concurrently >= 300",
                spawn["instances/s (32 concurrent)"],
                300,
                at_least=True,
            )
        )
        targets.append(
            _target(
                "idle PSS per instance <= 4 MiB",
                spawn["idle PSS per instance MiB"],
                4,
                at_least=False,
            )
        )
        targets.append(
            _target(
                "1000 instances alive, each answering",
                thousand["answered"],
                1000,
                at_least=True,
            )
        )
    host = inproc["wasm -> python -> wasm"]
    for backend in backends:
        samples = anyio.run(_measure, rounds, backend=backend)
        medians = {name: statistics.median(values) for name, values in samples.items()}
        rows = {}
        for name, median in medians.items():
            row: dict[str, Any] = {
                "median_us": round(median * 1e6, 1),
                "p90_us": round(sorted(samples[name])[int(0.9 * rounds)] * 1e6, 1),
            }
            if name in BASELINES:
                base, times = BASELINES[name]
                row["ratio"] = round(median / (medians[base] * times), 2)
                row["baseline"] = f"{times:g} x {base}"
            rows[name] = row
        echo = medians["raw echo"]
        rows["blocking echo"] = {"median_us": round(blocking * 1e6, 1), "p90_us": 0.0}
        report["backends"][backend] = rows
        size, call, imp = medians["io.size"], medians["call(noop)"], medians["call with 1 import"]
        targets += [
            _target(f"{backend}: io.size <= 1.2x raw echo", round(size / echo, 2), 1.2,
                    at_least=False),
            _target(f"{backend}: io.size <= 2.5x blocking echo", round(size / blocking, 2), 2.5,
                    at_least=False),
            _target(f"{backend}: call(noop) <= 1.3x raw echo", round(call / echo, 2), 1.3,
                    at_least=False),
            _target(
                f"{backend}: import <= 1.2x (2 echoes + in-process host call)",
                round(imp / (2 * echo + host), 2),
                1.2,
                at_least=False,
            ),
        ]  # fmt: skip
    sweep = anyio.run(_sweep, SWEEP_SIZES)
    report["sweep"] = {
        kind: {
            str(size): {
                "beamr GB/s": round(size / sweep[kind][size] / 1e9, 3),
                "in-process GB/s": round(size / inproc[kind][size] / 1e9, 3),
                "ratio": round(inproc[kind][size] / sweep[kind][size], 2),
            }
            for size in SWEEP_SIZES
        }
        for kind in ("read", "write")
    }
    for kind in ("read", "write"):
        ratio = report["sweep"][kind][str(16 << 20)]["ratio"]
        targets.append(_target(f"16 MiB {kind} >= 0.6x in-process", ratio, 0.6, at_least=True))
    report["targets"] = targets
    return report


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


def print_table(report: dict[str, Any]) -> None:
    for section in ("spawn", "thousand", "throughput"):
        if section in report:
            print(f"beamr bench: {section}")
            for name, value in report[section].items():
                print(f"    {name:40} {value}")
            print()
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
    print("\n  io sweep (GB/s, median)")
    print(f"    {'size':>10} {'read':>8} {'in-proc':>8} {'ratio':>6}"
          f"   {'write':>8} {'in-proc':>8} {'ratio':>6}")  # fmt: skip
    for size in SWEEP_SIZES:
        r, w = report["sweep"]["read"][str(size)], report["sweep"]["write"][str(size)]
        cells = [
            f"{r['beamr GB/s']:>8.3f} {r['in-process GB/s']:>8.3f} {r['ratio']:>6.2f}",
            f"{w['beamr GB/s']:>8.3f} {w['in-process GB/s']:>8.3f} {w['ratio']:>6.2f}",
        ]
        print(f"    {size:>10} {cells[0]}   {cells[1]}")
    print("\n  targets")
    for target in report["targets"]:
        mark = "met   " if target["met"] else "MISSED"
        print(f"    {mark} {target['target']:58} {target['value']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="beamr bench", description=__doc__.split("\n\n")[0])
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
