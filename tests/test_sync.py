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
    for name in ("call", "start", "stop", "serialize", "deserialize"):
        assert callable(getattr(bs, name))
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
