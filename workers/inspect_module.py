"""``python -m workers.inspect_module < FILE.wasm``: describe a module as JSON, without
instantiating it (nothing in it runs). Used by ``beamr inspect``."""

from __future__ import annotations

import json
import sys
from typing import Any

import wasmtime

from workers.wasmtime_worker import WASM_MAGIC, _trap_message, signature


def _extern(ty: Any) -> dict[str, Any]:
    if isinstance(ty, wasmtime.FuncType):
        return {"kind": "func", "signature": signature(ty)}
    if isinstance(ty, wasmtime.MemoryType):
        return {
            "kind": "memory",
            "signature": "",
            "min_pages": ty.limits.min,
            "max_pages": ty.limits.max,
            "memory64": bool(ty.is_64),
        }
    if isinstance(ty, wasmtime.GlobalType):
        return {"kind": "global", "signature": "", "type": str(ty.content), "mutable": ty.mutable}
    if isinstance(ty, wasmtime.TableType):
        return {"kind": "table", "signature": "", "min": ty.limits.min, "max": ty.limits.max}
    return {"kind": type(ty).__name__.removesuffix("Type").lower(), "signature": ""}


def describe(binary: bytes) -> dict[str, Any]:
    if binary[:4] != WASM_MAGIC:
        raise ValueError("not a wasm binary (no \\0asm magic)")
    config = wasmtime.Config()
    config.wasm_memory64 = True
    engine = wasmtime.Engine(config)
    try:
        module = wasmtime.Module(engine, binary)
    except wasmtime.WasmtimeError as exc:
        raise ValueError(_trap_message(exc)) from None
    imports = [
        {"module": i.module, "name": i.name or "", **_extern(i.type)} for i in module.imports
    ]
    exports = [{"name": e.name, **_extern(e.type)} for e in module.exports]
    memories = [e for e in exports + imports if e["kind"] == "memory"]
    return {
        "size": len(binary),
        "arch": "wasm64" if any(m["memory64"] for m in memories) else "wasm32",
        "imports": imports,
        "exports": exports,
    }


def main() -> int:
    try:
        print(json.dumps(describe(sys.stdin.buffer.read())))
    except ValueError as exc:
        print(json.dumps({"error": str(exc)}))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
