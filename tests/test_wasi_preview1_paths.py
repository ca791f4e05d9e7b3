"""Paths under workers.wasi_preview1: as wasmtime resolves them, and never outside.

- Differential: random sequences of path operations (paths built from names, ``.``,
  ``..``, symlinks into and out of the tree, absolute prefixes and trailing
  slashes) answer exactly as wasmtime's WASI answers and leave the same tree.
- Security, ours alone: whatever such paths are used for (open with any flags and
  then read, write, truncate, stat or list; stat, set times, mkdir, rmdir, unlink,
  rename and link in either place, symlink then follow, readlink), a sentinel beside
  the sandbox is never read, written, stat'ed, unlinked, renamed or linked; nothing
  appears outside; every host descriptor held resolves beneath the sandbox.
"""

from __future__ import annotations

import os
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from workers.wasi_preview1.base import inode
from workers.wasi_preview1.fdtable import Directory, File

from .wasi_harness import Trampolines, TrapResult, tree

SECRET = b"SENTINEL-SECRET"
P1, P2, OUT, STAT, IOV, BUF = 0x1000, 0x1400, 0x2000, 0x2100, 0x2200, 0x3000
NAMES = ["f", "d", "g", "in_file", "in_dir", "up", "up2", "out_file", "out_dir", "abs_out"]
NAMES += ["abs_in", "dangling", "loop", "new", "new2", "sentinel", "outside", "sandbox"]
COMPONENTS = st.sampled_from([*NAMES, "..", ".", ""])


def build(base: Path) -> Path:
    """base/sandbox (the preopen) beside base/outside (with the sentinel)."""
    outside, box = base / "outside", base / "sandbox"
    outside.mkdir()
    (outside / "sentinel").write_bytes(SECRET)
    (outside / "sub").mkdir()
    box.mkdir()
    (box / "f").write_bytes(b"inside file")
    (box / "d").mkdir()
    (box / "d" / "g").write_bytes(b"gg")
    links = {
        "in_file": "f",
        "in_dir": "d",
        "up": "..",
        "up2": "d/../..",
        "out_file": "../outside/sentinel",
        "out_dir": "../outside",
        "abs_out": str(outside / "sentinel"),
        "abs_in": str(box / "f"),
        "dangling": "nothing",
        "loop": "loop",
    }
    for name, target in links.items():
        os.symlink(target, box / name)
    os.symlink("../../outside/sentinel", box / "d" / "deep_out")
    return box


@st.composite
def paths(draw: st.DrawFn) -> str:
    parts = draw(st.lists(COMPONENTS, min_size=1, max_size=4))
    path = "/".join(parts)
    prefix = draw(st.sampled_from(["", "", "", "/", "//", "./", "../", "d/deep_out/"]))
    suffix = draw(st.sampled_from(["", "", "", "/", "/.", "/.."]))
    return prefix + path + suffix


OPS = ["open", "mkdir", "rmdir", "unlink", "stat", "readlink", "rename", "link", "symlink"]
OPS += ["utimes"]
operations = st.tuples(
    st.sampled_from(OPS),
    paths(),
    paths(),
    st.integers(0, 15),  # oflags
    st.sampled_from([0, 1]),  # lookup: follow symlinks
    st.sampled_from([0, 2, 64, 66]),  # rights: none, read, write, both
    st.sampled_from([0, 0, 1]),  # fdflags: append
)


def perform(
    t: Trampolines, op: tuple[str, str, str, int, int, int, int], keep_open: bool = False
) -> Any:
    """One operation through the trampolines; what it answered, normalised. An opened
    descriptor is used and closed (:func:`descriptor_answers`), or kept open."""
    kind, path, other, oflags, follow, rights, fdflags = op
    a = path.encode()
    b = other.encode()
    t.write(P1, a)
    t.write(P2, b)
    result: Any
    if kind == "open":
        result = t.call("path_open", 3, follow, P1, len(a), oflags, rights, 0, fdflags, OUT)
        if result == 0:
            fd = struct.unpack("<I", t.read(OUT, 4))[0]
            result = (0, fd) if keep_open else (0, fd, *descriptor_answers(t, fd))
    elif kind == "mkdir":
        result = t.call("path_create_directory", 3, P1, len(a))
    elif kind == "rmdir":
        result = t.call("path_remove_directory", 3, P1, len(a))
    elif kind == "unlink":
        result = t.call("path_unlink_file", 3, P1, len(a))
    elif kind == "stat":
        result = t.call("path_filestat_get", 3, follow, P1, len(a), STAT)
        if result == 0:
            raw = t.read(STAT, 64)
            result = (0, raw[16], raw[24:40])  # type, nlink, size
    elif kind == "readlink":
        result = t.call("path_readlink", 3, P1, len(a), BUF, 256, OUT)
        if result == 0:
            result = (0, t.read(BUF, struct.unpack("<I", t.read(OUT, 4))[0]))
    elif kind == "rename":
        result = t.call("path_rename", 3, P1, len(a), 3, P2, len(b))
    elif kind == "link":
        result = t.call("path_link", 3, follow, P1, len(a), 3, P2, len(b))
    elif kind == "symlink":
        result = t.call("path_symlink", P1, len(a), 3, P2, len(b))
    else:
        result = t.call("path_filestat_set_times", 3, follow, P1, len(a), 10**18, 10**18, 5)
    return "trap" if isinstance(result, TrapResult) else result


