"""One error type that front ends show as a single line."""


class FtreplayError(Exception):
    """A user-facing error: the CLI prints ``ftreplay: <message>`` and exits non-zero."""

    exit_code = 2


class LogError(FtreplayError):
    """A log that cannot be read (bad magic, unknown version, missing header)."""


class StoreError(FtreplayError):
    """A DuckDB problem: bad SQL, a write in a read-only query, a missing store."""


class UsageError(FtreplayError):
    """Unknown scenario, argument, knob, bug flag or run."""


class ScheduleDiverged(FtreplayError):
    """Replaying a stored schedule reached a decision the run cannot take."""
