"""workers.wasm_binary against wasmtime as the oracle.

The worker reads function and global types, and table sizes, from the binary itself
(wasmtime's C API aborts on some value types and is quadratic on many exports): what
it reads must be what wasmtime reads, and bytes that are not a module must give
:class:`~workers.wasm_binary.Malformed`, never another exception. wasmtime is imported
here only as the oracle; beamr's parent never imports it.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest
import wasmtime
from hypothesis import given
from hypothesis import strategies as st

from workers import exnref, wasm_binary
from workers.wasm_binary import Malformed, Reader

from .conftest import FIXTURES, uleb

#: every module fixture whose types wasmtime-py can describe (v128 aborts it)
MODULES = sorted(
    path
    for path in FIXTURES.glob("*.wasm")
    if path.stem not in {"bad", "wide_types", "globals"} and not path.is_symlink()
)


def oracle(binary: bytes) -> wasmtime.Module:
    """wasmtime's reading of the module; one with legacy exception handling is read
    from its translation (which appends types, and changes no import or export)."""
    config = wasmtime.Config()
    config.wasm_exceptions = True
    return wasmtime.Module(wasmtime.Engine(config), exnref.translate(binary))


def _kind(extern: Any) -> str:
    return {
        wasmtime.FuncType: "func",
        wasmtime.TableType: "table",
        wasmtime.MemoryType: "memory",
        wasmtime.GlobalType: "global",
    }[type(extern)]


def _oracle_type(extern: Any) -> Any:
    if isinstance(extern, wasmtime.FuncType):
        return ([str(t) for t in extern.params], [str(t) for t in extern.results])
    if isinstance(extern, wasmtime.GlobalType):
        return (str(extern.content), extern.mutable)
    return None


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.stem)
def test_imports_and_exports_agree_with_wasmtime(path: Path) -> None:
    binary = path.read_bytes()
    module = oracle(binary)
    shape = wasm_binary.shape(binary)

    assert [(m, n, k) for m, n, k, _ in shape.imports] == [
        (i.module, i.name, _kind(i.type)) for i in module.imports
    ]
    for (_, _, kind, index), imported in zip(shape.imports, module.imports, strict=True):
        assert shape.type_of(kind, index) == _oracle_type(imported.type)

    assert [(n, k) for n, k, _ in shape.exports] == [
        (e.name, _kind(e.type)) for e in module.exports
    ]
    for (_, kind, index), exported in zip(shape.exports, module.exports, strict=True):
        assert shape.type_of(kind, index) == _oracle_type(exported.type)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.stem)
def test_table_minimums_agree_with_wasmtime(path: Path) -> None:
    binary = path.read_bytes()
    module = oracle(binary)
    shape = wasm_binary.shape(binary)
    minimums = wasm_binary.table_minimums(binary)
    imported_tables = [i.type for i in module.imports if isinstance(i.type, wasmtime.TableType)]
    # imported tables come first in the table index space
    assert minimums[: len(imported_tables)] == [t.limits.min for t in imported_tables]
    for (_, kind, index), exported in zip(shape.exports, module.exports, strict=True):
        if isinstance(exported.type, wasmtime.TableType):
            assert kind == "table"
            assert minimums[index] == exported.type.limits.min


def test_the_fixtures_cover_every_kind() -> None:
    """The oracle tests above must see functions, globals, tables and memories, imported
    and exported, or they prove less than they claim."""
    seen_imports: set[str] = set()
    seen_exports: set[str] = set()
    for path in MODULES:
        shape = wasm_binary.shape(path.read_bytes())
        seen_imports |= {kind for _, _, kind, _ in shape.imports}
        seen_exports |= {kind for _, kind, _ in shape.exports}
    assert {"func", "memory"} <= seen_imports
    assert {"func", "global", "table", "memory"} <= seen_exports


def test_globals_wasmtime_cannot_describe_are_read_by_byte() -> None:
    shape = wasm_binary.shape((FIXTURES / "globals.wasm").read_bytes())
    kinds = {name: shape.type_of(kind, index) for name, kind, index in shape.exports}
    assert kinds["g_v128"] == ("v128", True)  # its initializer is a v128.const
    assert kinds["g_ref"] == ("funcref", True)
    assert kinds["const_i32"] == ("i32", False)
    assert kinds["g_i64"] == ("i64", True)


def test_types_wasmtime_cannot_describe_are_read_by_byte() -> None:
    shape = wasm_binary.shape((FIXTURES / "wide_types.wasm").read_bytes())
    exports = {name: (kind, index) for name, kind, index in shape.exports}
    assert shape.function_type(exports["v128_id"][1]) == (["v128"], ["v128"])
    assert shape.function_type(exports["get_ref"][1]) == ([], ["funcref"])
    imports = {name: index for _, name, _, index in shape.imports}
    assert shape.function_type(imports["takes_extern"]) == (["externref"], [])


@pytest.mark.parametrize(
    "path",
    [*MODULES, FIXTURES / "wide_types.wasm", FIXTURES / "globals.wasm"],
    ids=lambda p: p.stem,
)
def test_every_truncation_is_malformed_or_read(path: Path) -> None:
    """Cut anywhere, a module gives Malformed (or, cut at a section boundary, a
    shorter reading): never IndexError, struct.error or a hang."""
    binary = path.read_bytes()
    # every cut of a small module; about 400 of a large one, and every section's ends
    step = max(1, len(binary) // 400)
    ends = {end for _, start, end in wasm_binary.sections(binary) for end in (start, end)}
    for cut in sorted({*range(8, len(binary), step), *(e for e in ends if e < len(binary))}):
        for read in (wasm_binary.shape, wasm_binary.table_minimums):
            with contextlib.suppress(Malformed):
                read(binary[:cut])


def _sleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        done = (value == 0 and not byte & 0x40) or (value == -1 and byte & 0x40)
        out.append(byte | (0 if done else 0x80))
        if done:
            return bytes(out)


@given(st.sampled_from([32, 64]).flatmap(lambda b: st.tuples(st.just(b), st.integers(0, 2**b - 1))))
def test_uleb_reads_what_was_written(case: tuple[int, int]) -> None:
    bits, value = case
    reader = Reader(uleb(value) + b"\xff")
    assert reader.uleb(bits) == value
    assert reader.pos == len(uleb(value))


@given(st.sampled_from([32, 64]).flatmap(lambda b: st.tuples(st.just(b), st.integers(2**b, 2**70))))
def test_uleb_out_of_range_is_malformed(case: tuple[int, int]) -> None:
    bits, value = case
    with pytest.raises(Malformed):
        Reader(uleb(value)).uleb(bits)


@given(
    st.sampled_from([33, 64]).flatmap(
        lambda b: st.tuples(st.just(b), st.integers(-(2 ** (b - 1)), 2 ** (b - 1) - 1))
    )
)
def test_sleb_reads_what_was_written(case: tuple[int, int]) -> None:
    bits, value = case
    reader = Reader(_sleb(value))
    assert reader.sleb(bits) == value
    assert reader.pos == len(_sleb(value))


def test_overlong_and_unterminated_lebs_are_malformed() -> None:
    with pytest.raises(Malformed, match="too long"):
        Reader(b"\x80" * 6 + b"\x00").uleb(32)
    with pytest.raises(Malformed, match="unexpected end"):
        Reader(b"\x80\x80").uleb(32)
    with pytest.raises(Malformed, match="too long"):
        Reader(b"\xff" * 11 + b"\x7f").sleb(64)
