"""Modules written to hurt: the sandbox and the limits hold from their first instruction.

Each test proves its guarantee from a live worker (its /proc entries, its own probes,
what the wasm itself could do), and fails if that guarantee is taken away.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any

import anyio
import pytest

import beamr
from beamr import io

from .conftest import child_pids, gone, uleb, wasm, wasm_section

pytestmark = pytest.mark.anyio

MiB = 1 << 20
PAGE = 65536


def proc_status(pid: int, task: int | None = None) -> dict[str, str]:
    path = f"/proc/{pid}/status" if task is None else f"/proc/{pid}/task/{task}/status"
    text = Path(path).read_text()
    return {k: v.strip() for k, _, v in (line.partition(":") for line in text.splitlines())}


def data_limit(pid: int) -> str:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max data size"):
            return line.split()[3]
    raise AssertionError("no data size limit line")


async def expect_no_new_worker(before: set[int]) -> None:
    assert gone(child_pids() - before), "a worker was left behind"


# ------------------------------------------------------------ 1. it fails closed


async def test_a_huge_table_under_a_memory_budget_is_refused(start_mode: str) -> None:
    """(table 2000000000 funcref): 16 GB of pointers under a 16 MiB budget. Before,
    the worker set RLIMIT_DATA first, could not map libseccomp, warned and ran unfiltered."""
    before = child_pids()
    with pytest.raises(beamr.InvalidModule, match="tables need"):
        await beamr.start(wasm("huge_table"), limits=beamr.Limits(memory_bytes=16 * MiB))
    await expect_no_new_worker(before)


async def test_a_process_limit_below_the_workers_own_needs_is_a_sandbox_error(
    start_mode: str,
) -> None:
    """process_bytes=1 MiB cannot be enforced on a worker: start says so; no worker
    stays, and the module (a 1 TiB memory64 minimum) never ran unconfined."""
    before = child_pids()
    with pytest.raises(beamr.SandboxError, match="process_bytes"):
        await beamr.start(wasm("huge_memory64"), limits=beamr.Limits(process_bytes=1 * MiB))
    await expect_no_new_worker(before)


async def test_a_memory64_minimum_past_the_process_limit_is_invalid(start_mode: str) -> None:
    before = child_pids()
    with pytest.raises(beamr.InvalidModule):
        await beamr.start(wasm("huge_memory64"), limits=beamr.Limits(process_bytes=512 * MiB))
    await expect_no_new_worker(before)


async def test_sandbox_false_is_the_only_way_to_run_unconfined(start_mode: str) -> None:
    async with await beamr.start(wasm("edge")) as confined:
        assert proc_status(confined.pid)["Seccomp"] == "2"
    async with await beamr.start(wasm("edge"), sandbox=False) as unconfined:
        assert proc_status(unconfined.pid)["Seccomp"] == "0"
        assert await beamr.call(unconfined, "div", [6, 3]) == [2]
    with pytest.raises(TypeError):
        await beamr.start(wasm("edge"), sandbox="no")  # type: ignore[arg-type]


# ---------------------------------------------- 2. the start function is covered


async def test_the_start_function_runs_inside_the_sandbox(start_mode: str) -> None:
    """Before, a start function ran with Seccomp 0, NoNewPrivs 0 and no RLIMIT_DATA."""
    seen: dict[str, Any] = {}

    async def started(instance: beamr.Instance, value: int) -> int:
        seen["value"] = value
        for task in os.listdir(f"/proc/{instance.pid}/task"):
            status = proc_status(instance.pid, int(task))
            seen.setdefault("threads", []).append(
                (status["Seccomp"], status["NoNewPrivs"], status["CapEff"])
            )
        seen["data"] = data_limit(instance.pid)
        # memory io works while the start function waits for us
        await io.write(instance, 0, b"from the start function")
        seen["size"] = await io.size(instance)
        return 42

    limits = beamr.Limits(memory_bytes=8 * MiB)
    async with await beamr.start(
        wasm("start_import"), imports={"env": {"started": started}}, limits=limits
    ) as instance:
        assert seen["value"] == 7
        assert len(seen["threads"]) >= 2
        assert all(t == ("2", "1", "0000000000000000") for t in seen["threads"]), seen
        assert int(seen["data"]) == 8 * MiB + (1 << 30)
        assert seen["size"] == PAGE
        assert await beamr.call(instance, "result", []) == [42]
        assert await io.read(instance, 0, 23) == b"from the start function"


async def test_a_looping_start_function_times_out(start_mode: str) -> None:
    """Before, call_timeout did not apply to start: only an outer cancel ended it."""
    before = child_pids()
    with pytest.raises(beamr.CallTimeout):
        await beamr.start(wasm("start_spin"), limits=beamr.Limits(call_timeout=0.3))
    await expect_no_new_worker(before)


async def test_cancelling_start_ends_a_looping_start_function(start_mode: str) -> None:
    before = child_pids()
    with anyio.move_on_after(0.5) as scope:
        await beamr.start(wasm("start_spin"))
    assert scope.cancelled_caught
    await expect_no_new_worker(before)


async def test_fuel_covers_the_start_function(start_mode: str) -> None:
    """Before, any start function failed under Limits(fuel=...) ("all fuel consumed"):
    the store had no fuel while instantiating."""
    imports = {"env": {"started": lambda instance, value: value * 6}}
    async with await beamr.start(
        wasm("start_import"), imports=imports, limits=beamr.Limits(fuel=1_000_000)
    ) as instance:
        assert await beamr.call(instance, "result", []) == [42]
    before = child_pids()
    with pytest.raises(beamr.StartTrapped) as caught:
        await beamr.start(wasm("start_import"), imports=imports, limits=beamr.Limits(fuel=500))
    assert caught.value.code == "out_of_fuel"
    assert isinstance(caught.value, beamr.InvalidModule)
    assert isinstance(caught.value, beamr.Trap)
    await expect_no_new_worker(before)


async def test_a_start_function_cannot_grow_a_table_past_the_budget(start_mode: str) -> None:
    """Before, a start function grew a table to 1.99 GB under memory_bytes=16 MiB."""
    limits = beamr.Limits(memory_bytes=16 * MiB)
    async with await beamr.start(wasm("tables"), limits=limits) as instance:
        assert await beamr.call(instance, "grown_at_start", []) == [-1]
        assert await beamr.call(instance, "grow_table", [250_000_000]) == [-1]
        assert await beamr.call(instance, "grow_table", [100]) == [1]  # small growth is free
        assert await beamr.call(instance, "table_size", []) == [101]
    async with await beamr.start(wasm("tables")) as unlimited:  # no budget: no cap
        assert await beamr.call(unlimited, "grow_table", [1000]) != [-1]


async def test_an_import_from_the_start_function_reaches_a_failing_handler(
    start_mode: str,
) -> None:
    def refuse(instance: beamr.Instance, value: int) -> int:
        raise PermissionError("not during start")

    before = child_pids()
    with pytest.raises(beamr.ImportHandlerError) as caught:
        await beamr.start(wasm("start_import"), imports={"env": {"started": refuse}})
    assert isinstance(caught.value.__cause__, PermissionError)
    await expect_no_new_worker(before)


# ------------------------------------------------ 3. no exception vanishes at depth


async def nest(instance: beamr.Instance, depth: int) -> list[int | float]:
    return await beamr.call(instance, "call_i32", [depth])


def nesting_handlers(target: int, deny: int = 0) -> dict[str, Any]:
    """call_i32(n) -> i32_to_i32(n) -> call_i32(n + 1) ... until n == target, where the
    handler denies (answers ``deny``): every level must pass that answer back up."""

    async def i32_to_i32(instance: beamr.Instance, n: int) -> int:
        if n < target:
            (answer,) = await beamr.call(instance, "call_i32", [n + 1])
            return int(answer)
        return deny

    return {"env": {"i32_to_i32": i32_to_i32}}


def root_cause(exc: BaseException) -> BaseException:
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return exc


async def test_nesting_to_the_limit_keeps_every_answer(start_mode: str) -> None:
    """Before, 124 levels made the worker's host trampoline hit RecursionError: the
    import 'returned' its own argument and a denying handler was skipped."""
    imports = nesting_handlers(beamr.MAX_NESTING, deny=0)
    async with await beamr.start(wasm("imports"), imports=imports) as instance:
        assert await nest(instance, 1) == [0]  # MAX_NESTING calls deep, every answer kept
        assert await nest(instance, 1) == [0]  # and again: nothing was corrupted


async def test_nesting_past_the_limit_is_a_clear_error(start_mode: str) -> None:
    imports = nesting_handlers(beamr.MAX_NESTING + 1)
    async with await beamr.start(wasm("imports"), imports=imports) as instance:
        with pytest.raises(beamr.ImportHandlerError) as caught:
            await nest(instance, 1)
        assert isinstance(root_cause(caught.value), beamr.NestingTooDeep)
        assert await nest(instance, beamr.MAX_NESTING) == [0]  # the instance is fine


async def test_the_worker_enforces_the_nesting_limit_itself(
    start_mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the parent's own check out of the way, the worker refuses the call that
    would go deeper, with the same error."""
    from beamr import protocol

    monkeypatch.setattr(protocol, "MAX_NESTING", 1000)  # the parent's copy only
    imports = nesting_handlers(60)
    async with await beamr.start(wasm("imports"), imports=imports) as instance:
        with pytest.raises(beamr.ImportHandlerError) as caught:
            await nest(instance, 1)
        assert isinstance(root_cause(caught.value), beamr.NestingTooDeep)
        assert await beamr.call(instance, "call_i32", [1_000_000]) == [0]


