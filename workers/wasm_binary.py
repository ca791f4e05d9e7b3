"""Just enough of the WebAssembly binary format to read what wasmtime does not tell.

- The function types of imports and exports, by value type: wasmtime's C API
  aborts the process when asked the kind of a ``v128`` (so a hostile module could
  kill a worker by exporting one), and describing exports through the instance is
  quadratic in their number.
- The declared sizes of tables, which the memory budget counts and wasmtime only
  shows for exported ones.

The module has been validated by wasmtime before this runs, so a malformed one is a
bug here: :class:`Malformed` all the same, never an IndexError.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from beamr.protocol.constants import WASM_MAGIC

__all__ = ["Malformed", "Reader", "Shape", "sections", "shape", "table_minimums"]

SECTION_TYPE = 1
SECTION_IMPORT = 2
SECTION_FUNCTION = 3
SECTION_TABLE = 4
SECTION_GLOBAL = 6
SECTION_EXPORT = 7

#: value types by their byte; every other reference type is "other"
VALUE_TYPES = {
    0x7F: "i32",
    0x7E: "i64",
    0x7D: "f32",
    0x7C: "f64",
    0x7B: "v128",
    0x70: "funcref",
    0x6F: "externref",
}
EXTERN_KINDS = {0: "func", 1: "table", 2: "memory", 3: "global", 4: "tag"}

#: reference types written with a heap type after them (typed function references)
_REF_WITH_HEAP_TYPE = (0x63, 0x64)


class Malformed(ValueError):
    """The bytes are not the WebAssembly binary they claim to be."""


class Reader:
    """A cursor over bytes, reading the binary format's primitives."""

    __slots__ = ("data", "end", "pos")

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None) -> None:
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end

    def byte(self) -> int:
        if self.pos >= self.end:
            raise Malformed(f"unexpected end at byte {self.pos}")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def uleb(self, bits: int = 32) -> int:
        result, _, _ = self._leb(bits)
        if result >> bits:
            raise Malformed(f"LEB128 integer out of range at byte {self.pos}")
        return result

    def sleb(self, bits: int) -> int:
        result, shift, last = self._leb(bits)
        return result - (1 << shift) if last & 0x40 else result

    def _leb(self, bits: int) -> tuple[int, int, int]:
        """The LEB128 digits as an unsigned value, its width in bits, its last byte."""
        result = shift = 0
        while True:
            byte = self.byte()
            result |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return result, shift, byte
            if shift >= bits + 7:
                raise Malformed(f"LEB128 integer too long at byte {self.pos}")

    def skip(self, count: int) -> None:
        if count < 0 or self.pos + count > self.end:
            raise Malformed(f"unexpected end at byte {self.pos}")
        self.pos += count

    def name(self) -> bytes:
        length = self.uleb()
        start = self.pos
        self.skip(length)
        return self.data[start : self.pos]


def sections(data: bytes) -> Iterator[tuple[int, int, int]]:
    """``(id, start, end)`` of each section, in order."""
    if data[:4] != WASM_MAGIC or len(data) < 8:
        raise Malformed("not a wasm binary")
    reader = Reader(data, 8)
    while reader.pos < reader.end:
        section_id = reader.byte()
        size = reader.uleb()
        start = reader.pos
        reader.skip(size)
        yield section_id, start, reader.pos


def _reference_type(reader: Reader) -> None:
    if reader.byte() in _REF_WITH_HEAP_TYPE:
        reader.sleb(33)


def _table_minimum(reader: Reader) -> int:
    _reference_type(reader)
    flags = reader.byte()
    bits = 64 if flags & 0x04 else 32
    minimum = reader.uleb(bits)
    if flags & 0x01:
        reader.uleb(bits)
    return minimum


def _limits(reader: Reader) -> None:
    flags = reader.byte()
    bits = 64 if flags & 0x04 else 32
    reader.uleb(bits)
    if flags & 0x01:
        reader.uleb(bits)
    if flags & 0x08:  # custom page size
        reader.uleb()


