"""CLI commands that live in their own modules.

Each module here defines ``register(add, db)``: ``add(name, help, epilog="")`` returns a new argparse
subparser and ``db(subparser)`` adds the usual ``--db`` option.  The subparser's ``fn`` default is called
with the parsed arguments and returns the exit status; errors raise ``FtreplayError`` (one line on stderr).
Modules are found by name, so adding a command touches no shared file.  Keep imports of heavy packages
inside the command functions: ``ftreplay --help`` loads every module here.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Callable, Iterator


def registrars() -> Iterator[Callable]:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{__name__}.{info.name}")
        reg = getattr(mod, "register", None)
        if reg is not None:
            yield reg
