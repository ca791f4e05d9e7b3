"""WASI preview1 in Python, for wasm32 and for memory64 (emscripten's wasm64) guests.

wasmtime's own WASI (``Linker.define_wasi``) serves wasm32 modules only; this package
serves both flavours from one table (:mod:`.abi`), answering as wasmtime's WASI
answers. Paths resolve beneath their preopened directory with ``openat2`` only
(:mod:`.resolve`). Nothing here imports wasmtime: the worker links
:meth:`Preview1.functions` into its linker.

Layout: :mod:`.abi` (signatures, layouts, errno), :mod:`.guest` (checked memory),
:mod:`.config`, :mod:`.fdtable`, :mod:`.resolve`, and the functions in
:mod:`.procs`, :mod:`.files` and :mod:`.paths`, put together in :mod:`.preview1`.
"""

from workers.wasi_preview1.abi import signatures
from workers.wasi_preview1.config import (
    Config,
    ConfigError,
    Exit,
    Interrupted,
    Preopen,
    Trap,
    close_preopens,
    open_preopens,
)
from workers.wasi_preview1.guest import Memory
from workers.wasi_preview1.preview1 import Preview1

__all__ = [
    "Config",
    "ConfigError",
    "Exit",
    "Interrupted",
    "Memory",
    "Preopen",
    "Preview1",
    "Trap",
    "close_preopens",
    "open_preopens",
    "signatures",
]
