# examples/limits.py
from pathlib import Path

import anyio

import beamr

BINARY = (Path(__file__).parent.parent / "wasm_fixtures" / "edge.wasm").read_bytes()


async def main() -> None:
    async with await beamr.start(BINARY, limits=beamr.Limits(fuel=1_000_000)) as wasm:
        try:
            await beamr.call(wasm, "spin", [])  # an endless loop
        except beamr.Trap as exc:
            print("trapped:", exc.code)  # trapped: out_of_fuel

    limits = beamr.Limits(memory_bytes=4 << 16, call_timeout=0.2)
    async with await beamr.start(BINARY, limits=limits) as wasm:
        print(await beamr.call(wasm, "grow", [10]))  # [-1]: past memory_bytes
        try:
            await beamr.call(wasm, "spin", [])
        except beamr.CallTimeout:
            print("interrupted after 0.2 s")
        with anyio.move_on_after(0.1):  # any cancellation interrupts the wasm too
            await beamr.call(wasm, "spin_counting", [0])
        print(await beamr.call(wasm, "div", [84, 2]))  # [42]: still usable


anyio.run(main)