def descriptor_answers(t: Trampolines, fd: int) -> list[Any]:
    """What an opened descriptor answers to reads, writes, seeks and listings (no
    inode numbers, no times), before it is closed."""
    out: list[Any] = [t.call("fd_fdstat_get", fd, STAT), t.read(STAT, 24)]
    out += [t.call("fd_filestat_get", fd, STAT), t.read(STAT + 16, 1), t.read(STAT + 32, 8)]
    t.write(IOV, struct.pack("<II", BUF, 8))
    out += [t.call("fd_read", fd, IOV, 1, OUT), t.read(OUT, 4), t.read(BUF, 8)]
    t.write(BUF, b"written!")
    out += [t.call("fd_write", fd, IOV, 1, OUT), t.read(OUT, 4)]
    out += [t.call("fd_seek", fd, -2, 2, OUT), t.call("fd_tell", fd, OUT), t.read(OUT, 8)]
    out += [t.call("fd_pwrite", fd, IOV, 1, 1, OUT), t.call("fd_pread", fd, IOV, 1, 0, OUT)]
    if t.call("fd_readdir", fd, BUF, 1024, 0, OUT) == 0:
        raw, names, i = t.read(BUF, struct.unpack("<I", t.read(OUT, 4))[0]), [], 0
        while i + 24 <= len(raw):
            namlen, kind = struct.unpack("<IB", raw[i + 16 : i + 21])
            names.append((raw[i + 24 : i + 24 + namlen], kind))
            i += 24 + namlen
        out.append(sorted(names))
    out += [t.call("fd_filestat_set_size", fd, 3), t.call("fd_close", fd)]
    return out


FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(st.lists(operations, min_size=1, max_size=12))
def test_paths_answer_like_wasmtime(tmp_path: Path, ops: list[Any]) -> None:
    answers, trees = [], []
    for backend in ("wasmtime", "ours"):
        base = tmp_path / backend[0]  # names of one length: absolute symlinks' sizes agree
        shutil.rmtree(base, ignore_errors=True)
        base.mkdir()
        box = build(base)
        with Trampolines(backend, dirs={str(box): "/sandbox"}) as t:
            answers.append([perform(t, op) for op in ops])
        trees.append(_relative(tree(base), base))
        assert (base / "outside" / "sentinel").read_bytes() == SECRET
    assert answers[1] == answers[0]
    assert trees[1] == trees[0]


def _relative(found: dict[str, Any], base: Path) -> dict[str, Any]:
    """The tree with the absolute symlinks made by :func:`build` named relatively."""
    return {
        path: ("->", value[1].replace(str(base), "<base>")) if isinstance(value, tuple) else value
        for path, value in found.items()
    }


# -- security, ours alone -----------------------------------------------------------------


_FIELDS = ("st_ino", "st_size", "st_nlink", "st_mode", "st_atime_ns", "st_mtime_ns", "st_ctime_ns")


@dataclass
class Outside:
    """What must never change or be reached: the sentinel and its directory."""

    base: Path
    box: Path

    def __post_init__(self) -> None:
        sentinel = self.base / "outside" / "sentinel"
        # an access time before the modification time: any read moves it (relatime)
        os.utime(sentinel, ns=(1_000_000_000, 2_000_000_000))
        self.stat = os.stat(sentinel)
        self.listing = self._listing()
        self.real_box = os.path.realpath(self.box)

    def _listing(self) -> list[tuple[str, int, bytes]]:
        """(path, mode, contents read without touching the access time) of every entry
        of base/outside, and the names beside the sandbox."""
        out = [(name, 0, b"") for name in sorted(os.listdir(self.base))]
        for here, dirs, files in os.walk(self.base / "outside"):
            for name in sorted(dirs + files):
                path = os.path.join(here, name)
                mode = os.lstat(path).st_mode
                data = b""
                if name in files:
                    fd = os.open(path, os.O_RDONLY | os.O_NOATIME)
                    data = os.read(fd, 1 << 16)
                    os.close(fd)
                out.append((path, mode, data))
        return out

    def check(self, t: Trampolines) -> None:
        now = os.stat(self.base / "outside" / "sentinel")
        assert [getattr(now, f) for f in _FIELDS] == [getattr(self.stat, f) for f in _FIELDS]
        assert self._listing() == self.listing
        assert t.wasi is not None
        for number, desc in t.wasi.table.used.items():
            if isinstance(desc, File | Directory):
                where = os.readlink(f"/proc/self/fd/{desc.fd}")
                assert where == self.real_box or where.startswith(self.real_box + "/"), (
                    number,
                    where,
                )

    def reveals(self, data: bytes) -> bool:
        return (
            SECRET in data
            or inode(self.stat.st_dev, self.stat.st_ino).to_bytes(8, "little") in data
        )


