# examples/hello_asyncio.py
import asyncio
from pathlib import Path

import beamr
from beamr import io

BINARY = (Path(__file__).parent.parent / "wasm_fixtures" / "calling.wasm").read_bytes()


async def main() -> None:
    async with await beamr.start(BINARY) as wasm:
        name = await io.write_string(wasm, "asyncio")  # malloc + write + NUL
        (greeting,) = await beamr.call(wasm, "greet", [name])
        print((await io.read_string(wasm, greeting)).decode())  # Hello, asyncio!
        print(await beamr.call(wasm, "fac", [5.0]))  # [120.0]


asyncio.run(main())
