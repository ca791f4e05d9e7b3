# examples/cluster.py
from pathlib import Path

import anyio

import beamr
from beamr import cluster, io

BINARY = (Path(__file__).parent.parent / "wasm_fixtures" / "calling.wasm").read_bytes()


def host_mul(wasm: beamr.Instance, a: int, b: int) -> int:
    return a * b  # runs on the node that hosts the instance (pickled there by value)


async def main() -> None:
    # None: a local Ray, on loopback only, shut down when the block ends;
    # else the address of a running cluster's head, "host:6379"
    async with await cluster.connect() as c:
        wasm = await c.start(BINARY, imports={"env": {"host_mul": host_mul}})
        name = await io.write_string(wasm, "cluster")
        (greeting,) = await beamr.call(wasm, "greet", [name])
        print((await io.read_string(wasm, greeting)).decode())  # Hello, cluster!
        print(await beamr.call(wasm, "mul_via_host", [6, 7]))  # [42]
        for node in c.nodes:  # one node here; on a cluster, the instance moves live
            await c.move(wasm, node)
        print(await io.read_string(wasm, greeting))  # b'Hello, cluster!'
        await beamr.stop(wasm)


anyio.run(main)
