"""The seeds' fixed races, reproducible behind ``--bug NAME``.  The default runtime is the
fixed one."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UsageError


@dataclass(frozen=True)
class Bug:
    name: str
    scenario: str
    seed: str  # which seed commit / issue
    description: str


BUGS: dict[str, Bug] = {
    b.name: b
    for b in (
        Bug(
            "join_tstate_lock_race",
            "join_race",
            "gh-116372 (fixed by gh-114271)",
            "Thread.join acquires and releases the joined thread's _tstate_lock, then _stop() asserts the lock "
            "is unlocked; a second joiner that acquires it in between makes the assertion fail.",
        ),
    )
}


def check_bugs(names) -> list[str]:
    out = []
    for n in names:
        if n not in BUGS:
            raise UsageError(f"unknown bug flag {n!r} (known: {', '.join(sorted(BUGS))})")
        if n not in out:
            out.append(n)
    return sorted(out)
