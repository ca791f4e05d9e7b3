"""``python -m beamr.demo`` (``make demo``): beamr's main job, in a few seconds.

Starts several sandboxed instances of a bundled C module, writes and reads strings
in their memory, calls exports that call back into Python (with memory io and a
nested call inside the handler), captures WASI output, and shows that a trap or a
runaway loop leaves the instance usable.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from importlib import resources
from typing import Any

import anyio

import beamr
from beamr import io


def fixture(name: str) -> bytes:
    """A module bundled with beamr for this demo (``beamr/demo_modules``)."""
    return resources.files("beamr").joinpath("demo_modules", f"{name}.wasm").read_bytes()


def say(text: str) -> None:
    print(text, flush=True)


async def main() -> None:
    calling = fixture("calling")
    say(f"beamr {beamr.__version__}: one worker process per WebAssembly instance\n")

    # ---- imports: handlers in this process, called by the wasm in the worker
    async def host_log(wasm: beamr.Instance, ptr: int) -> None:
        text = await io.read_string(wasm, ptr)  # memory io while the call is suspended
        say(f"    [worker {wasm.pid}] host_log({ptr:#x}) -> {text.decode()!r}")

    def host_mul(wasm: beamr.Instance, a: int, b: int) -> int:
        return a * b

    async def host_string(wasm: beamr.Instance) -> int:
        # a nested call (malloc) into the instance that is waiting for us
        return await io.write_string(wasm, f"made in Python for worker {wasm.pid}")

    imports: dict[str, dict[str, Callable[..., Any]]] = {
        "env": {"host_log": host_log, "host_mul": host_mul, "host_string": host_string}
    }

    started = time.perf_counter()
    instances: list[beamr.Instance] = []

    async def start_one() -> None:
        instances.append(await beamr.start(calling, imports=imports, wasi=True))

    async with anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(start_one)
    elapsed = (time.perf_counter() - started) * 1000
    say(
        f"started {len(instances)} instances concurrently in {elapsed:.0f} ms: "
        f"pids {', '.join(str(i.pid) for i in instances)}"
    )
    first = instances[0]
    funcs = ", ".join(f"{e.name}{e.signature}" for e in first.exports if e.kind == "func")
    say(f"  exports: {funcs}")
    some = ", ".join(f"{i.module}.{i.name}{i.signature}" for i in first.imports[:3])
    say(f"  imports: {some}, ...")
    say(f"  memory:  {await io.size(first)} bytes\n")

    try:
        say("strings in and out of linear memory (write_string -> greet -> read_string):")
        for n, wasm in enumerate(instances):
            name = await io.write_string(wasm, ["Ada", "Grace", "Edsger", "Barbara"][n])
            (greeting,) = await beamr.call(wasm, "greet", [name])
            text = await io.read_string(wasm, int(greeting))
            say(f"  worker {wasm.pid}: greet -> {text.decode()!r} at {int(greeting):#x}")
            await io.free(wasm, int(greeting))
            await io.free(wasm, name)

        say("\ncalls into the wasm that call back into Python:")
        (product,) = await beamr.call(first, "mul_via_host", [6, 7])
        say(f"  mul_via_host(6, 7) = {product}  (the multiplication ran in Python)")
        name = await io.write_string(first, "beamr")
        (length,) = await beamr.call(first, "log_greeting", [name])
        say(f"  log_greeting returned {length}")
        (length,) = await beamr.call(first, "host_string_len", [])
        say(f"  host_string_len() = {length}  (the handler malloc'ed inside the suspended call)")
        say(f"  fac(10.0) = {(await beamr.call(first, 'fac', [10.0]))[0]}")

        say("\nWASI output, captured per instance:")
        await beamr.call(instances[1], "print_hello", [])
        out = await instances[1].output()
        say(f"  stdout {out.stdout!r}  stderr {out.stderr!r}")

        say("\nfailures stay inside their instance:")
        edge = await beamr.start(fixture("edge"), limits=beamr.Limits(call_timeout=0.25))
        instances.append(edge)
        try:
            await beamr.call(edge, "div", [1, 0])
        except beamr.Trap as exc:
            say(f"  div(1, 0) trapped: code={exc.code!r}")
        try:
            await beamr.call(edge, "spin", [])
        except beamr.CallTimeout:
            say("  spin() ran away and was interrupted after 0.25 s (CallTimeout)")
        (half,) = await beamr.call(edge, "div", [84, 2])
        say(f"  the same instance still answers: div(84, 2) = {half}")
        try:
            await io.read(edge, 1 << 30, 16)
        except beamr.OutOfBounds as exc:
            say(f"  read past the end: OutOfBounds ({exc})")
    finally:
        for wasm in instances:
            await beamr.stop(wasm)
    say(f"\nstopped {len(instances)} workers; none left behind.")


if __name__ == "__main__":
    backend = sys.argv[1] if len(sys.argv) > 1 else "asyncio"
    anyio.run(main, backend=backend)
