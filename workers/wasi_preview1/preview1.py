"""``Preview1``: every ``wasi_snapshot_preview1`` function, for wasm32 or wasm64.

:meth:`Preview1.functions` hands the worker one Python callable per import. Each
takes the raw Python ints the wasm passed (an i32 may arrive negative: every
parameter is read as unsigned of its width, a ``filedelta`` as signed) and returns
the errno. Arguments are converted as wasmtime's ``wiggle`` converts them: a flags
or enum value out of range traps, as does a pointer or length outside the memory
(or misaligned); see :class:`~workers.wasi_preview1.config.Trap`. A host ``OSError``
becomes its WASI errno. Nothing else escapes but :class:`Exit` and
:class:`Interrupted` (and :class:`Trap`, unless ``traps=False``).
"""

from __future__ import annotations

from collections.abc import Callable

from workers.wasi_preview1 import abi
from workers.wasi_preview1.config import Config, Exit, Interrupted, Trap
from workers.wasi_preview1.files import Files
from workers.wasi_preview1.guest import Fault, Memory, WasiError
from workers.wasi_preview1.paths import Paths
from workers.wasi_preview1.procs import ExitStatusTooLarge, Procs

__all__ = ["Preview1"]

Function = Callable[..., "int | None"]


class BadArgument(Fault):
    """A flags or enum argument wasmtime will not convert."""


def _converter(param: abi.Param, mask: int) -> Callable[[int], int]:
    """How one raw argument becomes the value a function works with."""
    kind = param.kind
    if kind in ("p", "z"):
        return lambda value: value & mask
    if kind in ("fd", "u32"):
        return lambda value: value & 0xFFFFFFFF
    if kind == "u64":
        return lambda value: value & 0xFFFFFFFFFFFFFFFF
    if kind == "s64":
        return lambda value: ((value + (1 << 63)) & 0xFFFFFFFFFFFFFFFF) - (1 << 63)
    largest, valid = abi.CHECKS[kind]
    wide = kind == "rights"
    sign = 1 << 63 if wide else 1 << 31
    width = 0xFFFFFFFFFFFFFFFF if wide else 0xFFFFFFFF

    def convert(value: int) -> int:
        value &= width
        if value >= sign or value > largest:  # negative, or past its representation
            raise BadArgument(f"{param.name}: {value:#x} does not fit its type")
        if (value >= -valid) if valid < 0 else (value & ~valid):
            raise BadArgument(f"{param.name}: invalid value {value:#x}")
        return value

    return convert


class Preview1(Files, Paths, Procs):
    """WASI preview1 for one instance.

    ``traps`` (default): answer like wasmtime, raising :class:`Trap` where it traps.
    ``traps=False``: a bad pointer or length is ``EFAULT`` and a bad flags or enum
    argument ``EINVAL``; ``proc_exit`` of 126 or more is :class:`Exit` too."""

    def __init__(self, config: Config, memory: Memory, *, wasm64: bool, traps: bool = True) -> None:
        super().__init__(config, memory, wasm64=wasm64)
        self.traps = traps
        #: the last exception no WASI errno names (answered with ``EIO``): a bug here
        self.unexpected: BaseException | None = None

    def functions(self) -> dict[str, tuple[list[str], list[str], Function]]:
        """name -> (param value types, result value types, the function)."""
        sigs = abi.signatures(self.wasm64)
        return {
            name: (*sigs[name], self._wrap(name, params)) for name, params in abi.FUNCTIONS.items()
        }

    def _wrap(self, name: str, params: tuple[abi.Param, ...]) -> Function:
        method: Callable[..., int | None] = getattr(self, name)
        converters = [_converter(p, self.layout.mask) for p in params]

        def call(*args: int) -> int | None:
            try:
                return method(*[convert(a) for convert, a in zip(converters, args, strict=True)])
            except WasiError as exc:
                return exc.errno
            except (Exit, Interrupted, Trap):
                raise
            except ExitStatusTooLarge as exc:
                if self.traps:
                    raise Trap(str(exc)) from None
                raise Exit(args[0] & 0xFFFFFFFF) from None
            except Fault as exc:
                if self.traps:
                    raise Trap(f"{name}: {exc}") from None
                return abi.EINVAL if isinstance(exc, BadArgument) else abi.EFAULT
            except OSError as exc:
                return abi.errno_of(exc)
            except (ValueError, OverflowError):
                return abi.EINVAL  # a NUL in a path, an offset no host call takes
            except Exception as exc:
                self.unexpected = exc
                return abi.EIO

        call.__name__ = name
        return call
