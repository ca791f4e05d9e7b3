# examples/programs.py
from pathlib import Path

import anyio

import beamr

PROG = (Path(__file__).parent.parent / "wasm_fixtures" / "prog.wasm").read_bytes()


async def main() -> None:
    done = await beamr.run(PROG, args=["prog", "cat"], stdin=b"hello, stdin\n")
    print(done.status, done.stdout)  # 0 b'hello, stdin\n'

    done = await beamr.run(PROG, args=["prog", "exit", "3"])
    print(done.status, done.stdout, done.stderr)  # 3 b'bye\n' b'err\n'

    def show(stream: str, data: bytes) -> None:  # output as the program writes it
        print(stream, data)

    await beamr.run(PROG, args=["prog", "mix"], on_output=show)

    async with beamr.Pool(PROG, size=2, wasi=True) as pool:  # warm, one run each
        done = await pool.run(args=["prog", "count"], stdin=b"x" * 1000)
        print(done.stdout)  # b'1000\n'


anyio.run(main)
