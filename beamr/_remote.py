"""What the module-level functions need of an instance that lives elsewhere.

:mod:`beamr.cluster` hands out instances on the nodes of a Ray cluster; ``beamr.call``,
``beamr.io.read`` and the others take them as they take a local one. Each of those
functions checks for a :class:`Remote` first and forwards itself by name
(``"call"``, ``"io.read"``...) with its arguments; the node runs the same function on
its local instance. This module imports nothing of Ray: ``import beamr`` never does.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Remote"]


class Remote:
    """An instance whose worker runs on another host (see :mod:`beamr.cluster`)."""

    async def invoke(self, operation: str, args: tuple[Any, ...]) -> Any:
        """Run the module-level function ``operation`` on the instance, where it lives."""
        raise NotImplementedError

    async def aclose(self) -> None:
        """Stop the instance (idempotent; never raises)."""
        raise NotImplementedError
