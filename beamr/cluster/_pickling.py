"""The start arguments of a remote instance, pickled for its node.

Callable handlers are pickled by value (Ray's cloudpickle) when they come from the
caller's own modules, so that a handler defined in a script works on a node where that
script is not installed; the standard library, installed packages, beamr and Ray are
pickled by reference as usual.
"""

from __future__ import annotations

import os
import pickle
import sys
import sysconfig
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from ray import cloudpickle

__all__ = ["pickled_options"]

_INSTALLED = tuple(
    os.path.realpath(path) + os.sep
    for path in {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
)


def _by_value(handler: Any) -> set[ModuleType]:
    """The modules of ``handler`` to pickle by value: the caller's own (not the
    standard library's, not an installed package's, not beamr's or Ray's)."""
    found: set[ModuleType] = set()
    seen = [handler, getattr(handler, "func", None), type(handler)]
    for item in seen:
        name = getattr(item, "__module__", None)
        if not isinstance(name, str) or name == "__main__":
            continue  # __main__ is pickled by value anyway
        module = sys.modules.get(name)
        if module is None:
            continue
        top = name.split(".")[0]
        if top in sys.stdlib_module_names or top in ("beamr", "workers", "ray", "builtins"):
            continue
        path = getattr(module, "__file__", None)
        if path is None or os.path.realpath(path).startswith(_INSTALLED):
            continue
        found.add(module)
    return found


def _handlers(imports: Any) -> list[Any]:
    if callable(imports):
        return [imports]
    if isinstance(imports, Mapping):
        return [
            h
            for names in imports.values()
            if isinstance(names, Mapping)
            for h in names.values()
            if callable(h)
        ]
    return []


def pickled_options(options: dict[str, Any]) -> bytes:
    modules: set[ModuleType] = set()
    for handler in _handlers(options["imports"]):
        modules |= _by_value(handler)
    registered = []
    try:
        for module in modules:
            if module.__name__ not in cloudpickle.list_registry_pickle_by_value():
                cloudpickle.register_pickle_by_value(module)
                registered.append(module)
        return bytes(cloudpickle.dumps(options))
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        raise TypeError(f"the start arguments cannot be sent to a node: {exc}") from None
    finally:
        for module in registered:
            cloudpickle.unregister_pickle_by_value(module)
