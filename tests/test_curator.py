"""Curator metadata: sidecars (JSON, TOML), metadata.csv, and merging over inferred facts."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archiver import curator
from archiver.curator import CuratorError, Entry, merge, parse_csv, parse_person_cell, parse_sidecar
from archiver.record import Fact, Origin, Person

TOML = b"""
title = "A title"
language = "en"
[source.outlet]
name = "Gazeta"
[translation]
status = "translated"
source_language = "pl"
translator = "Anna Lis"
[[persons]]
name = "Marta K"
role = "interviewee"
aliases = ["Marta Kowalczyk"]
"""


def codes(exc: CuratorError) -> list[str]:
    return [f.code for f in exc.findings]


def test_toml_and_json_sidecars_flatten_to_the_same_field_paths():
    t = parse_sidecar(TOML, "x.meta.toml", "x.meta.toml")
    j = parse_sidecar(json.dumps({
        "title": "A title", "language": "en", "source": {"outlet": {"name": "Gazeta"}},
        "translation": {"status": "translated", "source_language": "pl", "translator": "Anna Lis"},
        "persons": [{"name": "Marta K", "role": "interviewee", "aliases": ["Marta Kowalczyk"]}],
    }).encode(), "x.meta.json", "x.meta.json")
    assert t.facts == j.facts
    assert t.facts["source.outlet.name"] == "Gazeta"
    assert t.facts["translation.translator"] == "Anna Lis"
    assert t.persons == j.persons
    assert t.persons[0]["aliases"] == ("Marta Kowalczyk",)


@pytest.mark.parametrize("doc, code, field", [
    ({"titel": "x"}, "IN-E003", "titel"),
    ({"source": {"outlet": {"nmae": "x"}}}, "IN-E003", "source.outlet.nmae"),
    ({"source": {"bogus": {"name": "x"}}}, "IN-E003", "source.bogus"),
    ({"title": ""}, "IN-E004", "title"),
    ({"title": "   "}, "IN-E004", "title"),
    ({"title": 3}, "IN-E005", "title"),
    ({"title": None}, "IN-E005", "title"),
    ({"persons": [{"name": "A"}]}, "IN-E005", "persons[1].role"),
    ({"persons": [{"name": "A", "role": "author", "age": 3}]}, "IN-E003", "persons[1].age"),
    ({"persons": "A (author)"}, "IN-E005", "persons"),
    ({"notes": [""]}, "IN-E004", "notes"),
])
def test_sidecar_problems_name_the_file_and_the_field(doc, code, field):
    with pytest.raises(CuratorError) as e:
        parse_sidecar(json.dumps(doc).encode(), "in/x.meta.json", "x.meta.json")
    f = e.value.findings[0]
    assert (f.code, f.field, f.path) == (code, field, "in/x.meta.json")
    assert "\n" not in f.line()


def test_bad_json_toml_and_duplicate_keys_are_reported_not_raised():
    for data, where in [(b"{", "x.meta.json"), (b"title = ", "x.meta.toml"), (b'{"title":"a","title":"b"}', "x.meta.json"),
                        (b"[1, 2]", "x.meta.json"), (b'{"title": NaN}', "x.meta.json"), (b"\xff\xfe", "x.meta.json")]:
        with pytest.raises(CuratorError) as e:
            parse_sidecar(data, where, where)
        assert codes(e.value)[0] in ("IN-E001", "IN-E002"), data


def test_deeply_nested_json_is_refused_cleanly():
    data = b'{"title": ' + b"[" * 100000 + b"]" * 100000 + b"}"
    with pytest.raises(CuratorError):
        parse_sidecar(data, "x.meta.json", "x.meta.json")


def test_csv_rows_columns_and_persons():
    data = (
        "\ufefffilename,title,dates.published,persons,notes\r\n"
        "a.txt,Title A,2024-05-01,Pavel Latushka [Pavel Latushko|P. Latushka] (interviewee); Marcin Makowski (ivr),A note\r\n"
        "objects/b.txt,,,,\r\n"
        ",,,,\r\n"
    ).encode()
    sheet = parse_csv(data, "in/metadata.csv")
    assert not sheet.problems
    a = sheet.rows["a.txt"]
    assert a.source == "metadata.csv row 2" and a.where == "in/metadata.csv row 2"
    assert a.facts == {"title": "Title A", "dates.published": "2024-05-01"}
    assert a.persons == (
        {"name": "Pavel Latushka", "role": "interviewee", "aliases": ("Pavel Latushko", "P. Latushka")},
        {"name": "Marcin Makowski", "role": "ivr", "aliases": ()},
    )
    assert a.notes == ("A note",)
    # Archivematica's objects/ prefix is accepted; blank cells assert nothing.
    assert sheet.rows["b.txt"].facts == {} and sheet.rows["b.txt"].persons is None


@pytest.mark.parametrize("csv_text, code, field", [
    ("name,title\na.txt,x\n", "IN-E006", "filename"),
    ("filename,titel\na.txt,x\n", "IN-E003", "titel"),
    ("filename,title,title\na.txt,x,y\n", "IN-E006", "title"),
])
def test_csv_header_problems(csv_text, code, field):
    sheet = parse_csv(csv_text.encode(), "metadata.csv")
    assert [(f.code, f.field) for f in sheet.problems][:1] == [(code, field)]


def test_csv_row_problems_stay_with_their_row():
    sheet = parse_csv(b"filename,persons\na.txt,Nobody without a role\nb.txt,X (author)\na.txt,Y (author)\nc.txt,1,2\n", "m.csv")
    assert isinstance(sheet.rows["a.txt"], list) and sheet.rows["a.txt"][0].field == "persons"
    assert isinstance(sheet.rows["b.txt"], Entry)
    lines = [f.line() for f in sheet.problems]
    assert any("row 4" in x and "already has a row" in x for x in lines)
    assert any("row 5" in x for x in lines)


def test_non_utf8_csv_is_a_finding():
    sheet = parse_csv("filename,title\na.txt,Café\n".encode("cp1252"), "m.csv")
    assert sheet.problems[0].code == "IN-E001"


names = st.text(alphabet=st.characters(blacklist_characters="[]();|", blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=20).map(str.strip).filter(bool)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(names, st.lists(names, max_size=3), st.sampled_from(["author", "interviewee", "trl", "ivr"])), min_size=1, max_size=4))
def test_person_cell_round_trips(people):
    cell = "; ".join(f"{n} [{'|'.join(a)}] ({r})" if a else f"{n} ({r})" for n, a, r in people)
    parsed = parse_person_cell(cell)
    assert [(p["name"], list(p["aliases"]), p["role"]) for p in parsed] == [(n, a, r) for n, a, r in people]


# --- merging -------------------------------------------------------------------

INFERRED = {
    "title": Fact(value="Inferred title", origin=Origin(by="inferred", rule="title-first-line", lines=(3,), confidence=0.6)),
    "language": Fact(value="en", origin=Origin(by="inferred", rule="lang", confidence=0.9)),
}
INFERRED_PERSONS = (
    Person(name="Someone", role="ive", origin=Origin(by="inferred", rule="persons-qa")),
    Person(name="Old Translator", role="trl", origin=Origin(by="inferred", rule="persons-trl")),
)


def test_curator_wins_and_records_its_source():
    e = Entry(source="x.meta.toml", where="in/x.meta.toml", facts={"title": "Curated"})
    m = merge(INFERRED, INFERRED_PERSONS, [e])
    assert m.facts["title"].value == "Curated"
    assert m.facts["title"].origin == Origin(by="curator", source="x.meta.toml")
    assert m.facts["language"] == INFERRED["language"]
    assert m.persons == INFERRED_PERSONS  # no persons stated: inferred ones stay


def test_sidecar_and_csv_conflict_names_both():
    side = Entry(source="x.meta.json", where="in/x.meta.json", facts={"title": "One"})
    row = Entry(source="metadata.csv row 3", where="in/metadata.csv row 3", facts={"title": "Two"})
    with pytest.raises(CuratorError) as e:
        merge(INFERRED, (), [side, row])
    f = e.value.findings[0]
    assert f.code == "IN-E007" and f.field == "title"
    assert "in/x.meta.json" in f.line() and "in/metadata.csv row 3" in f.line()


def test_agreeing_sources_are_fine_and_persons_conflicts_are_caught():
    a = Entry(source="x.meta.json", where="x.meta.json", facts={"title": "Same"}, persons=({"name": "A", "role": "author", "aliases": ()},))
    b = Entry(source="metadata.csv row 2", where="metadata.csv row 2", facts={"title": "Same"}, persons=({"name": "A", "role": "aut", "aliases": ()},))
    assert merge({}, (), [a, b]).facts["title"].value == "Same"
    c = Entry(source="m row 2", where="m row 2", persons=({"name": "B", "role": "author", "aliases": ()},))
    with pytest.raises(CuratorError) as e:
        merge({}, (), [a, c])
    assert e.value.findings[0].field == "persons"


def test_translator_shorthand_replaces_only_inferred_translators():
    e = Entry(source="x.meta.toml", where="x.meta.toml", facts={"translation.translator": "Anna Lis"})
    m = merge({}, INFERRED_PERSONS, [e])
    assert [(p.name, p.role) for p in m.persons] == [("Someone", "ive"), ("Anna Lis", "trl")]
    assert m.persons[-1].origin.by == "curator"
    assert "translation.translator" not in m.facts


def test_defaults_fill_only_unknowns():
    default = {"rights": Fact(value="http://rightsstatements.org/vocab/InC/1.0/", origin=Origin(by="default", source="archiver.toml"))}
    assert merge({}, (), [], default).facts["rights"].origin.by == "default"
    e = Entry(source="s", where="s", facts={"rights": "http://rightsstatements.org/vocab/NoC-US/1.0/"})
    assert merge({}, (), [e], default).facts["rights"].origin.by == "curator"


def test_bad_curator_role_is_a_finding_naming_the_sidecar():
    e = Entry(source="x.meta.json", where="in/x.meta.json", persons=({"name": "A", "role": "chef", "aliases": ()},))
    with pytest.raises(CuratorError) as exc:
        merge({}, (), [e])
    f = exc.value.findings[0]
    assert f.path == "in/x.meta.json" and f.field.startswith("persons")


def test_sidecar_paths_and_reading(tmp_path):
    text = tmp_path / "a.txt"
    text.write_text("x")
    (tmp_path / "a.meta.toml").write_text('title = "T"\n')
    (tmp_path / "a.txt.meta.json").write_text('{"title": "T"}')
    (tmp_path / "b.meta.json").write_text('{"title": "other"}')
    entries = curator.read_sidecars(text)
    assert sorted(e.source for e in entries) == ["a.meta.toml", "a.txt.meta.json"]


def test_toml_dates_may_be_written_unquoted():
    e = parse_sidecar(b"[dates]\npublished = 2025-07-09\ncaptured = 2025-07-10T08:00:00Z\n", "x.meta.toml", "x.meta.toml")
    assert e.facts == {"dates.published": "2025-07-09", "dates.captured": "2025-07-10T08:00:00Z"}


cell_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=30).filter(lambda s: s.strip() == s and s)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(["title", "source.outlet.name", "translation.original_title", "source.republisher"]), cell_text, min_size=1))
def test_any_spreadsheet_cell_survives_csv_quoting(values):
    import csv as _csv
    import io as _io

    buf = _io.StringIO()
    w = _csv.writer(buf)
    w.writerow(["filename", *values])
    w.writerow(["a.txt", *values.values()])
    sheet = parse_csv(buf.getvalue().encode("utf-8"), "metadata.csv")
    assert not sheet.problems
    assert sheet.rows["a.txt"].facts == values


_NAMES = st.lists(st.sampled_from(list("ab.-_ é") + [".txt", ".meta", "..", "\u3000"]), min_size=1, max_size=8).map("".join)


@settings(max_examples=300, deadline=None)
@given(folder=st.sampled_from(["", ".", "in", "/abs/in", "in/sub", "/"]), name=_NAMES)
def test_sidecar_names_are_those_pathlib_gives(folder, name):
    # curator._sidecar_files builds with strings what sidecar_paths built with Path.with_suffix/with_name.
    from pathlib import Path

    text = Path(folder, name) if folder else Path(name)
    if text.name != name:  # "." or ".." as a name: no such text
        return
    want = []
    for base in dict.fromkeys((text.with_suffix(""), text)):
        for suffix in curator.SIDECAR_SUFFIXES:
            want.append(str(base.with_name(base.name + suffix)))
    seen = []
    real = curator.os.path.lexists
    try:
        curator.os.path.lexists = lambda p: seen.append(p) or False
        curator._sidecar_files(str(text))
    finally:
        curator.os.path.lexists = real
    assert seen == want
