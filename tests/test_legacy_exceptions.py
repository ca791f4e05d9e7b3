"""Modules with legacy exception handling run through beamr: translated on load
(workers.exnref), compiled, cached under a key that names the translator's version,
in every start mode. The translation itself is tested in test_exnref.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

import beamr
from beamr import protocol as p
from workers import compiled, exnref, module_cache

from .conftest import uleb, wasm, wasm_section

pytestmark = pytest.mark.anyio

LEGACY = wasm("exnref_basic")
ORACLE = wasm("exnref_basic.binaryen")  # binaryen's translation of the same module


async def behaviour(binary: bytes) -> dict[tuple[str, int], Any]:
    """Every export's result (or trap code) for a few inputs, with what it logged."""
    logged: list[int] = []
    seen: dict[tuple[str, int], Any] = {}
    imports = {"env": {"log": lambda instance, value: logged.append(value)}}
    async with await beamr.start(binary, imports=imports) as instance:
        for export in instance.exports:
            if export.kind != "func":
                continue
            for x in range(4):
                logged.clear()
                try:
                    result: Any = await beamr.call(instance, export.name, [x])
                except beamr.Trap as exc:
                    result = ("trap", exc.code)
                seen[(export.name, x)] = (result, list(logged))
    return seen


async def test_a_legacy_module_behaves_as_binaryens_translation(start_mode: str) -> None:
    ours, theirs = await behaviour(LEGACY), await behaviour(ORACLE)
    assert ours == theirs
    assert len(ours) == 18 * 4
    assert ("trap", "uncaught_exception") in [result for result, _ in ours.values()]


async def test_the_translation_is_cached_and_used_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BEAMR_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(beamr._forkserver, "METHOD", "process")
    sources = []
    for _ in range(2):
        async with await beamr.start(LEGACY, imports={"env": {"log": lambda *a: None}}) as inst:
            sources.append(await inst.request(p.Probe("module_source")))
            assert await beamr.call(inst, "multi", [1]) == [2011]
    assert sources == ["compiled", "cache"]
    assert len([path async for path in anyio.Path(tmp_path).glob("*.cwasm")]) == 1


def test_the_cache_key_names_the_translators_version(monkeypatch: pytest.MonkeyPatch) -> None:
    digest = b"\x01" * 32
    before = module_cache.cache_key(digest, compiled.engine_flags({}))
    assert compiled.engine_flags({})["exnref"] == exnref.VERSION
    monkeypatch.setattr(exnref, "VERSION", exnref.VERSION + 1)
    assert module_cache.cache_key(digest, compiled.engine_flags({})) != before


def malformed_legacy_module() -> bytes:
    """One function: ``try ... delegate 7``, a delegate to a label that does not exist."""
    body = b"\x00" + b"\x06\x40" + b"\x01" + b"\x18\x07" + b"\x0b"  # no locals; try; nop
    code = uleb(len(body)) + body
    return (
        p.WASM_MAGIC
        + b"\x01\x00\x00\x00"
        + wasm_section(1, b"\x01\x60\x00\x00")  # () -> ()
        + wasm_section(3, b"\x01\x00")
        + wasm_section(7, b"\x01\x01f\x00\x00")
        + wasm_section(10, b"\x01" + code)
    )


async def test_a_legacy_module_that_cannot_be_translated_is_invalid() -> None:
    binary = malformed_legacy_module()
    with pytest.raises(exnref.TranslationError):
        exnref.translate(binary)
    with pytest.raises(beamr.InvalidModule, match="cannot translate its exceptions"):
        await beamr.start(binary)