def _skip_constant_expression(reader: Reader) -> None:
    # Only constant instructions: none of them holds a 0x0b byte outside its LEB
    # immediates except i32/i64 constants, whose LEBs are read as such.
    while True:
        opcode = reader.byte()
        if opcode == 0x0B:
            return
        if opcode in (0x41, 0x23, 0xD2) or opcode == 0x42:  # i32.const, global.get, ref.func
            reader.sleb(64)
        elif opcode == 0x44:  # f64.const
            reader.skip(8)
        elif opcode == 0x43:  # f32.const
            reader.skip(4)
        elif opcode == 0xD0:  # ref.null heaptype
            reader.sleb(33)
        elif opcode in (0x6A, 0x6B, 0x6C, 0x7C, 0x7D, 0x7E):  # extended-const arithmetic
            continue
        elif opcode == 0xFD:  # SIMD: v128.const and its 16 bytes is the constant one
            sub = reader.uleb()
            if sub != 0x0C:
                raise Malformed(f"unsupported SIMD instruction {sub} in a constant expression")
            reader.skip(16)
        elif opcode == 0xFB:  # GC constant instructions: opcode, then type index
            sub = reader.uleb()
            if sub in (0, 1, 6, 7, 8):
                reader.uleb()
                if sub == 8:
                    reader.uleb()
        else:
            raise Malformed(f"unsupported instruction 0x{opcode:02x} in a constant expression")


def table_minimums(data: bytes) -> list[int]:
    """The declared minimum size of every table, imported and defined."""
    minimums: list[int] = []
    for section_id, start, end in sections(data):
        reader = Reader(data, start, end)
        if section_id == SECTION_IMPORT:
            for _ in range(reader.uleb()):
                reader.name()
                reader.name()
                kind = reader.byte()
                if kind == 0x00:  # function: a type index
                    reader.uleb()
                elif kind == 0x01:
                    minimums.append(_table_minimum(reader))
                elif kind == 0x02:
                    _limits(reader)
                elif kind == 0x03:  # global: value type, mutability
                    _reference_type(reader)
                    reader.byte()
                elif kind == 0x04:  # tag: attribute, type index
                    reader.byte()
                    reader.uleb()
                else:
                    raise Malformed(f"unknown import kind 0x{kind:02x}")
        elif section_id == SECTION_TABLE:
            for _ in range(reader.uleb()):
                if reader.data[reader.pos : reader.pos + 2] == b"\x40\x00":
                    reader.skip(2)
                    minimums.append(_table_minimum(reader))
                    _skip_constant_expression(reader)
                else:
                    minimums.append(_table_minimum(reader))
    return minimums


def _value_type(reader: Reader) -> str:
    byte = reader.byte()
    if byte in _REF_WITH_HEAP_TYPE:
        reader.sleb(33)
        return "other"
    return VALUE_TYPES.get(byte, "other")


def _composite_type(reader: Reader) -> tuple[list[str], list[str]] | None:
    """A function type's (params, results); None for a struct or an array type."""
    form = reader.byte()
    if form == 0x60:
        params = [_value_type(reader) for _ in range(reader.uleb())]
        results = [_value_type(reader) for _ in range(reader.uleb())]
        return params, results
    if form == 0x5F:  # struct: fields of (storage type, mutability)
        for _ in range(reader.uleb()):
            _storage_type(reader)
            reader.byte()
        return None
    if form == 0x5E:  # array: one field
        _storage_type(reader)
        reader.byte()
        return None
    raise Malformed(f"unknown composite type 0x{form:02x}")


def _storage_type(reader: Reader) -> None:
    if reader.data[reader.pos : reader.pos + 1] in (b"\x78", b"\x77"):  # i8, i16
        reader.byte()
    else:
        _value_type(reader)


