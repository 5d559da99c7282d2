"""Projection of the subinterpreter and type-cache kinds (runtime/interpreters.py,
runtime/typeobject.py): ``interps``, ``type_cache`` (and ``interp_of``, filled by
pystate.new_thread in projection.py)."""

from __future__ import annotations

from .projection import register
from .state import I_MAIN, MCACHE_SIZE_EXP, QSBR_INITIAL, State


def _new(st: State, e) -> None:
    st.interps[e.interp] = [e.whence, e.feature_flags, e.own_gil, e.own_obmalloc, None, None, QSBR_INITIAL,
                            QSBR_INITIAL]


def _delete_undo(st: State, e) -> None:
    st.interps[e.interp] = [e.whence, e.feature_flags, e.own_gil, e.own_obmalloc, None, None, e.wr_seq, e.rd_seq]


def _swap(st: State, e) -> None:
    _on(st, e.tid, e.interp)


def _swap_undo(st: State, e) -> None:
    _on(st, e.tid, e.interp_old)


def _on(st: State, tid: int, interp: int) -> None:
    if interp > 0:
        st.on_interp[tid] = interp
    else:
        st.on_interp.pop(tid, None)


def _delete(st: State, e) -> None:
    del st.interps[e.interp]


def _running_main(st: State, e) -> None:
    st.interps[e.interp][I_MAIN] = e.thread or None


def _running_main_undo(st: State, e) -> None:
    st.interps[e.interp][I_MAIN] = e.thread_old or None


def _entry(st: State, key: int, version: int, name: str, value: int, addr: int) -> None:
    if version or name or value:
        st.type_cache[key] = [version, name, value, addr]
    else:
        st.type_cache.pop(key, None)


def _cache_store(st: State, e) -> None:
    _entry(st, (e.interp << MCACHE_SIZE_EXP) | e.index, e.version, e.name, e.value, e.addr)


def _cache_store_undo(st: State, e) -> None:
    _entry(st, (e.interp << MCACHE_SIZE_EXP) | e.index, e.version_old, e.name_old, e.value_old, e.addr)


register("interpreters.new", _new, _delete)
register("interpreters.delete", _delete, _delete_undo)
register("interpreters.swap", _swap, _swap_undo)
register("interpreters.running_main", _running_main, _running_main_undo)
register("typeobject.cache_store", _cache_store, _cache_store_undo)
