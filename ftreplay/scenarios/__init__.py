"""Built-in guest programs, and loading a user's ``path.py:function``.

A scenario is a plain function ``fn(rt, **args)``; ``rt`` is the runtime handle
(ftreplay.runtime.runtime.Runtime).  Arguments are ints declared with defaults.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from ..errors import UsageError


@dataclass
class Scenario:
    name: str
    fn: Callable
    description: str
    args: dict[str, Any]
    steps_hint: int = 2000
    bugs: tuple[str, ...] = ()
    arg_help: dict[str, str] = field(default_factory=dict)
    knobs: dict[str, Any] = field(default_factory=dict)  # knob defaults of this scenario (--set overrides)

    def resolve_args(self, given: dict[str, str]) -> dict[str, Any]:
        out = dict(self.args)
        for k, raw in given.items():
            if k not in self.args:
                known = ", ".join(self.args) or "none"
                raise UsageError(f"scenario {self.name!r} has no argument {k!r} (arguments: {known})")
            default = self.args[k]
            out[k] = parse_value(k, raw, type(default))
        return out


def parse_value(name: str, raw: Any, typ: type) -> Any:
    if not isinstance(raw, str):
        return raw
    try:
        if typ is bool:
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError
        return typ(raw)
    except ValueError:
        raise UsageError(f"bad value for {name}: {raw!r} (expected {typ.__name__})") from None


REGISTRY: dict[str, Scenario] = {}


def scenario(name: str, description: str, steps_hint: int = 2000, bugs: tuple[str, ...] = (),
             knobs: Optional[dict[str, Any]] = None, **arg_help: str):
    def deco(fn: Callable) -> Callable:
        sig = inspect.signature(fn)
        args = {p.name: p.default for p in list(sig.parameters.values())[1:] if p.default is not p.empty}
        REGISTRY[name] = Scenario(name, fn, description, args, steps_hint, bugs, dict(arg_help), dict(knobs or {}))
        return fn

    return deco


def _load_builtins() -> None:
    from . import basic  # noqa: F401  (registers on import)
    from . import interpreters  # noqa: F401
    from . import lifecycle  # noqa: F401
    from . import memory  # noqa: F401
    from . import objects  # noqa: F401
    from . import stw  # noqa: F401


def all_scenarios() -> dict[str, Scenario]:
    _load_builtins()
    return dict(sorted(REGISTRY.items()))


def get_scenario(name: str) -> Scenario:
    _load_builtins()
    if name in REGISTRY:
        return REGISTRY[name]
    if ":" in name and name.rsplit(":", 1)[0].endswith(".py"):
        return _load_file(name)
    raise UsageError(f"unknown scenario {name!r} (see 'ftreplay scenarios'; or give path/to/file.py:function)")


def _load_file(spec: str) -> Scenario:
    path, func = spec.rsplit(":", 1)
    if not os.path.isfile(path):
        raise UsageError(f"scenario file {path!r} not found")
    modname = "ftreplay_user_" + os.path.splitext(os.path.basename(path))[0]
    mspec = importlib.util.spec_from_file_location(modname, path)
    if mspec is None or mspec.loader is None:
        raise UsageError(f"cannot load {path!r} as Python")
    module = importlib.util.module_from_spec(mspec)
    sys.modules[modname] = module
    try:
        mspec.loader.exec_module(module)
    except Exception as e:  # the user's file: report, don't trace
        raise UsageError(f"{path}: {type(e).__name__}: {e}") from None
    fn = getattr(module, func, None)
    if not callable(fn):
        raise UsageError(f"{path} has no function {func!r}")
    sig = inspect.signature(fn)
    params = list(sig.parameters.values())
    if not params:
        raise UsageError(f"{spec}: a scenario takes the runtime handle as its first parameter")
    args = {p.name: p.default for p in params[1:] if p.default is not p.empty}
    doc = (inspect.getdoc(fn) or "user scenario").splitlines()[0]
    # The absolute path, so that verify re-executes the same file from any directory.
    return Scenario(f"{os.path.abspath(path)}:{func}", fn, doc, args)
