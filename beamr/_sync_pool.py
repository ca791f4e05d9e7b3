"""``beamr.sync.Pool``: the blocking :class:`beamr.Pool` (see :mod:`beamr.sync`)."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import beamr
from beamr import sync
from beamr._output import Listener
from beamr.types import Completed, Limits, WasiConfig

__all__ = ["Pool"]


class Pool:
    """Blocking :class:`beamr.Pool`: ``with bs.Pool(binary, ...) as pool:``, then
    ``with pool.instance() as wasm:`` or ``pool.run(...)``."""

    def __init__(
        self,
        binary: bytes | bytearray | memoryview,
        *,
        size: int = 4,
        max_uses: int | None = 1,
        imports: Mapping[str, Mapping[str, Any]] | Callable[..., Any] | None = None,
        wasi: bool | WasiConfig | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.aio = beamr.Pool(
            binary,
            size=size,
            max_uses=max_uses,
            imports=sync._wrap_imports(imports),
            wasi=wasi,
            limits=limits,
        )  #: the underlying async pool
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> Pool:
        portals = sync._portals()
        portal = self._stack.enter_context(portals)
        self._stack.enter_context(portal.wrap_async_context_manager(self.aio))
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._stack.__exit__(*exc_info)

    def close(self) -> None:
        """Stop the pool's instances (as leaving its ``with`` block does)."""
        self._stack.close()

    @contextlib.contextmanager
    def instance(self, *, wasi: WasiConfig | None = None) -> Iterator[sync.Instance]:
        """Blocking :meth:`beamr.Pool.instance`."""
        with (
            sync._portals() as portal,
            portal.wrap_async_context_manager(self.aio.instance(wasi=wasi)) as inner,
        ):
            yield sync._view(inner)

    def run(
        self,
        *,
        args: Sequence[str] = (),
        stdin: bytes | bytearray | memoryview | None = None,
        env: Mapping[str, str] | None = None,
        dirs: Mapping[str, str] | None = None,
        on_output: Listener | None = None,
    ) -> Completed:
        """Blocking :meth:`beamr.Pool.run`."""
        return sync._run(
            functools.partial(
                self.aio.run, args=args, stdin=stdin, env=env, dirs=dirs, on_output=on_output
            )
        )
