"""Import handlers that run in the worker ("package.module:function", tests/hostfns.py),
and resolvers: one callable answering every import."""

from __future__ import annotations

import os
from typing import Any

import pytest

import beamr
from beamr import io

from .conftest import child_pids, wasm

pytestmark = pytest.mark.anyio

CALLING = wasm("calling")
IMPORTS = wasm("imports")


def calling_imports(**overrides: Any) -> dict[str, dict[str, Any]]:
    env: dict[str, Any] = {
        "host_mul": "tests.hostfns:mul",
        "host_log": "tests.hostfns:log",
        "host_string": "tests.hostfns:string",
    }
    env.update(overrides)
    return {"env": env}


async def started(**overrides: Any) -> beamr.Instance:
    return await beamr.start(CALLING, imports=calling_imports(**overrides), wasi=True)


# ---------------------------------------------------------------- in the worker


async def test_a_string_handler_runs_in_the_worker() -> None:
    async with await started(host_mul="tests.hostfns:pid") as instance:
        # pid ignores its arguments and answers with the process it runs in
        assert await beamr.call(instance, "mul_via_host", [2, 3]) == [instance.pid]
        assert instance.pid != os.getpid()


async def test_results_are_checked_and_arguments_arrive() -> None:
    async with await started() as instance:
        assert await beamr.call(instance, "mul_via_host", [6, 7]) == [42]
        # i32 results wrap as a call's would: an out-of-range answer is refused
        with pytest.raises(beamr.ImportHandlerError, match="out of range"):
            await beamr.call(instance, "mul_via_host", [1 << 20, 1 << 20])
        assert await beamr.call(instance, "mul_via_host", [-3, 5]) == [-15]


async def test_the_context_reads_the_callers_memory() -> None:
    async with await started(host_mul="tests.hostfns:logged_count") as instance:
        name = await io.write_string(instance, "Ada")
        assert await beamr.call(instance, "log_greeting", [name]) == [len("Hello, Ada!")]
        assert await beamr.call(instance, "log_greeting", [name]) == [len("Hello, Ada!")]
        # the handler kept what it read: two strings, in the worker's own memory
        assert await beamr.call(instance, "mul_via_host", [0, 0]) == [2]


async def test_the_context_mallocs_through_a_nested_call() -> None:
    async with await started() as instance:
        assert await beamr.call(instance, "host_string_len", []) == [len("made in the worker")]


async def test_the_context_writes_into_the_instance() -> None:
    imports = {"env": {"void_fn": "tests.hostfns:upper_in_place"}}
    async with await beamr.start(IMPORTS, imports=imports) as instance:
        await io.write(instance, 100, b"quiet\0")
        assert await beamr.call(instance, "call_void", [100]) == []  # void_fn(100)
        assert await io.read_string(instance, 100) == b"QUIET"


async def test_a_handler_that_raises_is_an_import_handler_error_with_its_traceback() -> None:
    async with await started(host_mul="tests.hostfns:fails") as instance:
        with pytest.raises(beamr.ImportHandlerError) as caught:
            await beamr.call(instance, "mul_via_host", [1, 2])
        text = str(caught.value)
        assert "ValueError: the handler refuses" in text
        assert "hostfns.py" in text  # the traceback came along
        assert await beamr.call(instance, "add", [1, 2]) == [3]  # and the instance lives


async def test_a_handler_returning_a_non_number_is_refused() -> None:
    async with await started(host_mul="tests.hostfns:wrong_type") as instance:
        with pytest.raises(beamr.ImportHandlerError, match="str"):
            await beamr.call(instance, "mul_via_host", [1, 2])


async def test_context_errors_are_beamrs_own() -> None:
    async with await started(host_mul="tests.hostfns:out_of_bounds") as instance:
        with pytest.raises(beamr.ImportHandlerError, match="OutOfBounds"):
            await beamr.call(instance, "mul_via_host", [1, 2])


async def test_handlers_run_inside_the_sandbox() -> None:
    async with await started(host_mul="tests.hostfns:reads_a_file") as instance:
        with pytest.raises(beamr.ImportHandlerError, match="PermissionError"):
            await beamr.call(instance, "mul_via_host", [1, 2])


async def test_a_dotted_function_name_is_followed() -> None:
    async with await started(host_mul="tests.hostfns:Namespace.mul") as instance:
        assert await beamr.call(instance, "mul_via_host", [6, 7]) == [43]


async def test_mixed_handlers_each_run_where_they_belong() -> None:
    seen: list[int] = []

    def log(instance: beamr.Instance, pointer: int) -> None:
        seen.append(pointer)

    async with await started(host_log=log) as instance:
        name = await io.write_string(instance, "x")
        await beamr.call(instance, "log_greeting", [name])  # the parent's handler
        assert len(seen) == 1
        assert await beamr.call(instance, "mul_via_host", [2, 2]) == [4]  # the worker's


