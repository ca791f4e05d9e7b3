"""The compiled-module cache: compile a module once, then only load it.

Entries live in a directory of the user's (``~/.cache/beamr`` by default; the parent
chooses it and passes it in the ``init`` options), one file per module and engine
configuration, named by its key: a SHA-256 over the wasm bytes, the wasmtime build and
the configuration flags that change the compiled code. A file holds a magic line, its
own key, the SHA-256 of the payload and the payload (``Module.serialize``). An entry
is used only for the key it names inside: a file copied under another module's name
is a miss, never another module's code.

Loading a compiled module runs native code from that file, so the cache is only
trusted where nobody else can write: the directory must belong to this user and not
be writable by group or others, and so must the file. A file that is corrupt,
truncated, from another wasmtime or another configuration, or that wasmtime refuses,
is a miss: the module is compiled again and the file rewritten (atomically: written
aside, then renamed). Any problem with the cache itself (read-only, full, foreign
owner) is a miss too, never an error: the cache only ever saves time.

The directory is kept under a size bound (``max_bytes``, the parent's
``BEAMR_CACHE_MAX_BYTES``, 1 GiB by default): after each store, the least recently
used entries go (a load marks its entry used). Files a worker left half-written when
it was stopped are removed once they are a few minutes old.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import wasmtime

MAGIC: Final = b"beamr compiled module v2\n"
_DIGEST: Final = 32
_KEY_LENGTH: Final = 64  # hex SHA-256
#: the bound of the cache directory when the parent gives none
DEFAULT_MAX_BYTES: Final = 1 << 30
#: how old a temporary file must be before it is taken for a stopped worker's
STALE_TEMPORARY: Final = 600.0
#: bumped whenever what a module is compiled from changes (a translation on load)
FORMAT: Final = 2


def _runtime_identity() -> str:
    """Which wasmtime this is: its native library's path, size and mtime. (Asking
    importlib.metadata for the version would cost every worker its imports; wasmtime
    itself also refuses artifacts of another build, so this only avoids thrashing.)"""
    try:
        from wasmtime import _ffi

        path = _ffi.dll._name
        info = os.stat(path)
        return f"{path}:{info.st_size}:{info.st_mtime_ns}"
    except Exception:  # pragma: no cover - another wasmtime-py layout
        return f"wasmtime-py at {os.path.dirname(wasmtime.__file__)}"


WASMTIME_VERSION: Final = _runtime_identity()


def cache_key(digest: bytes, flags: Mapping[str, Any]) -> str:
    """The entry name for the module whose SHA-256 is ``digest``, compiled with these
    engine flags by this wasmtime."""
    h = hashlib.sha256()
    h.update(f"beamr cache format {FORMAT}\nwasmtime {WASMTIME_VERSION}\n".encode())
    for name in sorted(flags):
        h.update(f"{name}={flags[name]!r}\n".encode())
    h.update(digest)
    return h.hexdigest()


def _private(st: os.stat_result) -> bool:
    return st.st_uid == os.getuid() and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _directory(path: str) -> Path | None:
    """The cache directory, created private if missing; None if it is not safe."""
    directory = Path(path)
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = directory.stat()
    except OSError:
        return None
    return directory if stat.S_ISDIR(info.st_mode) and _private(info) else None


def load(engine: wasmtime.Engine, path: str, key: str) -> wasmtime.Module | None:
    """The cached module, or None (a miss) if absent, unsafe, damaged, of another key,
    or refused."""
    directory = _directory(path)
    if directory is None:
        return None
    entry = directory / f"{key}.cwasm"
    try:
        fd = os.open(entry, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as f:
            if not _private(os.fstat(f.fileno())):
                return None
            data = f.read()
    except OSError:
        return None
    head = len(MAGIC) + _KEY_LENGTH + _DIGEST
    if len(data) <= head or not data.startswith(MAGIC):
        return None
    if data[len(MAGIC) : len(MAGIC) + _KEY_LENGTH] != key.encode():
        return None  # another module's entry under this name
    payload = memoryview(data)[head:]
    if hashlib.sha256(payload).digest() != data[head - _DIGEST : head]:
        return None
    try:
        module = wasmtime.Module.deserialize(engine, bytes(payload))
    except Exception:  # another engine configuration or wasmtime build
        return None
    with contextlib.suppress(OSError):
        os.utime(entry)  # used: the last to go when the cache is trimmed
    return module


def store(path: str, key: str, module: wasmtime.Module, max_bytes: int = DEFAULT_MAX_BYTES) -> bool:
    """Write the entry (best effort), then trim the cache; whether it was written."""
    directory = _directory(path)
    if directory is None:
        return False
    try:
        payload = module.serialize()
        fd, temp = tempfile.mkstemp(prefix=f".{key}.", dir=directory)
    except Exception:
        return False
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(MAGIC)
            f.write(key.encode())
            f.write(hashlib.sha256(payload).digest())
            f.write(payload)
        os.replace(temp, directory / f"{key}.cwasm")
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        return False
    trim(directory, max_bytes, keep=f"{key}.cwasm")
    return True


def trim(directory: Path, max_bytes: int, keep: str = "") -> None:
    """Remove stale temporary files, then the least recently used entries until the
    directory holds at most ``max_bytes`` (``keep`` stays whatever its size)."""
    now = time.time()
    entries: list[tuple[float, int, Path]] = []
    with contextlib.suppress(OSError):
        for item in directory.iterdir():
            try:
                info = item.lstat()
            except OSError:
                continue
            if not stat.S_ISREG(info.st_mode):
                continue
            if item.name.startswith("."):
                if now - info.st_mtime > STALE_TEMPORARY:
                    with contextlib.suppress(OSError):
                        item.unlink()
            elif item.name.endswith(".cwasm"):
                entries.append((info.st_mtime, info.st_size, item))
    total = sum(size for _, size, _ in entries)
    for _, size, item in sorted(entries, key=lambda entry: entry[0]):
        if total <= max_bytes:
            break
        if item.name == keep:
            continue
        with contextlib.suppress(OSError):
            item.unlink()
            total -= size