def _sub_type(reader: Reader) -> tuple[list[str], list[str]] | None:
    if reader.data[reader.pos : reader.pos + 1] in (b"\x50", b"\x4f"):  # sub, sub final
        reader.byte()
        for _ in range(reader.uleb()):
            reader.uleb()
    return _composite_type(reader)


FuncType = tuple[list[str], list[str]]
#: a global's value type and whether it is mutable
GlobalType = tuple[str, bool]


@dataclass
class Shape:
    """A module's function types, imports, exports and globals, by value type."""

    #: each type index: (params, results), or None for a struct or array type
    types: list[FuncType | None] = field(default_factory=list)
    #: the type index of each function index (imported functions first)
    functions: list[int] = field(default_factory=list)
    #: the type of each global index (imported globals first)
    globals: list[GlobalType] = field(default_factory=list)
    #: (module, name, kind, index in its kind's index space), in order
    imports: list[tuple[str, str, str, int]] = field(default_factory=list)
    #: (name, kind, index in its kind's index space), in order
    exports: list[tuple[str, str, int]] = field(default_factory=list)

    def function_type(self, function: int) -> FuncType:
        if not 0 <= function < len(self.functions):
            raise Malformed(f"there is no function {function}")
        index = self.functions[function]
        found = self.types[index] if 0 <= index < len(self.types) else None
        if found is None:
            raise Malformed(f"type {index} is not a function type")
        return found

    def global_type(self, index: int) -> GlobalType:
        if not 0 <= index < len(self.globals):
            raise Malformed(f"there is no global {index}")
        return self.globals[index]

    def type_of(self, kind: str, index: int) -> FuncType | GlobalType | None:
        """The type of the function or global at ``index``; None for other kinds."""
        if kind == "func":
            return self.function_type(index)
        if kind == "global":
            return self.global_type(index)
        return None


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Malformed(f"a name is not UTF-8: {exc}") from None


def _global_type(reader: Reader) -> GlobalType:
    kind = _value_type(reader)
    return kind, bool(reader.byte() & 1)


def shape(data: bytes) -> Shape:
    """The types of the module's imports, exports and globals (see :class:`Shape`)."""
    result = Shape()
    counts = dict.fromkeys(EXTERN_KINDS.values(), 0)
    for section_id, start, end in sections(data):
        reader = Reader(data, start, end)
        if section_id == SECTION_TYPE:
            for _ in range(reader.uleb()):
                if reader.data[reader.pos : reader.pos + 1] == b"\x4e":  # a recursive group
                    reader.byte()
                    result.types.extend(_sub_type(reader) for _ in range(reader.uleb()))
                else:
                    result.types.append(_sub_type(reader))
        elif section_id == SECTION_IMPORT:
            for _ in range(reader.uleb()):
                module, name = _text(reader.name()), _text(reader.name())
                kind = reader.byte()
                if kind == 0x00:
                    result.functions.append(reader.uleb())
                elif kind == 0x01:
                    _table_minimum(reader)
                elif kind == 0x02:
                    _limits(reader)
                elif kind == 0x03:
                    result.globals.append(_global_type(reader))
                elif kind == 0x04:
                    reader.byte()
                    reader.uleb()
                else:
                    raise Malformed(f"unknown import kind 0x{kind:02x}")
                kind_name = EXTERN_KINDS[kind]
                result.imports.append((module, name, kind_name, counts[kind_name]))
                counts[kind_name] += 1
        elif section_id == SECTION_FUNCTION:
            result.functions.extend(reader.uleb() for _ in range(reader.uleb()))
        elif section_id == SECTION_GLOBAL:
            for _ in range(reader.uleb()):
                result.globals.append(_global_type(reader))
                _skip_constant_expression(reader)
        elif section_id == SECTION_EXPORT:
            for _ in range(reader.uleb()):
                name = _text(reader.name())
                kind = reader.byte()
                index = reader.uleb()
                if kind not in EXTERN_KINDS:
                    raise Malformed(f"unknown export kind 0x{kind:02x}")
                result.exports.append((name, EXTERN_KINDS[kind], index))
    return result
