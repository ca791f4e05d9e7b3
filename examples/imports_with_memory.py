# examples/imports_with_memory.py
from pathlib import Path

import anyio

import beamr
from beamr import io

BINARY = (Path(__file__).parent.parent / "wasm_fixtures" / "calling.wasm").read_bytes()


async def host_log(wasm: beamr.Instance, ptr: int) -> None:
    # the wasm is suspended in this import; its memory is ours to read
    print("wasm says:", (await io.read_string(wasm, ptr)).decode())


async def host_string(wasm: beamr.Instance) -> int:
    # a nested call into the suspended instance (malloc), where HyperBEAM deadlocks
    return await io.write_string(wasm, "made in Python")


def host_mul(wasm: beamr.Instance, a: int, b: int) -> int:
    return a * b  # sync handlers work too


async def main() -> None:
    imports = {"env": {"host_log": host_log, "host_string": host_string, "host_mul": host_mul}}
    async with await beamr.start(BINARY, imports=imports) as wasm:
        await beamr.call(wasm, "log_greeting", [await io.write_string(wasm, "imports")])
        print(await beamr.call(wasm, "host_string_len", []))  # [14]
        print(await beamr.call(wasm, "mul_via_host", [6, 7]))  # [42]


anyio.run(main)