def use_descriptor(t: Trampolines, fd: int) -> list[bytes]:
    """Everything a guest can do with an opened descriptor; what it read back."""
    seen = []
    t.write(IOV, struct.pack("<II", BUF, 64))
    t.write(BUF, b"\0" * 64)
    t.call("fd_read", fd, IOV, 1, OUT)
    seen.append(t.read(BUF, 64))
    t.call("fd_pread", fd, IOV, 1, 0, OUT)
    seen.append(t.read(BUF, 64))
    t.call("fd_readdir", fd, BUF, 64, 0, OUT)
    seen.append(t.read(BUF, 64))
    t.call("fd_filestat_get", fd, STAT)
    seen.append(t.read(STAT, 64))
    t.write(BUF, b"overwritten")
    t.write(IOV, struct.pack("<II", BUF, 11))
    t.call("fd_write", fd, IOV, 1, OUT)
    t.call("fd_pwrite", fd, IOV, 1, 0, OUT)
    t.call("fd_filestat_set_size", fd, 0)
    t.call("fd_filestat_set_times", fd, 10**18, 10**18, 5)
    t.call("fd_close", fd)
    return seen


ESCAPES = [
    ("open", "../outside/sentinel", "", 0, 1, 2, 0),
    ("open", "out_file", "", 0, 1, 66, 0),
    ("open", "abs_out", "", 8, 1, 64, 0),
    ("open", "up/outside/sentinel", "", 0, 1, 2, 0),
    ("open", "out_dir", "", 2, 1, 2, 0),
    ("stat", "d/deep_out", "", 0, 1, 0, 0),
    ("unlink", "out_dir/sentinel", "", 0, 0, 0, 0),
    ("rename", "out_dir/sentinel", "stolen", 0, 0, 0, 0),
    ("rename", "f", "up/f", 0, 0, 0, 0),
    ("link", "out_dir/sentinel", "hard", 0, 0, 0, 0),
    ("mkdir", "up/made", "", 0, 0, 0, 0),
    ("utimes", "out_file", "", 0, 1, 0, 0),
    ("symlink", "../outside/sentinel", "made", 0, 0, 0, 0),
    ("open", "made", "", 0, 1, 2, 0),
]


@FUZZ
@given(st.lists(operations, min_size=1, max_size=15))
@example(ESCAPES)
def test_nothing_outside_is_ever_reached(tmp_path: Path, ops: list[Any]) -> None:
    base = tmp_path / "run"
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir()
    box = build(base)
    outside = Outside(base, box)
    with Trampolines("ours", dirs={str(box): "/sandbox"}) as t:
        for op in ops:
            answer = perform(t, op, keep_open=True)
            seen: list[bytes] = []
            if isinstance(answer, tuple) and op[0] == "open":
                outside.check(t)
                seen = use_descriptor(t, answer[1])
            elif isinstance(answer, tuple):
                seen = [bytes(x) if isinstance(x, bytes) else b"" for x in answer[1:]]
                seen.append(t.read(STAT, 64))
            if op[0] == "readlink" and isinstance(answer, tuple):
                assert not answer[1].startswith(b"/")
            assert not any(outside.reveals(data) for data in seen), (op, seen)
            outside.check(t)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(paths(), st.sampled_from([0, 1]))
@example("out_file", 1)
@example("../outside/sentinel", 0)
def test_stat_and_open_never_see_the_sentinel(tmp_path: Path, path: str, follow: int) -> None:
    """Any one path, stat'ed or opened for reading: never the sentinel's bytes nor its
    inode number."""
    base = tmp_path / "one"
    if not base.exists():
        base.mkdir()
        build(base)
    outside = Outside(base, base / "sandbox")
    with Trampolines("ours", dirs={str(base / "sandbox"): "/sandbox"}) as t:
        raw = path.encode()
        t.write(P1, raw)
        if t.call("path_filestat_get", 3, follow, P1, len(raw), STAT) == 0:
            assert not outside.reveals(t.read(STAT, 64))
        if t.call("path_open", 3, follow, P1, len(raw), 0, 2, 0, 0, OUT) == 0:
            fd = struct.unpack("<I", t.read(OUT, 4))[0]
            outside.check(t)
            t.write(IOV, struct.pack("<II", BUF, 64))
            assert t.call("fd_read", fd, IOV, 1, OUT) in (0, 8, 21, 31)
            assert not outside.reveals(t.read(BUF, 64))
        outside.check(t)