# ---------------------------------------------- 8. one budget for the whole instance


async def test_all_memories_share_one_budget(start_mode: str) -> None:
    """Before, each of eight memories got its own 16 MiB (171 MB resident)."""
    budget = 16 * MiB
    async with await beamr.start(
        wasm("memories"), limits=beamr.Limits(memory_bytes=budget)
    ) as instance:
        assert await beamr.call(instance, "total_pages", []) == [8]
        assert await beamr.call(instance, "grow_each", [31]) == [8]  # 8 x 32 pages: all of it
        assert await beamr.call(instance, "total_pages", []) == [budget // PAGE]
        assert await beamr.call(instance, "grow_each", [1]) == [0]
        assert await beamr.call(instance, "total_pages", []) == [budget // PAGE]


async def test_an_imported_memory_past_the_budget_is_an_invalid_module() -> None:
    before = child_pids()
    with pytest.raises(beamr.InvalidModule, match=r"imported memory env\.mem"):
        await beamr.start(wasm("imported_memory"), limits=beamr.Limits(memory_bytes=16 * MiB))
    await expect_no_new_worker(before)


# ----------------------------------------------------- 9. signatures never kill


async def test_values_that_cannot_cross_are_refused_not_fatal(start_mode: str) -> None:
    """Before, v128 aborted the worker at start, a funcref result killed it, and an
    externref import was a ProtocolViolation."""
    async with await beamr.start(wasm("wide_types")) as instance:
        signatures = {e.name: e.signature for e in instance.exports}
        assert signatures["v128_id"] == "(v)v"
        assert signatures["get_ref"] == "()r"
        imports = {i.name: i.signature for i in instance.imports}
        assert imports == {"takes_v128": "(v)", "takes_extern": "(e)"}
        with pytest.raises(TypeError, match="v128"):
            await beamr.call(instance, "v128_id", [1])
        with pytest.raises(TypeError, match="cannot cross"):
            await beamr.call(instance, "get_ref", [])
        with pytest.raises(beamr.MissingImport):  # an unanswerable import, never answered
            await beamr.call(instance, "call_v128_import", [])
        assert await beamr.call(instance, "answer", []) == [42]
    for name in ("takes_v128", "takes_extern"):
        before = child_pids()
        with pytest.raises(beamr.InvalidModule, match=name):
            await beamr.start(wasm("wide_types"), imports={"env": {name: lambda *a: None}})
        await expect_no_new_worker(before)


async def test_an_allocator_of_the_wrong_shape_says_so() -> None:
    async with await beamr.start(wasm("wide_types")) as instance:
        with pytest.raises(beamr.ExportNotFound, match=r"malloc has the signature \(F\)F"):
            await io.malloc(instance, 8)
        with pytest.raises(beamr.ExportNotFound, match=r"free has the signature \(F\)"):
            await io.free(instance, 8)
        with pytest.raises(beamr.ExportNotFound, match="malloc"):
            await io.write_string(instance, "x")


# -------------------------------------------------------- 14. exports in linear time


def module_with_exports(count: int) -> bytes:
    """One empty function exported under ``count`` names (written byte by byte)."""

    exports = b"".join(
        uleb(len(n)) + n + b"\x00\x00" for n in (f"f{i}".encode() for i in range(count))
    )
    return (
        b"\0asm\x01\0\0\0"
        + wasm_section(1, b"\x01\x60\x00\x00")  # one type: () -> ()
        + wasm_section(3, b"\x01\x00")  # one function of that type
        + wasm_section(7, uleb(count) + exports)
        + wasm_section(10, b"\x01\x02\x00\x0b")  # its body: no locals, end
    )


async def test_a_hundred_thousand_exports_start_promptly(start_mode: str) -> None:
    """Before, the time grew with the square of the export count: 3 s at 8,000, and a
    module with 100,000 exports took minutes (a cheap way to stall whoever starts it);
    describing them is linear now (well under a second here)."""
    binary = module_with_exports(100_000)
    with anyio.fail_after(60):  # a bound for a hang, not a measurement
        async with await beamr.start(binary) as instance:
            assert len(instance.exports) == 100_000
            assert await beamr.call(instance, "f99999", []) == []


def test_the_module_writer_writes_what_wasmtime_reads() -> None:
    assert module_with_exports(3)[:4] == b"\0asm"
    assert struct.unpack("<I", module_with_exports(3)[4:8]) == (1,)
