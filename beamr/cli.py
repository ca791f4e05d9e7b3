"""The ``beamr`` command (also ``python -m beamr``): poke at a wasm module from the shell.

::

    beamr run FILE.wasm [--dir HOST[::GUEST]]... [--env NAME=VALUE]... [--fuel N]
              [--timeout S] [--memory BYTES] [--argv0 NAME] [--no-stdin] [-- ARGS...]
    beamr inspect FILE.wasm [--json]
    beamr call FILE.wasm EXPORT [ARGS...] [--string TEXT]... [--read-string] [--wasi]
               [--wasi-arg ARG]... [--dir ...] [--env ...] [--fuel N] [--timeout S]
    beamr memory FILE.wasm [--call EXPORT [ARGS...]] --dump OFFSET LEN [--wasi ...]
    beamr demo

``run`` exits with the program's own status (134 if it trapped, as wasmtime's CLI).
Other errors print one line to stderr and exit with status 1 (2 for usage errors).
"""

from __future__ import annotations

import argparse
import inspect
import json
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import anyio

import beamr
from beamr import _cli_options, _spawn, io
from beamr._cli_options import EXIT_TRAP
from beamr.programs import run_command
from beamr.types import split_signature

EXIT_ERROR = 1


class CliError(Exception):
    """A failure to report as one line, exit status 1."""


def _read_module(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}") from None


def _number(text: str, char: str, position: int) -> int | float:
    try:
        return int(text, 0) if char in "iI" else float(text)
    except ValueError:
        kind = {"i": "an i32", "I": "an i64", "f": "an f32", "F": "an f64"}.get(char, "a number")
        raise CliError(f"argument {position} ({text!r}) is not {kind}") from None


# ----------------------------------------------------------------------------- inspect


def describe(binary: bytes) -> dict[str, Any]:
    """The module's imports, exports and memories, read by a worker without running it."""
    done = subprocess.run(
        _spawn.python_command("workers.inspect_module"),
        input=binary,
        capture_output=True,
        env=_spawn.WORKER_ENV,
        cwd=_spawn.WORKER_CWD,
        timeout=120,
        check=False,
    )
    try:
        info: dict[str, Any] = json.loads(done.stdout)
    except ValueError:
        raise CliError(f"could not inspect the module: {done.stderr.decode().strip()}") from None
    if "error" in info:
        raise CliError(f"not a valid wasm module: {info['error']}")
    return info


def _limits(entry: dict[str, Any]) -> str:
    if entry["kind"] == "memory":
        top = "unbounded" if entry["max_pages"] is None else f"{entry['max_pages']}"
        bits = "64-bit" if entry["memory64"] else "32-bit"
        return f"pages {entry['min_pages']}..{top} ({bits})"
    if entry["kind"] == "table":
        return (
            f"elements {entry['min']}..{entry['max'] if entry['max'] is not None else 'unbounded'}"
        )
    if entry["kind"] == "global":
        return f"{'mut ' if entry['mutable'] else ''}{entry['type']}"
    return ""


