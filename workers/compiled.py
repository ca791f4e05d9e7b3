"""Where a worker's compiled module comes from: the fork-server, the cache, or a compile.

The engine settings that change compiled code (:func:`engine_flags`) are part of the
compiled-module cache key, so an entry is only ever used by an engine that could have
made it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, Final

import wasmtime

from beamr import protocol as p
from workers import exnref, module_cache
from workers.backend import CommandFailed
from workers.budget import BUDGET
from workers.wasmtime_raw import trap_message

__all__ = ["PRELOADED", "engine_flags", "load", "make_engine", "signature", "translated"]

#: (cache key, engine, module) prepared by the fork-server before it forked this
#: worker: used when the worker's own module has that key (see workers/zygote.py)
PRELOADED: tuple[str, wasmtime.Engine, wasmtime.Module] | None = None

#: how the module came to the worker, for ``probe module_source``
SOURCES: Final = ("fork-server", "cache", "compiled")


def signature(params: list[str], results: list[str]) -> str:
    """HyperBEAM's signature string: ``(ii)i`` for (i32, i32) -> i32."""

    def chars(types: list[str]) -> str:
        return "".join(p.SIGNATURE_CHARS.get(t, p.OTHER_TYPE_CHAR) for t in types)

    return f"({chars(params)}){chars(results)}"


def engine_flags(options: Mapping[str, Any]) -> dict[str, Any]:
    """The engine settings that change compiled code, from the ``init`` options."""
    limits = options.get("limits") or {}
    return {
        "memory64": True,
        "exceptions": True,
        "epoch_interruption": True,
        "consume_fuel": limits.get("fuel") is not None,
        # a module with legacy exception handling is compiled from its translation:
        # a fixed translator must never meet an entry made by an older one
        "exnref": exnref.VERSION,
    }


def make_engine(flags: Mapping[str, Any]) -> wasmtime.Engine:
    config = wasmtime.Config()
    config.wasm_memory64 = bool(flags["memory64"])
    # Standard exception handling (exnref); modules with the legacy opcodes are
    # translated to it first (workers.exnref).
    config.wasm_exceptions = bool(flags.get("exceptions"))
    config.epoch_interruption = bool(flags["epoch_interruption"])
    config.consume_fuel = bool(flags["consume_fuel"])
    # One thread: a compile on many leaves a pool of threads behind, and every thread
    # of a worker must confine itself (workers.sandbox); the fork-server must not fork
    # with a thread around.
    config.parallel_compilation = False
    # Memories come from the budget's creator (workers.budget), not from memory
    # images: no copy-on-write image to build, and so no memfd (which the sandbox denies).
    config.memory_init_cow = False
    BUDGET.attach(config)
    return wasmtime.Engine(config)


def translated(binary: bytes) -> bytes:
    """``binary`` with legacy exception handling (``try``/``catch``/``delegate``, which
    wasmtime does not run) translated to the standard form (:mod:`workers.exnref`);
    ``binary`` itself when it has none."""
    try:
        return exnref.translate(binary)
    except exnref.TranslationError as exc:
        raise CommandFailed("invalid_module", f"cannot translate its exceptions: {exc}") from None


def load(binary: bytes, options: Mapping[str, Any]) -> tuple[wasmtime.Engine, wasmtime.Module, str]:
    """The engine and compiled module for ``binary``, and where the module came from
    (one of :data:`SOURCES`). A module that does not compile is ``invalid_module``."""
    flags = engine_flags(options)
    key = module_cache.cache_key(hashlib.sha256(binary).digest(), flags)
    if PRELOADED is not None and PRELOADED[0] == key:  # shared copy-on-write
        _, engine, module = PRELOADED
        return engine, module, "fork-server"
    engine = make_engine(flags)
    cache_dir = options.get("cache_dir")
    if cache_dir:
        cached = module_cache.load(engine, cache_dir, key)
        if cached is not None:
            return engine, cached, "cache"
    try:
        module = wasmtime.Module(engine, translated(binary))
    except wasmtime.WasmtimeError as exc:
        raise CommandFailed("invalid_module", trap_message(exc)) from None
    if cache_dir:
        max_bytes = options.get("cache_max_bytes") or module_cache.DEFAULT_MAX_BYTES
        module_cache.store(cache_dir, key, module, max_bytes)
    return engine, module, "compiled"
