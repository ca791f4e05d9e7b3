"""``beamr bench`` (``make bench``): beamr's round trips against their physical baselines.

Every figure is measured in the same run, on the same event loop, against a raw echo
over the same kind of socket with the same framing (a child process that answers each
frame at once), so the printed ratios are what matter on a shared, noisy machine.
Results go to a table on stdout and to JSON (``--json PATH``).

This first harness covers the per-command round trips (``io.size``, ``call`` of a
no-op, an import round trip) under asyncio and trio.
"""

from __future__ import annotations

import argparse
import json
import os
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
    child, ours = _spawn_echo()
    channel = _process.Channel(ours)
    packer = msgpack.Packer(use_bin_type=True)
    decoder_buffer = bytearray()
    counter = 0

    async def echo() -> None:
        nonlocal counter
        counter += 1
        body = packer.pack([counter, "size"])
        await channel.send(HEADER.pack(len(body)) + body)
        while (
            len(decoder_buffer) < 4
            or len(decoder_buffer) < 4 + HEADER.unpack_from(decoder_buffer)[0]
        ):
            decoder_buffer.extend(await channel.receive(65536))
        (length,) = HEADER.unpack_from(decoder_buffer)
        msgpack.unpackb(bytes(decoder_buffer[4 : 4 + length]))
        del decoder_buffer[: 4 + length]

    try:
        return await _timed(echo, rounds)
    finally:
        channel.close()
        await anyio.to_thread.run_sync(child.wait, 10)


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
    sequential = (time.perf_counter() - start) / 3
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
        "bare python+wasmtime spawn ms": round(bare * 1e3, 1),
        "start+first reply ms (sequential)": round(sequential * 1e3, 1),
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


def run(rounds: int, backends: list[str], scale: bool = False) -> dict[str, Any]:
    report: dict[str, Any] = {"rounds": rounds, "cpus": os.cpu_count(), "backends": {}}
    if scale:
        report["spawn"] = anyio.run(_spawning, 32)
        report["throughput"] = anyio.run(_throughput, 2.0, [1, 2, 8, 64])
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
        report["backends"][backend] = rows
    return report


def print_table(report: dict[str, Any]) -> None:
    for section in ("spawn", "throughput"):
        if section in report:
            print(f"beamr bench: {section}")
            for name, value in report[section].items():
                print(f"    {name:40} {value}")
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
