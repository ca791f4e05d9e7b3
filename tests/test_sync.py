"""beamr.sync: the blocking facade, on both event-loop backends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import beamr
import beamr.sync as bs

from .conftest import wasm


@pytest.fixture(params=["asyncio", "trio"], autouse=True)
def portal_backend(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    bs._shutdown()
    monkeypatch.setattr(bs, "BACKEND", request.param)
    yield str(request.param)
    bs._shutdown()


def test_start_call_io_stop() -> None:
    with bs.start(wasm("calling")) as instance:
        assert bs.call(instance, "fac", [5.0]) == [120.0]
        assert bs.io.size(instance) == 131072
        ptr = bs.io.write_string(instance, "sync")
        assert bs.io.read_string(instance, ptr) == b"sync"
        bs.io.write(instance, ptr, b"SY")
        assert bs.io.read(instance, ptr, 4) == b"SYnc"
        block = bs.io.malloc(instance, 64)
        bs.io.free(instance, block)
        snapshot = bs.serialize(instance)
        bs.deserialize(instance, snapshot)
        assert any(e.name == "greet" for e in instance.exports)
        pid = instance.pid
    assert pid > 0
    with pytest.raises(beamr.InstanceClosed):
        bs.io.size(instance)
    bs.stop(instance)  # idempotent


def test_errors_come_through() -> None:
    with bs.start(wasm("edge")) as instance:
        with pytest.raises(beamr.Trap):
            bs.call(instance, "unreachable", [])
        with pytest.raises(beamr.OutOfBounds):
            bs.io.read(instance, 65536, 1)
        with pytest.raises(TypeError):
            bs.io.read(instance, "0", 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        bs.io.size(object())  # type: ignore[arg-type]


def test_handlers_are_plain_functions_with_nested_io() -> None:
    logged: list[bytes] = []

    def host_log(w: bs.Instance, ptr: int) -> None:
        logged.append(bs.io.read_string(w, ptr))

    def host_string(w: bs.Instance) -> int:
        return bs.io.write_string(w, "nested from a thread")  # malloc: a nested call

    imports = {"env": {"host_log": host_log, "host_string": host_string}}
    with bs.start(wasm("calling"), imports=imports) as instance:
        name = bs.io.write_string(instance, "sync")
        assert bs.call(instance, "log_greeting", [name]) == [len("Hello, sync!")]
        assert bs.call(instance, "host_string_len", []) == [20]
    assert logged == [b"Hello, sync!"]


def test_handler_exceptions_are_import_handler_errors() -> None:
    def host_mul(w: bs.Instance, a: int, b: int) -> int:
        raise KeyError("nope")

    with bs.start(wasm("calling"), imports={"env": {"host_mul": host_mul}}) as instance:
        with pytest.raises(beamr.ImportHandlerError) as caught:
            bs.call(instance, "mul_via_host", [1, 2])
        assert isinstance(caught.value.__cause__, KeyError)
        assert bs.call(instance, "add", [1, 2]) == [3]


def test_wasi_output() -> None:
    with bs.start(wasm("calling"), wasi=True) as instance:
        bs.call(instance, "print_hello", [])
        assert instance.output().stdout == b"Hello from WASI!\n"


def test_deep_nesting_never_runs_out_of_threads() -> None:
    """Before, nesting 41 deep exhausted anyio's 40 worker threads: a deadlock, after
    which every sync handler on any instance hung."""

    def again(instance: bs.Instance, n: int) -> int:
        if n < beamr.MAX_NESTING:
            return int(bs.call(instance, "call_i32", [n + 1])[0])
        return n

    with bs.start(wasm("imports"), imports={"env": {"i32_to_i32": again}}) as instance:
        assert bs.call(instance, "call_i32", [1]) == [beamr.MAX_NESTING]
        assert bs.call(instance, "call_i32", [1]) == [beamr.MAX_NESTING]  # and again


def test_nesting_past_the_limit_is_a_clear_error_in_sync_too() -> None:
    def again(instance: bs.Instance, n: int) -> int:
        return int(bs.call(instance, "call_i32", [n + 1])[0])  # never stops by itself

    with bs.start(wasm("imports"), imports={"env": {"i32_to_i32": again}}) as instance:
        with pytest.raises(beamr.ImportHandlerError) as caught:
            bs.call(instance, "call_i32", [1])
        cause: BaseException = caught.value
        while cause.__cause__ is not None:
            cause = cause.__cause__
        assert isinstance(cause, beamr.NestingTooDeep)
        assert bs.io.size(instance) == 65536


def test_the_sync_facade_offers_every_name_of_the_async_one() -> None:
    import inspect

    import beamr.io

    for name in beamr.io.__all__:
        sync_fn = getattr(bs.io, name)
        async_params = list(inspect.signature(getattr(beamr.io, name)).parameters)
        assert list(inspect.signature(sync_fn).parameters) == async_params, name
    for name in (
        "call", "start", "stop", "serialize", "deserialize", "get_global", "set_global", "run",
    ):  # fmt: skip
        sync_params = list(inspect.signature(getattr(bs, name)).parameters)
        assert sync_params == list(inspect.signature(getattr(beamr, name)).parameters), name
    pool_params = list(inspect.signature(bs.Pool).parameters)
    assert pool_params == list(inspect.signature(beamr.Pool).parameters)
    for method in ("instance", "run"):
        sync_params = list(inspect.signature(getattr(bs.Pool, method)).parameters)
        assert sync_params == list(inspect.signature(getattr(beamr.Pool, method)).parameters)
    with bs.start(wasm("calling")) as instance:
        assert instance.signature("fac") == "(F)F"
        assert instance.usable
    assert not instance.usable


def test_the_background_loop_runs_while_an_instance_is_open() -> None:
    import threading

    before = {t.ident for t in threading.enumerate()}
    with bs.start(wasm("fac")) as instance:
        assert bs.call(instance, "fac", [3.0]) == [6.0]
        during = {t.ident for t in threading.enumerate()} - before
        assert during  # the portal's loop thread
    assert not ({t.ident for t in threading.enumerate() if t.is_alive()} & during)


def test_run_a_program() -> None:
    done = bs.run(wasm("prog"), args=["prog", "cat"], stdin=b"blocking")
    assert done == beamr.Completed(0, b"blocking", b"")
    chunks: list[tuple[str, bytes]] = []
    done = bs.run(wasm("prog"), args=["prog", "mix"], on_output=lambda s, d: chunks.append((s, d)))
    assert chunks == [("stdout", b"o1"), ("stderr", b"e1"), ("stdout", b"o2")]
    assert bs.run(wasm("prog"), args=["prog", "exit", "9"]).status == 9


def test_globals() -> None:
    with bs.start(wasm("globals")) as instance:
        bs.set_global(instance, "g_i64", -1)
        assert bs.get_global(instance, "g_i64") == -1
        with pytest.raises(TypeError, match="immutable"):
            bs.set_global(instance, "const_i32", 1)


def test_a_resolver_and_string_handlers() -> None:
    seen: list[str] = []

    def resolver(instance: bs.Instance, module: str, name: str, args: list[int], sig: str) -> int:
        assert isinstance(instance, bs.Instance)
        seen.append(name)
        return bs.io.size(instance) // 65536 + args[0]  # io on the same instance, nested

    with bs.start(wasm("imports"), imports=resolver) as instance:
        assert bs.call(instance, "call_i32", [4]) == [5]
    assert seen == ["i32_to_i32"]
    with bs.start(
        wasm("calling"), imports={"env": {"host_mul": "tests.hostfns:mul"}}, wasi=True
    ) as instance:
        assert bs.call(instance, "mul_via_host", [6, 7]) == [42]


def test_a_pool_of_programs() -> None:
    with bs.Pool(wasm("prog"), size=2, wasi=True) as pool:
        for i in range(3):
            assert pool.run(args=["prog", "cat"], stdin=b"%d" % i).stdout == b"%d" % i
        with pool.instance(wasi=beamr.WasiConfig(args=["prog", "args", "x"])) as instance:
            assert bs.call(instance, "_start", []) == []
            assert instance.output() == beamr.Output(b"x\n", b"")
            assert instance.dropped_output == (0, 0)


def test_a_pool_hands_handlers_their_own_instance() -> None:
    pids: list[int] = []

    def mul(instance: bs.Instance, a: int, b: int) -> int:
        pids.append(instance.pid)
        return a * b

    with bs.Pool(wasm("calling"), size=2, imports={"env": {"host_mul": mul}}) as pool:
        for _ in range(2):
            with pool.instance() as instance:
                assert bs.call(instance, "mul_via_host", [3, 4]) == [12]
                assert pids[-1] == instance.pid
