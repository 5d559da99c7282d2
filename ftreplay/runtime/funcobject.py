"""Objects/funcobject.c, Objects/codeobject.c (init_code), Python/specialize.c: function
versions and the call sites specialised on them.

    FUNC_VERSION_UNSET 0   FUNC_VERSION_CLEARED 1   FUNC_VERSION_FIRST_VALID 2
    init_code:      co_version = interp->func_state.next_version (under func_state.mutex in
                    the free-threaded build); incremented unless 0 (exhaustion is sticky)
    MAKE_FUNCTION:  func_version = co_version
    a mutation of __code__ / __defaults__ / __kwdefaults__ / __closure__: the world stopped,
                    func_version = FUNC_VERSION_CLEARED (gh-115999); a cleared function is never
                    specialised again
    a call site:    after its warm-up it caches the callee's func_version and takes the callee by
                    version (_PyFunction_LookupByVersion); the guard compares versions only

With ``--bug two_func_version_counters`` (before gh-116916 / #116918) code objects take their
version from a second counter, ``interp->next_func_version``, both counters start at 1, a
mutation resets func_version to 0 and the function is lazily re-versioned from
``func_state.next_version``: it can get the version of an unrelated function, and a call site
specialised for that function accepts it and runs the wrong code (the guest's ``assertion``).
"""

from __future__ import annotations

from typing import Any, Callable

from ..record.events import FUNCOBJECT_VERSION
from ..sim.clock import ATOMIC_LOAD_NS, ATOMIC_STORE_NS
from .lock import PyMutex

BUG_TWO_COUNTERS = "two_func_version_counters"

FUNC_VERSION_UNSET = 0
FUNC_VERSION_CLEARED = 1
FUNC_VERSION_FIRST_VALID = 2
ADAPTIVE_WARMUP_VALUE = 1  # calls before a site specialises (CPython's backoff counter starts at 1)


class FuncState:
    """interp->func_state (plus, with the bug, interp->next_func_version)."""

    def __init__(self, rt, interp) -> None:
        self.rt = rt
        self.interp = interp
        name = f"interp{interp.id}.func_state.mutex"
        self.mutex = PyMutex(rt, rt.alloc(8, name), name)
        two = rt.bugs_on(BUG_TWO_COUNTERS)
        self.next_version = 1 if two else FUNC_VERSION_FIRST_VALID
        self.next_func_version = 1  # the bug's counter for code objects


def func_state(rt, interp) -> FuncState:
    fs = interp.__dict__.get("func_state")
    if fs is None:
        fs = interp.func_state = FuncState(rt, interp)
    return fs


def _take(rt, fs: FuncState, counter: str) -> int:
    """Take the next value of a counter under func_state.mutex; 0 once exhausted."""
    fs.mutex.lock()
    rt.engine.point(ATOMIC_LOAD_NS)
    v = getattr(fs, counter)
    if v:
        rt.engine.point(ATOMIC_STORE_NS)
        setattr(fs, counter, (v + 1) & 0xFFFFFFFF)
    fs.mutex.unlock()
    return v


class PyCode:
    def __init__(self, rt, name: str, body: Callable, argcount: int) -> None:
        interp = rt.engine.cur.tstate.interp
        fs = func_state(rt, interp)
        self.name = name
        self.body = body
        self.argcount = argcount
        counter = "next_func_version" if rt.bugs_on(BUG_TWO_COUNTERS) else "next_version"
        self.co_version = _take(rt, fs, counter)  # init_code
        rt.emit(FUNCOBJECT_VERSION, interp.id, f"<code {name}>", self.co_version, 0,
                "next_func_version" if counter == "next_func_version" else "func_state.next_version")


class PyFunction:
    """A function object: code, defaults and func_version."""

    def __init__(self, rt, code: PyCode, defaults: tuple = ()) -> None:
        self.rt = rt
        self.interp = rt.engine.cur.tstate.interp
        self.code = code
        self.name = code.name
        self.defaults = tuple(defaults)
        self.func_version = FUNC_VERSION_UNSET
        self._set_version(code.co_version, "co_version")  # MAKE_FUNCTION

    def _set_version(self, version: int, counter: str) -> None:
        """_PyFunction_SetVersion."""
        rt = self.rt
        rt.engine.point(ATOMIC_STORE_NS)
        old = self.func_version
        self.func_version = version
        rt.emit(FUNCOBJECT_VERSION, self.interp.id, self.name, version, old, counter)

    def set_defaults(self, defaults: tuple) -> None:
        """func_set_defaults: the version is cleared (with the world stopped, gh-115999)."""
        rt = self.rt
        rt.check_eval_breaker()
        if rt.bugs_on(BUG_TWO_COUNTERS):
            self._set_version(FUNC_VERSION_UNSET, "reset")
            self.defaults = tuple(defaults)
            return
        with rt.stopped_world():
            self._set_version(FUNC_VERSION_CLEARED, "cleared")
            self.defaults = tuple(defaults)

    def version_for_current_state(self) -> int:
        """_PyFunction_GetVersionForCurrentState: with the bug, an unversioned function is
        re-versioned lazily from func_state.next_version."""
        rt = self.rt
        rt.engine.point(ATOMIC_LOAD_NS)
        v = self.func_version
        if v == FUNC_VERSION_UNSET and rt.bugs_on(BUG_TWO_COUNTERS):
            v = _take(rt, func_state(rt, self.interp), "next_version")
            if v:
                self._set_version(v, "func_state.next_version")
        return v

    def __call__(self, *args: Any) -> Any:
        """The generic call: missing arguments come from the defaults."""
        n = self.code.argcount - len(args)
        if n > len(self.defaults):
            raise TypeError(f"{self.name}() missing {n - len(self.defaults)} required positional arguments")
        fill = self.defaults[len(self.defaults) - n:] if n > 0 else ()
        return self.code.body(*args, *fill)


class CallSite:
    """A CALL instruction specialised on its callee's function version, as a trace that
    inlined the callee is: the guard (_CHECK_FUNCTION_VERSION) compares the version only, then
    the callee's code found when specialising runs."""

    def __init__(self, rt, name: str) -> None:
        self.rt = rt
        self.name = name
        self.counter = ADAPTIVE_WARMUP_VALUE
        self.func_version = 0  # the cached version (0 = not specialised)
        self.callee = None  # the function found by that version (_PyFunction_LookupByVersion)

    def call(self, fn: PyFunction, *args: Any) -> Any:
        rt = self.rt
        rt.check_eval_breaker()
        v = fn.version_for_current_state()
        if self.func_version:
            if v == self.func_version:  # the guard: the version alone
                return self.callee(*args)
            self.func_version = 0  # deoptimise
            self.callee = None
            self.counter = ADAPTIVE_WARMUP_VALUE
        result = fn(*args)
        self.counter -= 1
        valid = v >= (1 if rt.bugs_on(BUG_TWO_COUNTERS) else FUNC_VERSION_FIRST_VALID)
        if self.counter <= 0 and valid:
            self.func_version = v  # specialise
            self.callee = fn
        return result


def make_function(rt, name: str, body: Callable, argcount: int, defaults: tuple = ()) -> PyFunction:
    """Compile (init_code) and MAKE_FUNCTION."""
    rt.check_eval_breaker()
    return PyFunction(rt, PyCode(rt, name, body, argcount), defaults)
