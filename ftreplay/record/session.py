"""Run one scenario under the sim and record it: the wiring of sim, runtime and recorder."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

from .. import __version__
from ..errors import UsageError
from ..runtime.bugs import check_bugs
from ..runtime.runtime import Runtime
from ..scenarios import Scenario, get_scenario, parse_value
from ..sim import schedule as schedule_text
from ..sim.engine import DEFAULT_MAX_STEPS, Engine
from ..sim.strategies import STRATEGIES, make_strategy
from .events import RUN_FAILURE
from .log import RunEnd, RunMeta
from .recorder import DEFAULT_BATCH, DEFAULT_CHECKPOINT_EVERY, CapturingRecorder, Recorder

# name: (type, default, help).  A default of None means "derived" (see help).
KNOBS: dict[str, tuple[type, Any, str]] = {
    "max_steps": (int, DEFAULT_MAX_STEPS, "scheduling points before the run fails as a livelock"),
    "pct_depth": (int, 3, "PCT bug depth d: d-1 priority change points"),
    "pct_steps": (int, None, "PCT: steps over which change points are drawn (default: the scenario's hint)"),
    "rr_quantum": (int, 1, "round_robin: scheduling points per turn"),
    "batch": (int, DEFAULT_BATCH, "events per log frame (part of the log's bytes)"),
    "checkpoint_every": (int, DEFAULT_CHECKPOINT_EVERY, "events between stored state checkpoints (bounds a seek)"),
    "build": (str, "ft", "'ft' (free-threaded, Py_GIL_DISABLED) or 'gil' (the default build: one GIL)"),
    "gil": (int, -1, "PYTHON_GIL in the free-threaded build: -1 default (no GIL), 0 off, 1 on"),
}
_CHOICES = {"build": ("ft", "gil"), "gil": (-1, 0, 1)}


def resolve_knobs(given: dict[str, str], scn: Scenario) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, (typ, default, _help) in KNOBS.items():
        out[name] = default
    out["pct_steps"] = scn.steps_hint
    out.update(scn.knobs)
    for k, raw in given.items():
        if k not in KNOBS:
            raise UsageError(f"unknown knob {k!r} (knobs: {', '.join(KNOBS)})")
        v = parse_value(k, raw, KNOBS[k][0])
        if k in _CHOICES:
            if v not in _CHOICES[k]:
                raise UsageError(f"knob {k} must be one of {', '.join(map(str, _CHOICES[k]))}, got {raw!r}")
        elif isinstance(v, int) and v < 1:
            raise UsageError(f"knob {k} must be >= 1, got {v}")
        out[k] = v
    if out["build"] == "gil" and out["gil"] == 0:
        raise UsageError("knob gil=0 (PYTHON_GIL=0) needs the free-threaded build (build=ft)")
    return out


def make_meta(
    scenario: str,
    seed: int = 1,
    strategy: str = "random",
    args: Optional[dict[str, str]] = None,
    knobs: Optional[dict[str, str]] = None,
    bugs: Optional[list[str]] = None,
) -> RunMeta:
    """Validate every input of a run (before anything is written) and freeze it."""
    scn = get_scenario(scenario)
    if strategy not in STRATEGIES:
        raise UsageError(f"unknown strategy {strategy!r} (choose from: {', '.join(STRATEGIES)})")
    if not 0 <= seed < 2**63:
        raise UsageError(f"seed must be between 0 and 2**63-1, got {seed}")
    return RunMeta(
        scenario=scn.name,
        seed=seed,
        strategy=strategy,
        args=scn.resolve_args(args or {}),
        knobs=resolve_knobs(knobs or {}, scn),
        bugs=check_bugs(bugs or []),
        ftreplay_version=__version__,
    )


@dataclass
class RunResult:
    meta: RunMeta
    end: RunEnd
    hash: str

    @property
    def status(self) -> str:
        return self.end.status

    @property
    def failure(self) -> Optional[dict]:
        e = self.end
        if e.failure_reason is None:
            return None
        return {"reason": e.failure_reason, "message": e.failure_message, "seq": e.failure_seq}


class Execution:
    """One run wired together: strategy, engine, recorder, runtime.  ``fn`` (with
    ``kwargs``) runs a guest function instead of the meta's scenario (tests)."""

    def __init__(
        self,
        meta: RunMeta,
        sink,
        schedule: Optional[list[int]] = None,
        progress: Optional[Callable[[int], None]] = None,
        fn: Optional[Callable] = None,
        kwargs: Optional[dict] = None,
        capture_at: Optional[set[int]] | bool = False,
    ) -> None:
        if fn is None:
            fn, kwargs = get_scenario(meta.scenario).fn, meta.args
        self.meta = meta
        self.sink = sink
        self.fn = fn
        self.kwargs = dict(kwargs or {})
        knobs = meta.knobs
        self.strategy = make_strategy(meta.strategy, meta.seed, knobs, schedule)
        self.engine = engine = Engine(self.strategy, max_steps=knobs.get("max_steps", DEFAULT_MAX_STEPS))
        kw = dict(
            batch=knobs.get("batch", DEFAULT_BATCH),
            on_flush=progress,
            checkpoint_every=knobs.get("checkpoint_every", DEFAULT_CHECKPOINT_EVERY),
        )
        if capture_at is False:
            self.rec = rec = Recorder(engine, sink, **kw)
        else:  # test mode: live snapshots at those seqs (True: after every event)
            wanted = None if capture_at is True else set(capture_at)
            self.rec = rec = CapturingRecorder(engine, sink, wanted, **kw)
        engine.on_fail = self._on_fail
        engine.on_stop = rec.seal  # nothing after the run's end is logged
        rec.begin(meta)
        self.rt = Runtime(engine, rec.emit, meta.bugs, knobs)
        rec.snapshot = self.rt.snapshot

    def _on_fail(self, reason: str, message: str) -> int:
        rec = self.rec
        seq = rec.seq
        self.rt.failure = [reason, message, seq]
        rec.emit(RUN_FAILURE, reason, message)
        rec.seal()
        return seq

    def run(self) -> RunResult:
        engine, rec = self.engine, self.rec
        failure = engine.run(self.rt.main, (self.fn, self.kwargs))
        rec.seal()
        w = self.sink.writer
        content_hash = w.hexdigest() if w is not None else ""
        end = RunEnd(
            status="ok" if failure is None else "failed",
            events=rec.seq if failure is None else failure.seq + 1,
            steps=engine.steps,
            virtual_ns=engine.now,
            schedule=schedule_text.encode(engine.decisions),
            failure_reason=failure.reason if failure else None,
            failure_message=failure.message if failure else None,
            failure_seq=failure.seq if failure else None,
            content_sha256=content_hash or None,
        )
        rec.finish(end)
        self.sink.close()
        return RunResult(self.meta, end, content_hash)


def execute(
    meta: RunMeta,
    sink,
    schedule: Optional[list[int]] = None,
    progress: Optional[Callable[[int], None]] = None,
) -> RunResult:
    """Run ``meta`` writing the log to ``sink``; with ``schedule``, replay those decisions."""
    return Execution(meta, sink, schedule, progress).run()