@pytest.mark.parametrize(
    ("spec", "error", "match"),
    [
        ("tests.hostfns", ValueError, "package.module:function"),
        ("tests.hostfns:", ValueError, "package.module:function"),
        (":mul", ValueError, "package.module:function"),
        ("tests/hostfns:mul", ValueError, "package.module:function"),
        ("no_such_package_here.mod:f", ValueError, "no module 'no_such_package_here'"),
        ("tests.no_such_module:f", beamr.ImportHandlerError, "ModuleNotFoundError"),
        ("tests.hostfns:no_such_function", beamr.ImportHandlerError, "AttributeError"),
        ("tests.hostfns:NOT_CALLABLE", beamr.ImportHandlerError, "not callable"),
    ],
)
async def test_a_handler_that_cannot_be_loaded_fails_the_start(
    spec: str, error: type[Exception], match: str
) -> None:
    before = child_pids()
    with pytest.raises(error, match=match):
        await beamr.start(CALLING, imports=calling_imports(host_mul=spec), wasi=True)
    assert child_pids() == before


# -------------------------------------------------------------------- resolvers


async def test_a_resolver_answers_every_import() -> None:
    calls: list[tuple[str, str, list[int | float], str]] = []

    def resolver(
        instance: beamr.Instance, module: str, name: str, args: list[int | float], sig: str
    ) -> Any:
        calls.append((module, name, args, sig))
        if name == "pair":
            return [args[0], args[0] + 1]
        return None if name == "void_fn" else args[0] * 2

    async with await beamr.start(IMPORTS, imports=resolver) as instance:
        assert await beamr.call(instance, "call_i32", [21]) == [42]
        assert await beamr.call(instance, "call_f64", [1.25]) == [2.5]
        assert await beamr.call(instance, "call_i64", [1 << 40]) == [1 << 41]
        assert await beamr.call(instance, "call_void", [5]) == []
    assert ("env", "i32_to_i32", [21], "(i)i") in calls
    assert ("env", "void_fn", [5], "(i)") in calls


async def test_an_async_resolver_may_use_the_instance() -> None:
    async def resolver(
        instance: beamr.Instance, module: str, name: str, args: list[int | float], sig: str
    ) -> int:
        size = await io.size(instance)  # memory io while the call is suspended
        return size // 65536 + int(args[0])

    async with await beamr.start(IMPORTS, imports=resolver) as instance:
        assert await beamr.call(instance, "call_i32", [10]) == [11]


async def test_a_resolvers_results_are_checked_by_signature() -> None:
    def resolver(*args: Any) -> Any:
        return 1.5  # an f64 for an i32 result

    async with await beamr.start(IMPORTS, imports=resolver) as instance:
        with pytest.raises(beamr.ImportHandlerError, match="int"):
            await beamr.call(instance, "call_i32", [1])


async def test_a_resolver_that_raises_keeps_its_exception_as_the_cause() -> None:
    def resolver(*args: Any) -> Any:
        raise LookupError("nobody here")

    async with await beamr.start(IMPORTS, imports=resolver) as instance:
        with pytest.raises(beamr.ImportHandlerError) as caught:
            await beamr.call(instance, "call_i32", [1])
        assert isinstance(caught.value.__cause__, LookupError)


async def test_with_wasi_the_resolver_answers_only_the_rest() -> None:
    names: list[str] = []

    def resolver(instance: beamr.Instance, module: str, name: str, *rest: Any) -> int:
        names.append(f"{module}.{name}")
        return 6

    async with await beamr.start(CALLING, imports=resolver, wasi=True) as instance:
        assert await beamr.call(instance, "mul_via_host", [2, 3]) == [6]
        await beamr.call(instance, "print_hello", [])  # WASI's fd_write: not the resolver
        assert (await instance.output()).stdout == b"Hello from WASI!\n"
    assert names == ["env.host_mul"]


async def test_without_wasi_the_resolver_answers_wasi_too() -> None:
    """A dev_wasi-style Python WASI: the resolver sees fd_write."""
    names: list[str] = []

    def resolver(instance: beamr.Instance, module: str, name: str, *rest: Any) -> int:
        names.append(f"{module}.{name}")
        return 0

    async with await beamr.start(wasm("wasi_hello"), imports=resolver) as instance:
        assert await beamr.call(instance, "hello", []) == [0]
    assert names == ["wasi_snapshot_preview1.fd_write"]


async def test_imports_must_be_a_mapping_or_a_callable() -> None:
    with pytest.raises(TypeError, match="resolver"):
        await beamr.start(IMPORTS, imports=42)  # type: ignore[arg-type]
