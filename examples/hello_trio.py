# examples/hello_trio.py
from pathlib import Path

import trio

import beamr
from beamr import io

BINARY = (Path(__file__).parent.parent / "wasm_fixtures" / "calling.wasm").read_bytes()


async def main() -> None:
    async with await beamr.start(BINARY) as wasm:
        name = await io.write_string(wasm, "trio")
        (greeting,) = await beamr.call(wasm, "greet", [name])
        print((await io.read_string(wasm, greeting)).decode())  # Hello, trio!
        with trio.move_on_after(5):  # cancelling interrupts the wasm; wasm stays usable
            print(await beamr.call(wasm, "fib", [90]))  # [2880067194370816120]


trio.run(main)
