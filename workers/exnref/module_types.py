"""The module's types as the rewriting needs them, and the function types it adds.

Rewriting a ``try`` needs to know its block type's parameters and results, the
payload types of every tag it catches, and the parameter count of the function
(to number the locals it adds). :class:`ModuleTypes` reads the type, import,
function and tag sections for that. It understands the GC type section (rec groups,
sub types, struct and array types, the custom-descriptor prefixes) only far enough
to keep type indices right: only function types are kept.

The added blocks often need a multi-value block type, e.g. ``[params] -> [tag
payload, exnref]``. Such a type is written as a type index: an identical existing
function type is reused, otherwise one is appended to the type section (appended,
so every existing type index stays valid). :func:`type_section` writes the
section with those additions.
"""

from __future__ import annotations

from .binary import TranslationError, leb, s33, skip_leb, skip_valtype, sleb, u32

#: (parameter types, result types), each type as its encoded bytes
FuncType = tuple[tuple[bytes, ...], tuple[bytes, ...]]


class ModuleTypes:
    """What the rewriting of bodies needs to know about the module's types.

    ``types`` has one entry per type index (``None`` for struct and array types),
    ``tag_types`` the type index of every tag (imported ones first), ``func_types``
    that of every defined function; ``new_types`` the function types to append to
    the type section, in index order.
    """

    def __init__(self, binary: bytes, sections: list[tuple[int, int, int, int]]) -> None:
        self.types: list[FuncType | None] = []
        self.tag_types: list[int] = []
        self.func_types: list[int] = []
        self.new_types: list[FuncType] = []
        self.type_index: dict[FuncType, int] = {}
        # entries of the type section's vector: a rec group is one entry, however
        # many types (and so type indices) it holds
        self.type_entry_count = 0
        for sid, _, start, end in sections:
            payload = binary[start:end]
            try:
                if sid == 1:
                    self._parse_types(payload)
                elif sid == 2:
                    self._parse_imports(payload)
                elif sid == 3:
                    self._parse_funcs(payload)
                elif sid == 13:
                    self._parse_tags(payload)
            except IndexError:
                raise TranslationError(f"section {sid} is truncated") from None
        for i, ft in enumerate(self.types):
            if ft is not None and ft not in self.type_index:
                self.type_index[ft] = i

    @staticmethod
    def _valtypes(b: bytes, p: int) -> tuple[tuple[bytes, ...], int]:
        n, p = u32(b, p)
        out = []
        for _ in range(n):
            q = skip_valtype(b, p)
            out.append(b[p:q])
            p = q
        return tuple(out), p

    def _parse_comptype(self, b: bytes, p: int) -> int:
        form = b[p]
        while form in (0x4C, 0x4D):  # describes / descriptor (custom descriptors)
            p = skip_leb(b, p + 1, 5)
            form = b[p]
        p += 1
        if form == 0x60:
            params, p = self._valtypes(b, p)
            results, p = self._valtypes(b, p)
            self.types.append((params, results))
            return p
        if form == 0x5F:
            n, p = u32(b, p)
            for _ in range(n):
                p = skip_valtype(b, p) + 1
        elif form == 0x5E:
            p = skip_valtype(b, p) + 1
        elif form == 0x5D:
            p = skip_leb(b, p, 5)
        else:
            raise TranslationError(f"type section: unknown type form 0x{form:02x}")
        self.types.append(None)
        return p

    def _parse_subtype(self, b: bytes, p: int) -> int:
        if b[p] in (0x50, 0x4F):
            n, p = u32(b, p + 1)
            for _ in range(n):
                p = skip_leb(b, p, 5)
        return self._parse_comptype(b, p)

    def _parse_types(self, b: bytes) -> None:
        n, p = u32(b, 0)
        for _ in range(n):
            if b[p] == 0x4E:
                m, p = u32(b, p + 1)
                for _ in range(m):
                    p = self._parse_subtype(b, p)
            else:
                p = self._parse_subtype(b, p)
        if p != len(b):
            raise TranslationError("type section: trailing bytes")
        self.type_entry_count = n

    @staticmethod
    def _skip_limits(b: bytes, p: int) -> int:
        flags = b[p]
        p = skip_leb(b, p + 1, 10)
        if flags & 1:
            p = skip_leb(b, p, 10)
        if flags & 8:
            p = skip_leb(b, p, 5)
        return p

    def _parse_imports(self, b: bytes) -> None:
        n, p = u32(b, 0)
        for _ in range(n):
            for _ in range(2):
                size, p = u32(b, p)
                p += size
            kind = b[p]
            p += 1
            if kind == 0x00:
                p = skip_leb(b, p, 5)
            elif kind == 0x01:
                p = self._skip_limits(b, skip_valtype(b, p))
            elif kind == 0x02:
                p = self._skip_limits(b, p)
            elif kind == 0x03:
                p = skip_valtype(b, p) + 1
            elif kind == 0x04:
                t, p = u32(b, p + 1)
                self.tag_types.append(t)
            else:
                raise TranslationError(f"import section: unknown import kind 0x{kind:02x}")
        if p != len(b):
            raise TranslationError("import section: trailing bytes")

    def _parse_funcs(self, b: bytes) -> None:
        n, p = u32(b, 0)
        for _ in range(n):
            t, p = u32(b, p)
            self.func_types.append(t)

    def _parse_tags(self, b: bytes) -> None:
        n, p = u32(b, 0)
        for _ in range(n):
            t, p = u32(b, p + 1)
            self.tag_types.append(t)

    def functype(self, index: int, what: str) -> FuncType:
        """Type ``index``, which must be a function type (``what`` names the user)."""
        ft = self.types[index] if 0 <= index < len(self.types) else None
        if ft is None:
            raise TranslationError(f"{what}: type index {index} is not a function type")
        return ft

    def tag_params(self, tag: int) -> tuple[bytes, ...]:
        """The payload types of tag ``tag``: what a catch of it pushes."""
        if tag >= len(self.tag_types):
            raise TranslationError(f"unknown tag index {tag}")
        return self.functype(self.tag_types[tag], f"tag {tag}")[0]

    def blocktype(self, bt: bytes) -> FuncType:
        """The (params, results) of an encoded block type."""
        x = bt[0]
        if x == 0x40:
            return (), ()
        if x == 0x63 or x == 0x64 or 0x40 <= x < 0x80:
            return (), (bt,)
        idx, _ = s33(bt, 0)
        return self.functype(idx, "block type")

    def encode_blocktype(self, params: tuple[bytes, ...], results: tuple[bytes, ...]) -> bytes:
        """The shortest block type for ``[params] -> [results]``; a type index (an
        existing identical function type, else a new one) when one byte cannot say it."""
        if not params:
            if not results:
                return b"\x40"
            if len(results) == 1:
                return results[0]
        key = (params, results)
        idx = self.type_index.get(key)
        if idx is None:
            idx = len(self.types)
            self.types.append(key)
            self.new_types.append(key)
            self.type_index[key] = idx
        return sleb(idx)


def type_section(old: bytes, mod: ModuleTypes) -> bytes:
    """The type section (header included): ``old``'s payload with ``mod.new_types``
    appended (``old`` may be empty: the module had no type section)."""
    entries = old[u32(old, 0)[1] :] if old else b""
    parts = [leb(mod.type_entry_count + len(mod.new_types)), entries]
    for params, results in mod.new_types:
        parts.append(b"\x60" + leb(len(params)) + b"".join(params))
        parts.append(leb(len(results)) + b"".join(results))
    payload = b"".join(parts)
    return b"\x01" + leb(len(payload)) + payload
