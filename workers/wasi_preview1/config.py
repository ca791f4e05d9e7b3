"""What a guest is given (:class:`Config`), and how its run can end early."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

__all__ = [
    "Config",
    "ConfigError",
    "Exit",
    "Interrupted",
    "Preopen",
    "Trap",
    "close_preopens",
    "open_preopens",
]


class ConfigError(Exception):
    """A WASI configuration that cannot be served (a preopen that is no directory)."""


class Exit(Exception):
    """``proc_exit(status)``: the guest is done."""

    def __init__(self, status: int) -> None:
        super().__init__(f"exit status {status}")
        self.status = status


class Interrupted(Exception):
    """``wake`` was set while the guest slept in ``poll_oneoff``."""


class Trap(Exception):
    """The guest called a function in a way wasmtime's WASI traps on: a pointer or
    length outside its memory or misaligned, a flags or enum argument out of range,
    ``proc_exit`` with a status of 126 or more. Only raised when
    :class:`~workers.wasi_preview1.Preview1` is made with ``traps=True`` (the
    default); otherwise a bad pointer is ``EFAULT`` and a bad argument ``EINVAL``."""


@dataclass(frozen=True)
class Preopen:
    """A host directory opened for the guest, under the name the guest sees."""

    guest: str
    host: str
    fd: int  # O_RDONLY | O_DIRECTORY | O_CLOEXEC


def open_preopens(dirs: Mapping[str, str]) -> list[Preopen]:
    """Open each host directory (``host -> guest path``), in order.

    Done before the sandbox closes; a path that is missing or not a directory is a
    :class:`ConfigError` naming it (nothing stays open then)."""
    opened: list[Preopen] = []
    try:
        for host, guest in dirs.items():
            try:
                fd = os.open(host, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            except OSError as exc:
                raise ConfigError(
                    f"WASI dir {host!r}: {exc.strerror or exc} (it must be a directory)"
                ) from None
            opened.append(Preopen(str(guest), str(host), fd))
    except BaseException:
        close_preopens(opened)
        raise
    return opened


def close_preopens(preopens: Iterable[Preopen]) -> None:
    for preopen in preopens:
        with contextlib.suppress(OSError):
            os.close(preopen.fd)


def _discard(stream: int, data: bytes) -> None:
    pass


@dataclass
class Config:
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    #: made by :func:`open_preopens`; :class:`Preview1` uses copies (``dup``) of them
    preopens: list[Preopen] = field(default_factory=list)
    #: what fd 0 reads; ``None``: EOF at once
    stdin: bytes | None = None
    #: called with (1 or 2, data) for every write to stdout or stderr
    output: Callable[[int, bytes], None] = _discard
    #: set by an interrupt: a guest sleeping in ``poll_oneoff`` wakes and
    #: :class:`Interrupted` is raised
    wake: threading.Event = field(default_factory=threading.Event)
