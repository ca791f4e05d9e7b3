"""In-worker import handlers for tests/test_worker_handlers.py.

The worker imports this module (as ``tests.hostfns``) before its sandbox closes and
calls these as ``fn(ctx, *args)``. What they learn is written into the instance's
memory or returned, since a worker has no other way to tell the test.
"""

from __future__ import annotations

import os
from typing import Any

#: how many times log() ran in this worker (each worker imports its own copy)
LOGGED: list[bytes] = []


def mul(ctx: Any, a: int, b: int) -> int:
    return a * b


def log(ctx: Any, pointer: int) -> None:
    LOGGED.append(ctx.read_string(pointer))


def logged_count(ctx: Any, *args: Any) -> int:
    return len(LOGGED)


def string(ctx: Any) -> int:
    """host_string: a NUL-terminated string malloc'ed in the instance (the module
    frees it): a nested call to malloc from inside the import."""
    return int(ctx.write_string("made in the worker"))


def upper_in_place(ctx: Any, pointer: int) -> None:
    text = ctx.read_string(pointer)
    ctx.write(pointer, text.upper())


def fails(ctx: Any, *args: Any) -> int:
    raise ValueError("the handler refuses")


def wrong_type(ctx: Any, *args: Any) -> Any:
    return "not a number"


def reads_a_file(ctx: Any, *args: Any) -> int:
    """The sandbox is closed when handlers run: opening a file is refused."""
    with open("/etc/hostname", "rb") as f:
        return len(f.read())


def pid(ctx: Any, *args: Any) -> int:
    return os.getpid()


def out_of_bounds(ctx: Any, *args: Any) -> int:
    ctx.read(ctx.size() - 2, 4)
    return 0


class Namespace:
    @staticmethod
    def mul(ctx: Any, a: int, b: int) -> int:
        return a * b + 1


NOT_CALLABLE = 5
