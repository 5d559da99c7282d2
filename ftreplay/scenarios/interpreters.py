"""Subinterpreter, type-cache and function-version scenarios."""

from __future__ import annotations

from ..runtime.typeobject import cache_index, intern_at_index
from . import scenario


@scenario(
    "subinterp_clear_from_main",
    "the main thread creates isolated subinterpreters (their own GIL and obmalloc state); a worker runs each "
    "one's __main__, shares an object with the main interpreter as cross-interpreter data, and the main thread "
    "releases it through a pending call into the subinterpreter (the worker registers the class inside a "
    "stop-the-world pause of the subinterpreter alone); another thread creates and closes legacy "
    "interpreters (main's obmalloc) meanwhile; fails as a crash with --bug tstate_clear_wrong_interp",
    steps_hint=700,
    bugs=("tstate_clear_wrong_interp",),
    interps="isolated subinterpreters, one after another",
    legacy="legacy subinterpreters created by a second thread",
)
def subinterp_clear_from_main(rt, interps: int = 2, legacy: int = 2):
    def legacy_creator():
        for k in range(legacy):
            it = rt.new_interpreter("legacy")
            it.exec(lambda: rt.new_object("int", name=f"legacy{it.id}.int").decref())
            it.close()

    other = rt.start_thread(legacy_creator, name="legacy-creator")
    for n in range(interps):
        interp = rt.new_interpreter("isolated")
        entered = rt.event(f"sub{interp.id}.entered")
        box = rt.var(f"sub{interp.id}.xidata", None)
        released = rt.var(f"sub{interp.id}.released", 0)

        def sub_main():
            with rt.stopped_world():  # the subinterpreter's own pause: the main interpreter runs on
                interp.register_class("bytes", lambda o: o.size)
            payload = rt.new_object("bytes", 64, name=f"sub{interp.id}.payload")
            box.store(interp.share(payload))  # the data holds a reference owned by this interpreter
            payload.decref()
            entered.notify()
            while not released.load():  # eval-breaker checks run the pending calls
                rt.work(2000)

        worker = rt.start_thread(interp.exec, sub_main, name=f"sub{interp.id}-main")
        entered.wait()
        data = box.load()
        assert data.value == 64, f"cross-interpreter data carries {data.value}, not the payload's size"
        interp.release(data)  # _PyXIData_Release: the decref runs in the owner interpreter
        interp.call_soon(lambda: released.store(1))
        worker.join()
        interp.close()
    other.join()


@scenario(
    "twin_isolated_subinterp_init",
    "two threads create isolated subinterpreters (each its own GIL) at the same time while the main thread "
    "keeps the main GIL busy; each new interpreter fixes up sys and builtins through the runtime's extension "
    "cache (the GIL build is its default); fails as an invariant with --bug subinterp_shared_sys_init",
    steps_hint=900,
    bugs=("subinterp_shared_sys_init",),
    knobs={"build": "gil"},
    creators="threads creating interpreters",
    rounds="interpreters each creator creates and closes",
    work_ms="milliseconds the main thread computes with the main GIL",
)
def twin_isolated_subinterp_init(rt, creators: int = 2, rounds: int = 2, work_ms: int = 12):
    made = rt.var("interpreters_made", 0)
    count = rt.mutex("made_lock")

    def creator(i: int):
        for k in range(rounds):
            interp = rt.new_interpreter("isolated")
            interp.exec(lambda: rt.new_object("int", name=f"sub{interp.id}.int").decref())
            interp.close()
            with count:
                made.store(made.load() + 1)

    ts = [rt.start_thread(creator, i, name=f"creator-{i + 1}") for i in range(creators)]
    for k in range(work_ms * 10):
        rt.work(100_000)  # bytecodes with the main GIL held; drop requests are handled between them
    for t in ts:
        t.join()
    assert made.load() == creators * rounds, f"{made.load()} interpreters made, expected {creators * rounds}"


@scenario(
    "type_cache_torn_entry",
    "readers look up A.x through the type cache while a writer alternates lookups of B.y and A.x, whose cache "
    "entries share one slot (the name 'y' is interned at an address that collides, as trying candidate names "
    "would find), so the slot is rewritten back and forth; every reader checks it got A.x; fails as an "
    "assertion with --bug type_cache_no_seqlock",
    steps_hint=2800,
    bugs=("type_cache_no_seqlock",),
    readers="reader threads",
    rounds="lookups per thread",
)
def type_cache_torn_entry(rt, readers: int = 2, rounds: int = 30):
    ax = rt.new_object("str", name="'A.x'")
    by = rt.new_object("str", name="'B.y'")
    A = rt.new_type("A", attrs={"x": ax})
    B = rt.new_type("B", attrs={"y": by})
    rt.type_lookup(A, "x").decref()  # A gets a version; (A, 'x') fills its slot
    index = cache_index(rt, A, "x")
    assert rt.type_lookup(B, "z") is None  # B gets a version
    if (B.tp_version_tag ^ index) & 1:
        rt.type_setattr(B, "w", ax)  # a new version for B, with the slot's parity
        assert rt.type_lookup(B, "z") is None
    intern_at_index(rt, A.interp, "y", B, index)
    assert cache_index(rt, B, "y") == index

    def reader(i: int):
        for k in range(rounds):
            v = rt.type_lookup(A, "x")
            assert v is ax, (f"type-cache hit for (A, 'x') at slot {index} returned "
                             f"{v.name if v is not None else 'NULL'}, the MRO says 'A.x' (a torn entry)")
            v.decref()

    def writer():
        for k in range(rounds):
            rt.type_lookup(B, "y").decref()
            rt.type_lookup(A, "x").decref()

    ts = [rt.start_thread(reader, i, name=f"reader-{i + 1}") for i in range(readers)]
    ts.append(rt.start_thread(writer, name="writer"))
    for t in ts:
        t.join()


@scenario(
    "func_version_collision",
    "a call site specialises on f's function version; g's defaults are replaced (its version is cleared) and g "
    "goes through the same site, while another thread compiles functions (one version counter under its "
    "mutex); the guest checks g's result; fails as an assertion with --bug two_func_version_counters",
    steps_hint=110,
    bugs=("two_func_version_counters",),
    functions="functions the other thread compiles",
)
def func_version_collision(rt, functions: int = 4):
    versions = []

    def compiler():
        for k in range(functions):
            fn = rt.make_function(f"h{k}", lambda a: ("h", a), 1)
            versions.append(fn.func_version)

    f = rt.make_function("f", lambda a: ("f", a), 1)
    g = rt.make_function("g", lambda a, b: ("g", a, b), 2, defaults=(2,))
    other = rt.start_thread(compiler, name="compiler")
    site = rt.call_site("caller")
    for k in range(3):
        assert site.call(f, k) == ("f", k)
    g.set_defaults((3,))  # func_set_defaults: the version is cleared
    r = site.call(g, 1)
    assert r == ("g", 1, 3), f"caller(g, 1) returned {r!r}: the site specialised for f (func_version " \
        f"{site.func_version}) accepted g (func_version {g.func_version})"
    other.join()
    assert len(set(versions + [f.code.co_version, g.code.co_version])) == functions + 2, "two code objects share a version"
