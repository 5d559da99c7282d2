"""schemas/ is generated from the event union; the event union's own rules."""

from __future__ import annotations

import json
import re

import msgspec
import pytest

from ftreplay.record import events as ev
from ftreplay.record import schema
from ftreplay.record.events import ENVELOPE, FIELDS, KIND_ID, KINDS, SCHEMA_VERSION, TAGS, tag_of
from ftreplay.record.store import ddl


def test_repo_schemas_are_up_to_date():
    stale = schema.check()
    assert stale == [], f"schemas/ drifted from the code: {stale}; run `ftreplay schema` to regenerate"


def test_check_reports_a_modified_or_missing_file(tmp_path):
    written = schema.write(tmp_path)
    assert {p.name for p in written} == {"events.schema.json", "store.sql", "README.md"}
    assert schema.check(tmp_path) == []
    sql = tmp_path / "store.sql"
    sql.write_text(sql.read_text() + "-- hand edit\n")
    assert schema.check(tmp_path) == [str(sql)]
    (tmp_path / "events.schema.json").unlink()
    assert sorted(schema.check(tmp_path)) == sorted([str(sql), str(tmp_path / "events.schema.json")])
    schema.write(tmp_path)
    assert schema.check(tmp_path) == []


def test_generated_json_schema_covers_every_kind():
    doc = json.loads(schema.generate()["events.schema.json"])
    text = json.dumps(doc)
    for tag in TAGS:
        assert json.dumps(tag) in text, tag
    assert str(SCHEMA_VERSION) in doc["$comment"]
    assert ddl() in schema.generate()["store.sql"]


def _constant_name(tag: str) -> str:
    return tag.upper().replace(".", "_")


def test_every_kind_id_constant_names_its_class():
    constants = {name: value for name, value in vars(ev).items()
                 if re.fullmatch(r"[A-Z][A-Z0-9_]*", name) and isinstance(value, int) and not isinstance(value, bool)
                 and name != "SCHEMA_VERSION"}
    assert len(constants) == len(KINDS), sorted(set(constants) ^ {_constant_name(t) for t in TAGS})
    for name, value in constants.items():
        assert 0 <= value < len(KINDS), name
        assert _constant_name(tag_of(KINDS[value])) == name, f"{name} = {value} is {tag_of(KINDS[value])}"
    for i, tag in enumerate(TAGS):
        assert getattr(ev, _constant_name(tag)) == i == KIND_ID[tag]


def test_tags_are_unique_module_dot_verb():
    assert len(set(TAGS)) == len(TAGS)
    for tag in TAGS:
        assert re.fullmatch(r"[a-z_]+\.[a-z_]+", tag), tag


def test_envelope_comes_first_in_every_kind():
    for cls, fields in zip(KINDS, FIELDS):
        assert fields[: len(ENVELOPE)] == ENVELOPE, cls.__name__
        assert "kind" not in fields


def test_a_field_name_has_one_type_across_kinds():
    seen: dict[str, tuple[object, str]] = {}
    for cls in KINDS:
        for f in msgspec.inspect.type_info(cls).fields:
            t = f.type
            if f.name in seen:
                assert seen[f.name][0] == t, f"{cls.__name__}.{f.name} is {t}, {seen[f.name][1]} has {seen[f.name][0]}"
            else:
                seen[f.name] = (t, cls.__name__)


@pytest.mark.parametrize("tag,fields", [
    ("lock.acquire", ("mutex", "via")),
    ("lock.release", ("mutex", "via", "handoff_to")),
    ("parking_lot.park", ("addr", "detach", "timeout_ns")),
    ("parking_lot.unpark", ("addr", "woken", "has_more")),
    ("parking_lot.wake", ("addr", "result")),
    ("pystate.attach", ("thread", "old", "new")),
    ("pystate.detach", ("thread", "old", "new")),
    ("pystate.suspend", ("thread", "old", "new")),
    ("thread.start", ("thread",)),
    ("thread.exit", ("thread",)),
    ("thread.join", ("thread",)),
    ("run.failure", ("reason", "message")),
])
def test_design_core_kinds_have_their_fixed_fields(tag, fields):
    assert tag in KIND_ID
    have = FIELDS[KIND_ID[tag]]
    assert have[: len(ENVELOPE)] == ENVELOPE
    for f in fields:
        assert f in have, f"{tag} lacks {f}"
