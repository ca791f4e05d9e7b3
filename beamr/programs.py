"""WASI programs, the way ``subprocess.run`` runs programs: :func:`run`.

A WASI *command* exports ``_start`` (its ``main``): run it once and it ends, with
``proc_exit(status)`` or by returning (status 0). A *reactor* exports ``_initialize``
instead, run once when the instance starts, and then its functions are called like
any module's: use :func:`beamr.start` for those.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from beamr._handlers import ImportMap, Resolver
from beamr._output import Listener
from beamr.api import start
from beamr.errors import BeamrError, ExportNotFound, ProcExit
from beamr.instance import Instance
from beamr.types import DEFAULT_OUTPUT_LIMIT, Completed, Limits, WasiConfig

__all__ = ["run", "run_command"]


async def run(
    binary: bytes | bytearray | memoryview,
    *,
    args: Sequence[str] = (),
    stdin: bytes | bytearray | memoryview | None = None,
    env: Mapping[str, str] | None = None,
    dirs: Mapping[str, str] | None = None,
    limits: Limits | None = None,
    imports: ImportMap | Resolver | None = None,
    on_output: Listener | None = None,
    output_limit: int = DEFAULT_OUTPUT_LIMIT,
    sandbox: bool = True,
) -> Completed:
    """Run the WASI command ``binary`` to its end: start it, call ``_start``, collect
    its output, stop it.

    ``args`` is argv, program name first; ``stdin`` the bytes it reads (none: EOF at
    once); ``env`` its whole environment; ``dirs`` maps host directories (relative ones
    from the current working directory) to the guest paths it sees them at. Output
    is kept whole up to ``output_limit`` bytes a stream; past it the rest is dropped and
    :class:`~beamr.Completed` says so (``stdout_truncated``, ``stderr_truncated``).
    With ``on_output``, output is streamed instead: ``on_output("stdout" | "stderr",
    data)`` for each chunk as the program writes it, and nothing is kept.

    The status is what the program passed to ``proc_exit``, 0 if ``_start`` returned.
    A program that traps (or runs past ``limits.call_timeout``) raises that error, with
    its output so far as the exception's ``stdout`` and ``stderr`` attributes.
    """
    config = WasiConfig(
        args=args,
        env=dict(env or {}),
        dirs=dict(dirs or {}),
        stdin=None if stdin is None else stdin,
        output_limit=output_limit,
    )
    wasm = await start(binary, imports=imports, wasi=config, limits=limits, sandbox=sandbox)
    async with wasm:
        return await run_command(wasm, on_output)


async def run_command(wasm: Instance, on_output: Listener | None = None) -> Completed:
    """Call the started WASI command's ``_start``; how it ended (see :func:`run`)."""
    if not any(e.kind == "func" and e.name == "_start" for e in wasm.exports):
        raise ExportNotFound(
            "not a WASI command: the module exports no _start (a reactor exports "
            "_initialize instead: start it with beamr.start and call its functions)"
        )
    if on_output is not None:
        wasm.on_output = on_output
    status = 0
    try:
        await wasm.call("_start", [])
    except ProcExit as exc:
        status = exc.status
    except BeamrError as exc:
        output = await wasm.output()
        exc.stdout, exc.stderr = output.stdout, output.stderr  # type: ignore[attr-defined]
        raise
    output = await wasm.output()
    dropped_out, dropped_err = wasm.dropped_output
    return Completed(status, output.stdout, output.stderr, dropped_out > 0, dropped_err > 0)
