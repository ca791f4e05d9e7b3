"""The ``beamr`` command's WASI and limit options, shared by ``run``, ``call`` and
``memory``: spelled as wasmtime's own CLI spells them where it has them."""

from __future__ import annotations

import argparse
import math
import os
import sys
from typing import Any

import beamr

__all__ = ["EXIT_TRAP", "add_options", "limits", "stream_to_terminal", "wasi_config", "wants_wasi"]

#: the exit status of a program that trapped (as wasmtime's CLI: 128 + SIGABRT)
EXIT_TRAP = 134


class CliUsage(ValueError):
    """A malformed option value, reported like argparse's own errors."""


def _dir(text: str) -> tuple[str, str]:
    host, sep, guest = text.partition("::")
    if not host or (sep and not guest):
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST or HOST::GUEST")
    return host, guest if sep else host


def _env(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not name:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE or NAME")
    if not sep:  # NAME alone: this process's value, as wasmtime's --env NAME
        if name not in os.environ:
            raise argparse.ArgumentTypeError(f"--env {name}: {name} is not set here")
        value = os.environ[name]
    return name, value


def _positive_int(text: str) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive and finite")
    return value


def add_options(parser: argparse.ArgumentParser, *, program: bool) -> None:
    """The WASI and limit options; ``program``: the module is a command run to its end
    (its argv and stdin come from the command line)."""
    wasi = parser.add_argument_group("WASI")
    wasi.add_argument(
        "--dir",
        dest="dirs",
        action="append",
        type=_dir,
        default=[],
        metavar="HOST[::GUEST]",
        help="preopen the host directory HOST as GUEST (default: the same path); repeatable",
    )
    wasi.add_argument(
        "--env",
        dest="env",
        action="append",
        type=_env,
        default=[],
        metavar="NAME[=VALUE]",
        help="set NAME in the guest's environment (NAME alone: its value here); repeatable",
    )
    if program:
        wasi.add_argument(
            "--argv0", metavar="NAME", help="the program's argv[0] (default: FILE.wasm as given)"
        )
        wasi.add_argument(
            "--no-stdin",
            action="store_true",
            help="give the program no stdin (EOF at once) instead of reading this one to its end",
        )
    else:
        wasi.add_argument(
            "--wasi-arg",
            dest="wasi_args",
            action="append",
            default=[],
            metavar="ARG",
            help="an argv entry for the guest, program name first; repeatable",
        )
    group = parser.add_argument_group("limits")
    group.add_argument("--fuel", type=_positive_int, metavar="N", help="instructions per call")
    group.add_argument("--timeout", type=_seconds, metavar="S", help="seconds per call")
    group.add_argument(
        "--memory", type=_positive_int, metavar="BYTES", help="memory budget (memories and tables)"
    )


def wants_wasi(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "wasi", False) or args.dirs or args.env or args.wasi_args)


def wasi_config(args: argparse.Namespace, argv: list[str], stdin: bytes | None) -> beamr.WasiConfig:
    return beamr.WasiConfig(args=argv, env=dict(args.env), dirs=dict(args.dirs), stdin=stdin)


def limits(args: argparse.Namespace) -> beamr.Limits:
    return beamr.Limits(memory_bytes=args.memory, fuel=args.fuel, call_timeout=args.timeout)


def stream_to_terminal(stream: str, data: bytes) -> None:
    """An ``on_output`` listener: the program's output goes to ours as it comes."""
    out: Any = sys.stdout if stream == "stdout" else sys.stderr
    out.buffer.write(data)
    out.buffer.flush()
