"""The catalog: rebuild, sync, list filters, show, relations, hooks."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
import sqlite3
import subprocess
import sys

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from archiver import catalog, layout, record
from archiver.cli import cli
from archiver.outcome import UsageError
from .test_catalog_bags import make_bag, sample_collection


@pytest.fixture
def coll(tmp_path):
    bags = tmp_path / "bags"
    return bags, sample_collection(bags)


def names(result):
    return [b["name"] for b in result.data["bags"]]


# --- pure helpers ---------------------------------------------------------------


@given(st.text(max_size=40))
@settings(max_examples=200)
def test_fold_is_idempotent_and_drops_accents(s):
    assert catalog.fold(catalog.fold(s)) == catalog.fold(s)


@pytest.mark.parametrize("a, b", [("Kamińska", "KAMINSKA"), ("Łukaszenka", "lukaszenka"), ("Zelenskyy  Volodymyr", "zelenskyy volodymyr"), ("Straße", "STRASSE")])
def test_fold_matches_case_and_accent_variants(a, b):
    assert catalog.fold(a) == catalog.fold(b)


@pytest.mark.parametrize(
    "text, lo, hi",
    [
        ("2022..2023", "2022-01-01", "2023-12-31"),
        ("2022-05..", "2022-05-01", None),
        ("..2023", None, "2023-12-31"),
        ("2021", "2021-01-01", "2021-12-31"),
        ("2022-02/2022-03", "2022-02-01", "2022-03-31"),
    ],
)
def test_parse_range(text, lo, hi):
    r = catalog.parse_range(text)
    assert (r.lower and r.lower.isoformat(), r.upper and r.upper.isoformat()) == (lo, hi)


@pytest.mark.parametrize("text", ["20x", "..", "2023..2022", "yesterday", "2022-13"])
def test_parse_range_rejects_nonsense_naming_the_option(text):
    with pytest.raises(UsageError, match="--published"):
        catalog.parse_range(text)


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)),
       st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)),
       st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)))
@settings(max_examples=150)
def test_overlap_of_a_day_is_membership(day, a, b):
    lo, hi = min(a, b), max(a, b)
    assert catalog.overlaps(day.isoformat(), catalog.DateRange(lo, hi)) == (lo <= day <= hi)


def test_overlap_uses_edtf_bounds_and_never_matches_unknown():
    may = catalog.parse_range("2022-05")
    assert catalog.overlaps("2022", may)  # a year overlaps its months
    assert catalog.overlaps("2022-XX-XX", may)
    assert not catalog.overlaps("2023", may)
    assert catalog.overlaps("2022-04/2022-06", may)
    assert not catalog.overlaps("unknown", catalog.parse_range("..2100"))


# --- rebuild, sync, list ------------------------------------------------------------


def test_rebuild_indexes_every_bag_and_skips_hidden_entries(coll, tmp_path):
    bags, made = coll
    (bags / ".staging-x").mkdir()
    (bags / "not-a-bag").mkdir()
    r = catalog.rebuild(bags)
    assert r.exit_code == 0 and r.data["bags"] == len(made)
    assert (bags / catalog.CATALOG_NAME).is_file()
    assert sorted(names(catalog.list_bags(bags))) == sorted(p.name for p in made.values())


@pytest.mark.parametrize(
    "kw, expected",
    [
        ({"outlet": "descifrando"}, ["a_interview", "b_second_translation"]),
        ({"outlet": "gazeta"}, ["c_oped", "d_oped_v2"]),
        ({"language": "en"}, ["a_interview", "b_second_translation", "e_news", "f_news_again"]),
        ({"language": "en-GB"}, ["b_second_translation"]),
        ({"language": "e"}, []),
        ({"translated": True}, ["a_interview", "b_second_translation"]),
        ({"published": "2022..2022-05"}, ["a_interview"]),
        ({"published": "2023-03.."}, ["c_oped", "d_oped_v2"]),
        ({"published": "..2022"}, ["a_interview", "b_second_translation"]),
        ({"person": "LATUSHKA"}, ["a_interview"]),  # an alias, upper case
        ({"person": "kaminska"}, ["c_oped"]),  # no accent in the query
        ({"person": "Kamińska"}, ["c_oped"]),
        ({"genre": "news"}, ["e_news", "f_news_again"]),
        ({"genre": "news", "outlet": "reform"}, ["e_news"]),
    ],
)
def test_list_filters(coll, kw, expected):
    bags, _ = coll
    assert names(catalog.list_bags(bags, **kw)) == expected


def test_relations_show_duplicates_versions_and_translations(coll):
    bags, _ = coll
    rel = {b["name"]: [(x["kind"], x["bag"], x["basis"], x.get("direction")) for x in b["related"]] for b in catalog.list_bags(bags).data["bags"]}
    assert rel["e_news"] == [("same-text", "f_news_again", "same cleaned text digest", None)]
    assert rel["a_interview"] == [("same-original", "b_second_translation", "same original URL", None)]
    assert rel["d_oped_v2"] == [("other-capture", "c_oped", "supersedes chain", "supersedes")]
    assert rel["c_oped"] == [("other-capture", "d_oped_v2", "supersedes chain", "superseded-by")]


def test_same_content_in_two_bags_and_same_original_title(tmp_path):
    bags = tmp_path / "bags"
    bags.mkdir()
    make_bag(bags, "same\n", name="x1")
    make_bag(bags, "same\n", name="x2")
    make_bag(bags, "t1\n", name="y1", source_outlet_name="Nasha Niva", translation_original__title="Ураджай")
    make_bag(bags, "t2\n", name="y2", source_outlet_name="NASHA NIVA", translation_original__title="ураджай")
    rows = {b["name"]: b["related"] for b in catalog.list_bags(bags).data["bags"]}
    assert [(x["kind"], x["basis"]) for x in rows["x1"]] == [("same-text", "same content id")]
    assert [(x["kind"], x["basis"]) for x in rows["y2"]] == [("same-original", "same original title and outlet")]


def test_sync_sees_new_changed_and_removed_bags_and_rebuild_keeps_history(coll):
    bags, made = coll
    catalog.rebuild(bags)
    assert catalog.note_event(made["news"], catalog.VALIDATION, "pass", "valid bag") == []
    make_bag(bags, "A late arrival.\n", name="g_late", title="Late")
    shutil.rmtree(made["oped"])
    found = names(catalog.list_bags(bags))
    assert "g_late" in found and "c_oped" not in found
    # a changed record is re-read without a rebuild
    rec = made["interview"] / layout.RECORD
    rec.write_text(rec.read_text().replace("Belarus must be free", "Belarus will be free"))
    assert catalog.list_bags(bags, outlet="descifrando").data["bags"][0]["title"] == "Belarus will be free"
    r = catalog.rebuild(bags)
    assert r.data["history_events_kept"] == 1
    shown = catalog.show("e_news", bags)
    assert [e["eventType"] for e in shown.data["history"]] == [catalog.PACKAGING, catalog.VALIDATION]


def test_unreadable_record_is_listed_as_unknown_with_a_warning(tmp_path):
    bags = tmp_path / "bags"
    bag = make_bag(bags, "x\n", name="broken", title="T")
    (bag / layout.RECORD).write_text("{not json")
    r = catalog.list_bags(bags)
    assert r.exit_code == 0
    assert r.data["bags"][0]["title"] == "unknown"
    assert [f.code for f in r.findings] == ["CAT-W002"]
    assert any("CAT-W002 warning broken/data/metadata/record.json" in text for s, text in r.lines() if s == "err")


def test_csv_output_neutralises_spreadsheet_formulas(tmp_path):
    bags = tmp_path / "bags"
    make_bag(bags, "x\n", name="evil", title="=HYPERLINK(\"http://x\")", language="en")
    r = catalog.list_bags(bags, fmt="csv")
    rows = list(csv.DictReader(io.StringIO(r.out[0])))
    assert rows[0]["title"] == "'=HYPERLINK(\"http://x\")"
    assert rows[0]["name"] == "evil"


# --- show -------------------------------------------------------------------------


def test_show_by_id_prefix_and_name(coll):
    bags, made = coll
    rid = json.loads((made["oped"] / layout.RECORD).read_text())["id"]
    for ident in (rid, rid[:10], "sha256:" + rid, "c_oped"):
        r = catalog.show(ident, bags)
        assert r.exit_code == 0, ident
        assert r.data["bag"] == "c_oped"
    r = catalog.show("c_oped", bags)
    origin = r.data["record"]["title"]["origin"]
    assert (origin["by"], origin["source"]) == ("curator", "sidecar.meta.json")
    assert {f["path"] for f in r.data["files"]} >= {"data/objects/text.txt", layout.RECORD, "bag-info.txt"}
    text = "\n".join(r.out)
    assert "title" in text and "(curator: sidecar.meta.json)" in text
    assert "source.outlet.url" in text and "(inferred: not-stated)" in text
    assert "person: Agnieszka Kamińska (author)" in text
    assert "  data/objects/text.txt  (20 bytes)\n    sha256 " + rid in text
    assert "other-capture: d_oped_v2" in text


def test_show_unknown_or_ambiguous_fails_in_one_line(tmp_path):
    bags = tmp_path / "bags"
    make_bag(bags, "twice\n", name="copy1")
    make_bag(bags, "twice\n", name="copy2")  # the same text in two bags: its id is ambiguous
    rid = catalog.list_bags(bags).data["bags"][0]["id"]
    r = catalog.show(rid[:8], bags)
    assert r.exit_code == 1 and [f.code for f in r.findings] == ["CAT-E001"]
    assert "matches 2 bags: copy1, copy2" in r.findings[0].message
    assert catalog.show("copy2", bags).exit_code == 0  # the bag name still picks one
    assert catalog.show("copy", bags).exit_code == 1  # a name prefix of two bags is ambiguous too
    make_bag(bags, "other\n", name="2025-07-09_outlet_title")
    assert catalog.show("2025", bags).data["bag"] == "2025-07-09_outlet_title"  # hex-looking, but no id starts so: a name prefix
    r = catalog.show("zz-no-such", bags)
    assert r.exit_code == 1 and "no bag matches 'zz-no-such'" in r.findings[0].line()


# --- hooks -----------------------------------------------------------------------


def test_index_bag_creates_the_catalog_and_note_event_never_creates_one(tmp_path):
    bags = tmp_path / "bags"
    bag = make_bag(bags, "hook\n", name="h", title="Hooked")
    assert catalog.note_event(bag, catalog.VALIDATION, "pass") == []
    assert not (bags / catalog.CATALOG_NAME).exists()  # validating a folder we do not own leaves no trace
    assert catalog.index_bag(bag) == []
    assert (bags / catalog.CATALOG_NAME).exists()
    assert catalog.note_event(bag, catalog.INGESTION, "success", "received") == []
    hist = catalog.show("h", bags).data["history"]
    assert [(e["eventType"], e["outcome"], e["agent"]) for e in hist][-1] == ("ingestion", "success", catalog.AGENT)


def test_a_broken_catalog_is_a_warning_for_hooks_and_a_usage_error_for_readers(tmp_path):
    bags = tmp_path / "bags"
    bag = make_bag(bags, "x\n", name="x")
    (bags / catalog.CATALOG_NAME).write_bytes(b"this is not sqlite" * 100)
    warn = catalog.index_bag(bag)
    assert [f.code for f in warn] == ["CAT-W001"] and not warn[0].is_error
    with pytest.raises(UsageError, match="not an archiver catalog"):
        catalog.list_bags(bags)
    res = CliRunner().invoke(cli, ["list", "--bags", str(bags)])
    assert res.exit_code == 2 and "not an archiver catalog" in res.output and "Traceback" not in res.output


def test_catalog_location_from_env_and_option(tmp_path, monkeypatch):
    bags = tmp_path / "bags"
    make_bag(bags, "x\n", name="x")
    elsewhere = tmp_path / "cat" / "c.sqlite"
    r = CliRunner().invoke(cli, ["catalog", "rebuild", "--bags", str(bags), "--catalog", str(elsewhere), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["catalog"] == str(elsewhere) and elsewhere.is_file()
    assert not (bags / catalog.CATALOG_NAME).exists()
    monkeypatch.setenv("ARCHIVER_CATALOG", str(elsewhere))
    assert catalog.locate(bags).catalog == elsewhere
    with sqlite3.connect(elsewhere) as conn:
        assert conn.execute("SELECT count(*) FROM bags").fetchone()[0] == 1


# --- CLI ----------------------------------------------------------------------------


def test_cli_list_json_and_show(coll):
    bags, _ = coll
    r = CliRunner().invoke(cli, ["list", "--bags", str(bags), "--person", "latushka", "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["count"] == 1 and data["bags"][0]["related"][0]["kind"] == "same-original"
    r = CliRunner().invoke(cli, ["catalog", "show", "a_interview", "--bags", str(bags), "--json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["record"]["title"]["value"] == "Belarus must be free"
    r = CliRunner().invoke(cli, ["show", "nope", "--bags", str(bags)])
    assert r.exit_code == 1 and "CAT-E001 error" in r.output


def test_cli_subprocess_csv(coll, tmp_path):
    bags, _ = coll
    p = subprocess.run([sys.executable, "-m", "archiver", "list", "--bags", str(bags), "--csv", "--genre", "article"],
                       capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert p.returncode == 0, p.stderr
    rows = list(csv.DictReader(io.StringIO(p.stdout)))
    assert [r["name"] for r in rows] == ["c_oped", "d_oped_v2"]
    assert rows[0]["related"] == "other-capture:d_oped_v2"


@pytest.mark.parametrize("typo, hint", [(["lsit"], "'list'"), (["valdate"], "'validate'"), (["catalog", "rebuidl"], "'rebuild'")])
def test_a_typo_suggests_the_command(typo, hint):
    r = CliRunner().invoke(cli, typo)
    assert r.exit_code == 2 and f"Did you mean {hint}" in r.output


def test_usage_errors_exit_2(coll):
    bags, _ = coll
    r = CliRunner().invoke(cli, ["list", "--bags", str(bags), "--published", "soon"])
    assert r.exit_code == 2 and "--published" in r.output


def test_a_missing_bag_folder_is_a_usage_error_and_creates_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for args in (["list"], ["show", "x"], ["audit"], ["report"], ["catalog", "rebuild"]):
        r = CliRunner().invoke(cli, args)
        assert r.exit_code == 2 and "bags" in r.output, args
    assert list(tmp_path.iterdir()) == []


# --- properties over arbitrary records ------------------------------------------------

_NAME = st.text(alphabet="abcdeéłńöüçßAÉŁZ xy-'", min_size=1, max_size=20).map(str.strip).filter(bool)
_FACT = lambda values: st.one_of(st.just("unknown"), values)  # noqa: E731


@st.composite
def small_records(draw):
    facts = {
        "language": draw(_FACT(st.sampled_from(["en", "en-GB", "pl", "be", "ru", "es", "uk"]))),
        "source.outlet.name": draw(_FACT(_NAME)),
        "translation.status": draw(st.sampled_from(["original", "translated", "machine-translated", "unknown"])),
        "dates.published": draw(_FACT(st.sampled_from(["2022", "2022-05", "2022-05-01", "2023?", "2021-XX", "201X", "2022/2023", "../2020", "2024-21"]))),
    }
    persons = draw(st.lists(st.builds(lambda n, a, r: {"name": n, "aliases": a, "role": r, "origin": {"by": "curator", "source": "s.json"}},
                                      _NAME, st.lists(_NAME, max_size=2), st.sampled_from(["ive", "aut", "trl"])), max_size=3))
    return record.build(id="a" * 64, original={"filename": "t.txt", "size": 1, "encoding": "utf-8", "newlines": "lf"},
                        facts={k: {"value": v, "origin": {"by": "curator", "source": "s.json"}} for k, v in facts.items()},
                        persons=persons)


@given(small_records())
@settings(max_examples=80, deadline=None)
def test_every_record_is_found_by_its_own_facts(rec):
    row = catalog._row_from("bag", rec, {}, [], None)
    row["persons"] = [{"name": p.name, "role": p.role, "aliases": list(p.aliases)} for p in rec.persons]
    assert catalog.matches(row, catalog.Filters())
    if rec.language.known:
        assert catalog.matches(row, catalog.Filters(language=rec.language.value.upper()))
        assert catalog.matches(row, catalog.Filters(language=rec.language.value.split("-")[0]))
    if rec.source.outlet.name.known:
        assert catalog.matches(row, catalog.Filters(outlet=rec.source.outlet.name.value.upper()))
    if rec.dates.published.known:
        assert catalog.matches(row, catalog.Filters(published=catalog.parse_range(rec.dates.published.value)))
    else:
        assert not catalog.matches(row, catalog.Filters(published=catalog.parse_range("..9999")))
    for p in rec.persons:
        for name in (p.name, *p.aliases):
            assert catalog.matches(row, catalog.Filters(person=name.swapcase()))
    assert catalog.matches(row, catalog.Filters(translated=True)) == (rec.translation.status.value in catalog.TRANSLATED)


def test_stamp_with_strings_is_the_pathlib_stamp(tmp_path):
    # catalog.stamp lstat()s plain strings; the reference joins Paths.  A missing tag file too.
    import os
    from pathlib import Path

    bag = make_bag(tmp_path / "bags", "a text\n", name="b")
    (bag / "tagmanifest-md5.txt").write_text("x")

    def reference(b: Path, names) -> str:
        parts = []
        for name in ("bag-info.txt", layout.RECORD, *sorted(names)):
            try:
                st = os.lstat(b / name)
                parts.append(f"{name}:{st.st_mtime_ns}:{st.st_size}")
            except OSError:
                parts.append(f"{name}:-")
        return "|".join(parts)

    names = [p.name for p in bag.glob("tagmanifest-*.txt")]
    assert len(names) >= 2
    assert catalog.stamp(bag) == reference(bag, names)
    assert catalog.stamp(str(bag), ["tagmanifest-none.txt", *names]) == reference(bag, ["tagmanifest-none.txt", *names])


@pytest.mark.parametrize("value", ["2024", "2024-05", "2024-05-07", "2024-21", "XXXX-07-09", "201X", "2024?",
                                   "2023/2024", "../2024-03", "2024/..", "2024-05-01T12:30:00Z", "-0044"])
def test_published_range_is_the_bounds_of_the_value(value):
    # _row_from remembers the range of a published value; it must be dates.bounds' range.
    from archiver import dates

    b = dates.bounds(value)
    want = (b.lower.isoformat() if b.lower else None, b.upper.isoformat() if b.upper else None)
    assert catalog._published_range(value) == want
    assert catalog._published_range(value) == want  # and again, from the cache
