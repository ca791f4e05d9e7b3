"""Every wire constant of the parent-worker protocol, in one place (both sides, and
the fork-server, import them from here)."""

from __future__ import annotations

import struct
from typing import Final

__all__ = [
    "DEFAULT_MAX_FRAME_SIZE",
    "DEFAULT_PROCESS_BYTES",
    "HEADER",
    "HELLO",
    "HELLO_MAGIC",
    "INLINE_CHUNK",
    "LOCATE_ACCESS",
    "MAX_ID",
    "MAX_NESTING",
    "NUMBER_CHARS",
    "OUTPUT_STREAMS",
    "OTHER_TYPE_CHAR",
    "PROCESS_HEADROOM",
    "REPLY_MAX_FRAME_SIZE",
    "SIGNATURE_CHARS",
    "SPAWN",
    "STATUS",
    "WASM_MAGIC",
    "process_limit",
]


#: every wasm binary starts with these bytes (wasmtime also accepts WAT text: we do not)
WASM_MAGIC: Final = b"\0asm"
#: HyperBEAM's signature alphabet: one character per value type. Only the four number
#: types cross between Python and the wasm; the others appear in signatures so that a
#: caller can see why a function cannot be called.
SIGNATURE_CHARS: Final = {
    "i32": "i",
    "i64": "I",
    "f32": "f",
    "f64": "F",
    "v128": "v",
    "funcref": "r",
    "externref": "e",
}
#: the character of any other value type (anyref, exnref, typed references, ...)
OTHER_TYPE_CHAR: Final = "?"
NUMBER_CHARS: Final = frozenset("iIfF")
#: the deepest a wasm call may nest through import handlers (wasm -> handler ->
#: call -> ...): the call that would go deeper fails with ``nesting_too_deep``
MAX_NESTING: Final = 32
MAX_ID: Final = (1 << 64) - 1
HEADER: Final = struct.Struct(">I")
#: What a worker accepts from its parent: a whole module in ``init``.
DEFAULT_MAX_FRAME_SIZE: Final = (1 << 31) + 4096
#: The most payload one inline frame carries either way: larger reads, writes,
#: snapshots and outputs travel in several (or through the bulk path).
INLINE_CHUNK: Final = 8 << 20
#: What the parent accepts from a worker: a worker cannot make it buffer more.
REPLY_MAX_FRAME_SIZE: Final = INLINE_CHUNK * 2 + (64 << 10)
#: RLIMIT_DATA of a worker without ``Limits.process_bytes``: ``memory_bytes`` plus
#: the headroom, or the default. No linear memory can be larger.
DEFAULT_PROCESS_BYTES: Final = 8 << 30
PROCESS_HEADROOM: Final = 1 << 30
LOCATE_ACCESS: Final = ("read", "write")
#: the WASI output streams, by the file descriptor an ``output`` frame names
OUTPUT_STREAMS: Final = {1: "stdout", 2: "stderr"}


def process_limit(memory_bytes: int | None, process_bytes: int | None) -> int:
    """RLIMIT_DATA of a worker with these limits (the bound of any of its memories)."""
    if process_bytes is not None:
        return process_bytes
    return DEFAULT_PROCESS_BYTES if memory_bytes is None else memory_bytes + PROCESS_HEADROOM


# The fork-server's messages (workers/zygote.py, beamr/_forkserver.py)

#: a worker's first frame from the fork-server, on its own socket: magic and pid
#: (its pidfd attached)
HELLO: Final = struct.Struct(">4sI")
HELLO_MAGIC: Final = b"bmrZ"
#: a request on the control socket: this byte, then the start hint (msgpack), with the
#: worker's socket and its end of a control socket (interrupts down, status up) attached
SPAWN: Final = b"S"
#: the exit status the fork-server writes to a worker's control socket (-N: signal N)
STATUS: Final = struct.Struct(">i")
