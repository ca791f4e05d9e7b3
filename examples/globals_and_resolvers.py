# examples/globals_and_resolvers.py
from pathlib import Path

import anyio

import beamr

FIXTURES = Path(__file__).parent.parent / "wasm_fixtures"


def host_mul(ctx: beamr.HostContext, a: int, b: int) -> int:
    return a * b  # runs inside the worker: no round trip to this process


async def resolver(
    wasm: beamr.Instance, module: str, name: str, args: list[int | float], signature: str
) -> int | float:
    print("resolving", f"{module}.{name}{signature}", args)  # one callable, every import
    return args[0] * 2


async def main() -> None:
    async with await beamr.start((FIXTURES / "globals.wasm").read_bytes()) as wasm:
        await beamr.set_global(wasm, "g_i32", 41)
        await beamr.call(wasm, "bump", [])
        print(await beamr.get_global(wasm, "g_i32"))  # 42

    binary = (FIXTURES / "imports.wasm").read_bytes()
    async with await beamr.start(binary, imports=resolver) as wasm:
        print(await beamr.call(wasm, "call_i32", [21]))  # [42]

    binary = (FIXTURES / "calling.wasm").read_bytes()
    imports = {"env": {"host_mul": "globals_and_resolvers:host_mul"}}  # this very file
    async with await beamr.start(binary, imports=imports, wasi=True) as wasm:
        print(await beamr.call(wasm, "mul_via_host", [6, 7]))  # [42]


if __name__ == "__main__":  # the worker imports this file for host_mul: no run there
    anyio.run(main)