def cmd_inspect(args: argparse.Namespace) -> int:
    """List imports, exports and memories.

    List a module's imports, exports (with HyperBEAM signatures) and memory limits,
    without running it.
    """
    info = describe(_read_module(args.file))
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"{args.file}: {info['arch']}, {info['size']} bytes")
    rows = [
        ("import", f"{i['module']}.{i['name']}", i["kind"], i["signature"] or _limits(i))
        for i in info["imports"]
    ]
    rows += [
        ("export", e["name"], e["kind"], e["signature"] or _limits(e)) for e in info["exports"]
    ]
    if not rows:
        print("  (no imports, no exports)")
        return 0
    widths = [max(len(str(r[c])) for r in rows) for c in range(4)]
    header = ("", "name", "kind", "signature / limits")
    widths = [max(w, len(h)) for w, h in zip(widths, header, strict=True)]
    for row in (header, *rows):
        print("  " + "  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    return 0


# --------------------------------------------------------------------------------- run


def cmd_run(args: argparse.Namespace) -> int:
    """Run a WASI program to its end.

    Run FILE.wasm's _start with ARGS (after --) as its arguments, this process's stdin
    (read to its end first) as its stdin, and its output streamed to this process's
    stdout and stderr. Exits with the program's status.
    """
    binary = _read_module(args.file)
    stdin = None if args.no_stdin or sys.stdin is None else sys.stdin.buffer.read()
    argv = [args.argv0 if args.argv0 is not None else args.file, *args.args]
    config = _cli_options.wasi_config(args, argv, stdin)

    async def run() -> int:
        wasm = await beamr.start(binary, wasi=config, limits=_cli_options.limits(args))
        async with wasm:
            try:
                done = await run_command(wasm, _cli_options.stream_to_terminal)
            except beamr.Trap as exc:
                print(f"beamr run: {args.file} trapped: {exc}", file=sys.stderr)
                return EXIT_TRAP
            return done.status

    return anyio.run(run)


# -------------------------------------------------------------------------------- call


async def _start(binary: bytes, args: argparse.Namespace) -> beamr.Instance:
    # Imports the module has but nobody here handles raise MissingImport if called.
    wasi = None
    if _cli_options.wants_wasi(args):
        wasi = _cli_options.wasi_config(args, list(args.wasi_args), None)
    instance = await beamr.start(binary, wasi=wasi, limits=_cli_options.limits(args))
    instance.on_output = _cli_options.stream_to_terminal
    return instance


async def _call(
    instance: beamr.Instance, export: str, texts: Sequence[str], strings: Sequence[str]
) -> list[int | float]:
    params, _ = split_signature(instance.signature(export))
    numeric = len(params) - len(strings)
    if numeric != len(texts):
        raise CliError(
            f"{export}{instance.signature(export)} takes {len(params)} arguments; "
            f"got {len(texts)} number(s) and {len(strings)} --string"
        )
    values: list[int | float] = [
        _number(text, char, i) for i, (text, char) in enumerate(zip(texts, params, strict=False))
    ]
    for text in strings:
        values.append(await io.write_string(instance, text))
    return await beamr.call(instance, export, values)


def cmd_call(args: argparse.Namespace) -> int:
    """Call an export and print its results.

    Start the module in a worker and call EXPORT. Numbers are read by the export's
    signature (0x... accepted for ints); each --string is written into the instance
    (write_string) and its pointer passed after the numbers. WASI output is shown as it
    is written; a proc_exit ends the command with its status.
    """
    binary = _read_module(args.file)

    async def run() -> int:
        async with await _start(binary, args) as instance:
            try:
                results = await _call(instance, args.export, args.args, args.string or [])
            except beamr.ProcExit as exc:
                return exc.status
            if args.read_string:
                if not results:
                    raise CliError(f"{args.export} returned nothing to read a string at")
                text = await io.read_string(instance, int(results[0]))
                print(text.decode("utf-8", errors="replace"))
            else:
                print(" ".join(repr(r) for r in results))
        return 0

    return anyio.run(run)


# ------------------------------------------------------------------------------ memory


def hexdump(data: bytes, base: int) -> str:
    lines = []
    for at in range(0, len(data), 16):
        chunk = data[at : at + 16]
        hexes = " ".join(f"{b:02x}" for b in chunk)
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{base + at:08x}  {hexes:<47}  |{text}|")
    return "\n".join(lines)


def cmd_memory(args: argparse.Namespace) -> int:
    """Hexdump linear memory.

    Start the module (optionally call an export first) and hexdump LEN bytes of its
    linear memory at OFFSET.
    """
    binary = _read_module(args.file)
    offset, length = args.dump

    async def run() -> int:
        async with await _start(binary, args) as instance:
            if args.call:
                export, *texts = args.call
                await _call(instance, export, texts, [])
            data = await io.read(instance, offset, length)
            print(hexdump(data, offset))
        return 0

    return anyio.run(run)


def cmd_demo(args: argparse.Namespace) -> int:
    """The guided demo (what `make demo` runs).

    Start several instances of a bundled module and show memory io, imports and calls.
    """
    from beamr import demo

    anyio.run(demo.main, backend=args.backend)
    return 0


# -------------------------------------------------------------------------------- main


def _offset(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is negative")
    return value


def _command(sub: Any, run: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
    """The subcommand ``cmd_NAME`` runs, described by its docstring."""
    doc = inspect.getdoc(run) or ""
    summary, _, description = doc.partition("\n\n")
    command: argparse.ArgumentParser = sub.add_parser(
        run.__name__.removeprefix("cmd_"),
        help=summary[0].lower() + summary[1:].rstrip("."),
        description=" ".join(description.split()),
    )
    command.set_defaults(run=run)
    return command


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="beamr", description="Run and inspect WebAssembly modules in sandboxed workers."
    )
    top.add_argument("--version", action="version", version=f"beamr {beamr.__version__}")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = _command(sub, cmd_run)
    p.add_argument("file", metavar="FILE.wasm")
    p.add_argument("args", nargs="*", metavar="ARGS", help="the program's arguments (after --)")
    _cli_options.add_options(p, program=True)

    p = _command(sub, cmd_inspect)
    p.add_argument("file", metavar="FILE.wasm")
    p.add_argument("--json", action="store_true", help="print JSON")

    p = _command(sub, cmd_call)
    p.add_argument("file", metavar="FILE.wasm")
    p.add_argument("export")
    p.add_argument("args", nargs="*", metavar="ARG")
    p.add_argument(
        "--string", action="append", metavar="TEXT", help="pass a pointer to TEXT (repeatable)"
    )
    p.add_argument(
        "--read-string",
        action="store_true",
        help="print the NUL-terminated string at the returned pointer",
    )
    p.add_argument("--wasi", action="store_true", help="provide WASI and show its output")
    _cli_options.add_options(p, program=False)

    p = _command(sub, cmd_memory)
    p.add_argument("file", metavar="FILE.wasm")
    p.add_argument(
        "--call", nargs="+", metavar=("EXPORT", "ARG"), help="call EXPORT with ARGs before dumping"
    )
    p.add_argument("--dump", nargs=2, type=_offset, required=True, metavar=("OFFSET", "LEN"))
    p.add_argument("--wasi", action="store_true", help="provide WASI")
    _cli_options.add_options(p, program=False)

    p = _command(sub, cmd_demo)
    p.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")

    return top


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    # Everything after the first "--" is the program's (run) or the export's (call):
    # argparse would take option-like words there for ours.
    rest: list[str] = []
    if "--" in words:
        at = words.index("--")
        words, rest = words[:at], words[at + 1 :]
    top = parser()
    args = top.parse_args(words)
    if rest:
        if args.command not in ("run", "call"):
            top.error(f"{args.command} takes no arguments after --")
        args.args = [*args.args, *rest]
    try:
        code: int = args.run(args)
    except (CliError, beamr.BeamrError, TypeError, ValueError) as exc:
        print(f"beamr {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `beamr inspect x.wasm | head`: the reader left, fine
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return code


def main_exit() -> None:
    """Console-script entry point."""
    sys.exit(main())
