"""beamr: WebAssembly memory and execution for async Python.

Every instance runs in its own worker process that owns the runtime (wasmtime); the
parent drives it with msgpack commands over a socket, as HyperBEAM's ``hb_beamr``
drives its port driver. :mod:`beamr.io` is the counterpart of ``hb_beamr_io``.

>>> wasm = await beamr.start(binary, imports={"env": {"log": log}})
>>> await beamr.call(wasm, "fac", [5.0])
[120.0]
>>> await beamr.stop(wasm)
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from beamr.errors import (
    BeamrError,
    CallTimeout,
    ExportNotFound,
    ImportHandlerError,
    InstanceClosed,
    InvalidModule,
    MallocFailed,
    MissingImport,
    NestingTooDeep,
    OutOfBounds,
    ProcExit,
    ProtocolViolation,
    SandboxError,
    StartTrapped,
    Trap,
    WorkerCrashed,
)
from beamr.protocol import MAX_NESTING
from beamr.types import Completed, Export, HostContext, Import, Limits, Output, WasiConfig

if TYPE_CHECKING:
    from beamr import io
    from beamr._forkserver import fork_server
    from beamr.api import call, deserialize, get_global, serialize, set_global, start, stop
    from beamr.instance import Instance
    from beamr.pool import Pool
    from beamr.programs import run

__all__ = [
    "BeamrError",
    "CallTimeout",
    "Completed",
    "Export",
    "ExportNotFound",
    "HostContext",
    "Import",
    "ImportHandlerError",
    "Instance",
    "InstanceClosed",
    "InvalidModule",
    "Limits",
    "MAX_NESTING",
    "MallocFailed",
    "MissingImport",
    "NestingTooDeep",
    "OutOfBounds",
    "Output",
    "Pool",
    "ProcExit",
    "ProtocolViolation",
    "SandboxError",
    "StartTrapped",
    "Trap",
    "WasiConfig",
    "WorkerCrashed",
    "call",
    "deserialize",
    "fork_server",
    "get_global",
    "io",
    "run",
    "serialize",
    "set_global",
    "start",
    "stop",
]

__version__ = "0.2.0"

# Silent by default: applications opt in with logging.getLogger("beamr").
logging.getLogger("beamr").addHandler(logging.NullHandler())

#: Loaded on first use: a worker imports ``beamr.protocol``, which runs this file,
#: and must not pay for anyio, asyncio and the parent's machinery it never uses.
_LAZY = {
    "io": "beamr.io",
    "fork_server": "beamr._forkserver",
    "call": "beamr.api",
    "deserialize": "beamr.api",
    "get_global": "beamr.api",
    "set_global": "beamr.api",
    "run": "beamr.programs",
    "serialize": "beamr.api",
    "stop": "beamr.api",
    "Instance": "beamr.instance",
    "start": "beamr.api",
    "Pool": "beamr.pool",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'beamr' has no attribute {name!r}")
    loaded = importlib.import_module(module)
    value = loaded if name == "io" else getattr(loaded, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
