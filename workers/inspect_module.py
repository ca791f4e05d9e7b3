"""``python -m workers.inspect_module < FILE.wasm``: describe a module as JSON, without
instantiating it (nothing in it runs). Used by ``beamr inspect``."""

from __future__ import annotations

import json
import sys
from typing import Any

import wasmtime

from beamr.protocol import WASM_MAGIC
from workers import wasm_binary
from workers.backend import CommandFailed
from workers.compiled import signature, translated
from workers.wasmtime_raw import trap_message


def _extern(ty: Any, types: Any) -> dict[str, Any]:
    """The entry for an import or export: ``ty`` (wasmtime's) for limits, ``types``
    (the binary's own reading) for value types, which wasmtime cannot always name."""
    if isinstance(ty, wasmtime.FuncType):
        params, results = types
        return {"kind": "func", "signature": signature(params, results)}
    if isinstance(ty, wasmtime.MemoryType):
        return {
            "kind": "memory",
            "signature": "",
            "min_pages": ty.limits.min,
            "max_pages": ty.limits.max,
            "memory64": bool(ty.is_64),
        }
    if isinstance(ty, wasmtime.GlobalType):
        value_type, mutable = types
        return {"kind": "global", "signature": "", "type": value_type, "mutable": mutable}
    if isinstance(ty, wasmtime.TableType):
        return {"kind": "table", "signature": "", "min": ty.limits.min, "max": ty.limits.max}
    return {"kind": type(ty).__name__.removesuffix("Type").lower(), "signature": ""}


def describe(binary: bytes) -> dict[str, Any]:
    if binary[:4] != WASM_MAGIC:
        raise ValueError("not a wasm binary (no \\0asm magic)")
    config = wasmtime.Config()
    config.wasm_memory64 = True
    config.wasm_exceptions = True
    engine = wasmtime.Engine(config)
    try:
        module = wasmtime.Module(engine, translated(binary))
    except CommandFailed as exc:
        raise ValueError(exc.text) from None
    except wasmtime.WasmtimeError as exc:
        raise ValueError(trap_message(exc)) from None
    shape = wasm_binary.shape(binary)
    imports = [
        {"module": i.module, "name": i.name or "", **_extern(i.type, shape.type_of(kind, index))}
        for i, (_, _, kind, index) in zip(module.imports, shape.imports, strict=True)
    ]
    exports = [
        {"name": e.name, **_extern(e.type, shape.type_of(kind, index))}
        for e, (_, kind, index) in zip(module.exports, shape.exports, strict=True)
    ]
    memories = [e for e in exports + imports if e["kind"] == "memory"]
    return {
        "size": len(binary),
        "arch": "wasm64" if any(m["memory64"] for m in memories) else "wasm32",
        "imports": imports,
        "exports": exports,
    }


def main(argv: list[str] | None = None) -> int:
    try:
        print(json.dumps(describe(sys.stdin.buffer.read())))
    except ValueError as exc:
        print(json.dumps({"error": str(exc)}))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
