"""tui.session: the store access behind the screens, without Textual."""

from __future__ import annotations

import pytest

from ftreplay.errors import FtreplayError, StoreError, UsageError
from ftreplay.record.store import Store
from tui.session import Move, Session
from tui.timeline import Grid


@pytest.fixture
def session(store_path):
    store = Store.open(store_path)
    s = Session.open(store, "counter")
    yield s
    s.close()
    store.close()


def test_open_resolves_and_reads_the_run(session, runs):
    assert session.run_id == "counter"
    assert session.total == runs["counter"]["events"]
    assert session.threads == [1, 2, 3, 4]
    assert "counter_lock" in session.labels.values()
    assert session.start_seq() == 0 and not session.failed


def test_open_rejects_a_bad_run(store_path):
    with Store.open(store_path) as store:
        with pytest.raises(UsageError):
            Session.open(store, "nope")


def test_moves(session, sql):
    m = session.move(Move("seek", 10))
    assert m.seq == 10 and m.state.seq == 10 and m.event.seq == 10
    assert session.move(Move("seek", 10**9)).seq == session.last  # clamped
    (nxt,), = sql("SELECT min(seq) FROM events WHERE run_id = 'counter' AND seq > 10 AND kind = "
                  "(SELECT kind FROM events WHERE run_id = 'counter' AND seq = 10)")
    assert session.move(Move("kind", 10, True)).seq == nxt
    miss = session.move(Move("find", 5, False, "kind = 'no.such'"))
    assert not miss.found and "no earlier event" in miss.note
    with pytest.raises(StoreError, match="bad predicate"):
        session.move(Move("find", 5, True, "no_such_column = 1"))
    assert session.move(Move("seek", 3), cancelled=lambda: True) is None


def test_rows_and_lanes(session):
    rows = session.rows(0, 9)
    assert [r.seq for r in rows] == list(range(10))
    assert rows[0].kind == "run.label"
    data = session.lanes(Grid("seq", 10), 0, 10)
    assert set(data.cells) <= set(session.threads)
    assert all(0 <= c < 10 for cells in data.cells.values() for c in cells)


def test_query(session):
    r = session.query("SELECT seq FROM events WHERE run_id = $run ORDER BY seq", limit=5)
    assert r.columns == ["seq"] and [x[0] for x in r.rows] == [0, 1, 2, 3, 4] and r.truncated
    with pytest.raises(FtreplayError):
        session.query("SELEC 1")
    with pytest.raises(FtreplayError):
        session.query("CREATE TABLE t (a INT)")
    assert session.watch_count("kind = 'lock.acquire'") > 0


@pytest.fixture
def refcount(store_path):
    store = Store.open(store_path)
    s = Session.open(store, "refcount")
    yield s
    s.close()
    store.close()


def test_object_names_and_event_rows_carry_obj(refcount, sql):
    named = dict(sql("SELECT n.obj, l.label FROM object_new n JOIN run_label l ON l.run_id = n.run_id "
                     "AND l.addr = n.block AND l.seq < n.seq WHERE n.run_id = 'refcount'"))
    assert refcount.obj_names == named and "owned-0" in named.values()
    (seq, obj), = sql("SELECT seq, obj FROM object_incref WHERE run_id = 'refcount' ORDER BY seq LIMIT 1")
    row = refcount.rows(seq, seq)[0]
    assert row.obj == obj and row.text.startswith(f"#{obj}")


def test_biography_by_id_name_and_block(refcount, sql):
    (obj, block, born), = sql("SELECT n.obj, n.block, n.seq FROM object_new n JOIN run_label l "
                              "ON l.run_id = n.run_id AND l.addr = n.block "
                              "WHERE n.run_id = 'refcount' AND l.label = 'owned-0'")
    seqs = [r[0] for r in sql("SELECT seq FROM events WHERE run_id = 'refcount' AND obj = ? ORDER BY seq", [obj])]
    for text in (str(obj), f"#{obj}", "owned-0", f"0x{block:x}"):
        bio = refcount.biography(text, at=refcount.last)
        assert bio.obj == obj and list(bio.seqs) == seqs and bio.born == born == seqs[0], text
        assert bio.title == f"obj #{obj} owned-0" and bio.type == "dict"
    with pytest.raises(UsageError, match="no object #99999"):
        refcount.biography("#99999", 0)
    with pytest.raises(UsageError, match="no object is named"):
        refcount.biography("nobody", 0)
    with pytest.raises(UsageError, match="no object was created at 0x10"):
        refcount.biography("0x10", 0)
