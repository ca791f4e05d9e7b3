# examples/sync_script.py
from pathlib import Path

import beamr.sync as bs

BINARY = (Path(__file__).parent.parent / "wasm_fixtures" / "calling.wasm").read_bytes()


def host_log(wasm: bs.Instance, ptr: int) -> None:  # handlers are plain functions
    print("logged:", bs.io.read_string(wasm, ptr).decode())


with bs.start(BINARY, imports={"env": {"host_log": host_log}}) as wasm:
    name = bs.io.write_string(wasm, "notebook")
    bs.call(wasm, "log_greeting", [name])  # logged: Hello, notebook!
    print(bs.io.size(wasm))  # 131072
