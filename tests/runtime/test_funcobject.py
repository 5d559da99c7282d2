"""Function versions (runtime/funcobject.py): one counter under func_state.mutex, versions
cleared with the world stopped, call sites specialised on versions."""

from __future__ import annotations

from ftreplay.runtime.funcobject import FUNC_VERSION_CLEARED, FUNC_VERSION_FIRST_VALID
from ftreplay.scenarios.interpreters import func_version_collision


def test_code_objects_from_several_threads_get_distinct_versions(run_guest):
    made = []

    def guest(rt):
        def compile_some(i):
            for k in range(4):
                made.append(rt.make_function(f"t{i}_{k}", lambda: None, 0))

        ts = [rt.start_thread(compile_some, i, name=f"compiler-{i}") for i in range(3)]
        for t in ts:
            t.join()

    r = run_guest(guest, seed=3).ok()
    versions = sorted(f.code.co_version for f in made)
    assert versions == list(range(FUNC_VERSION_FIRST_VALID, FUNC_VERSION_FIRST_VALID + 12))
    assert all(f.func_version == f.code.co_version for f in made)  # MAKE_FUNCTION copies it
    assert {e.counter for e in r.of("funcobject.version")} == {"func_state.next_version", "co_version"}
    assert len(r.of("lock.acquire")) >= 12  # each one under func_state.mutex


def test_a_mutation_clears_the_version_with_the_world_stopped_and_the_site_deopts(run_guest):
    r = run_guest(lambda rt: func_version_collision(rt, functions=2), seed=2).ok()
    cleared = r.of("funcobject.version", counter="cleared")
    assert [(e.func, e.version) for e in cleared] == [("g", FUNC_VERSION_CLEARED)]
    stop, start = r.of("pystate.stop_the_world")[0], r.of("pystate.start_the_world")[0]
    assert stop.seq < cleared[0].seq < start.seq


def test_two_counters_give_an_unrelated_function_the_same_version(run_guest):
    r = run_guest(lambda rt: func_version_collision(rt, functions=2), seed=2, bugs=["two_func_version_counters"])
    assert r.failure.reason == "assertion"
    assert "accepted g (func_version 1)" in r.failure.message
    versions = r.of("funcobject.version")
    assert ("<code f>", 1, "next_func_version") in [(e.func, e.version, e.counter) for e in versions]
    assert ("g", 1, "func_state.next_version") in [(e.func, e.version, e.counter) for e in versions]
    assert not r.of("pystate.stop_the_world")
