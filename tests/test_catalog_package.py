"""The catalog, audit and report over real packaged bags (archiver.package), end to end."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from archiver import audit, catalog, report
from archiver.package import package

ROOT_BIN = [sys.executable, "-m", "archiver"]


@pytest.fixture(scope="module")
def packaged(tmp_path_factory, request):
    from .conftest import need_shared

    seeds = need_shared("corpus", "seeds")
    work = tmp_path_factory.mktemp("collection")
    (work / "incoming").mkdir()
    for p in sorted(seeds.glob("*.txt")):
        shutil.copy(p, work / "incoming" / p.name)
    mp = pytest.MonkeyPatch()
    mp.setenv("SOURCE_DATE_EPOCH", "1750000000")
    mp.chdir(work)  # no archiver.toml here: neutral defaults
    try:
        outcome = package(["incoming"], out="bags", jobs=1)
        assert outcome.exit_code == 0, [f.line() for r in outcome.results for f in r.findings]
        yield work
    finally:
        mp.undo()


def test_package_keeps_the_catalog_current_or_list_syncs_it(packaged):
    r = catalog.list_bags(packaged / "bags")
    assert r.exit_code == 0 and r.data["count"] == 5
    assert all(b["id"] != "unknown" for b in r.data["bags"])
    # the seeds name Pavel Latushka/Latushko; matching ignores case
    a = {b["name"] for b in catalog.list_bags(packaged / "bags", person="latush").data["bags"]}
    b = {b["name"] for b in catalog.list_bags(packaged / "bags", person="LATUSH").data["bags"]}
    assert len(a) >= 2 and a == b


def test_show_a_packaged_bag_with_inferred_origins_and_both_algorithms(packaged):
    bags = packaged / "bags"
    first = catalog.list_bags(bags).data["bags"][0]
    r = catalog.show(first["id"][:12], bags)
    assert r.exit_code == 0
    algs = {f["algorithm"] for f in r.data["files"]}
    assert {"sha256", "sha512"} <= algs
    text = "\n".join(r.out)
    assert "inferred: " in text and "information package creation" in text


def test_audit_and_report_over_packaged_bags(packaged, tmp_path):
    bags = packaged / "bags"
    r = audit.audit(bags)
    assert r.exit_code == 0 and r.data["passed"] == 5
    assert all("sha256+sha512" in c["algorithms"][0] + "+" + c["algorithms"][1] for c in r.data["checked"])
    rep = report.report(bags, out=tmp_path / "site")
    assert rep.exit_code == 0
    assert len(list((tmp_path / "site" / "bags").iterdir())) == 5


def test_cli_subprocess_over_packaged_bags(packaged):
    p = subprocess.run([*ROOT_BIN, "list", "--bags", "bags", "--json", "--translated"], cwd=packaged,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    data = json.loads(p.stdout)
    assert data["count"] >= 1 and all(b["translation"] in ("translated", "machine-translated") for b in data["bags"])


# --- the hooks in package, validate and receive ----------------------------------------


def test_package_catalogs_what_it_writes(packaged):
    import sqlite3

    cat = packaged / "bags" / catalog.CATALOG_NAME
    assert cat.is_file()  # written by package itself, before any list
    with sqlite3.connect(cat) as conn:
        assert conn.execute("SELECT count(*) FROM bags").fetchone()[0] == 5


def test_validate_records_events_only_where_a_catalog_exists(tmp_path):
    from archiver import validate

    from .test_catalog_bags import make_bag

    bag = make_bag(tmp_path / "bags", "v\n", name="v")
    assert validate.validate([str(tmp_path / "bags")]).bags  # runs, whatever it finds of a hand-made bag
    assert not (tmp_path / "bags" / catalog.CATALOG_NAME).exists()
    catalog.rebuild(tmp_path / "bags")
    validate.validate([str(bag)], fast=True)
    hist = catalog.show("v", tmp_path / "bags").data["history"]
    assert hist[-1]["eventType"] == "validation" and hist[-1]["detail"].startswith("fast check")


def test_receive_into_catalogs_the_arrivals_with_an_ingestion_event(packaged, tmp_path):
    from archiver import deliver

    assert deliver.export([str(packaged / "bags")], to=str(tmp_path / "d"), format="tar").exit_code == 0
    out = deliver.receive(str(tmp_path / "d"), into=str(tmp_path / "lib"))
    assert out.exit_code == 0
    rows = catalog.list_bags(tmp_path / "lib").data["bags"]
    assert len(rows) == 5
    hist = catalog.show(rows[0]["name"], tmp_path / "lib").data["history"]
    assert ("ingestion", "success", "received from d") in [(e["eventType"], e["outcome"], e["detail"]) for e in hist]


def test_a_catalog_failure_never_fails_packaging(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("A short text about nothing.\n")
    (tmp_path / "bags" / catalog.CATALOG_NAME).mkdir(parents=True)  # a folder where the file should be
    out = package(["in"], out="bags", jobs=1)
    assert out.exit_code == 0
    assert [f.code for f in out.notices] == ["CAT-W001"]
    assert any(p.is_dir() and not p.name.startswith(".") for p in (tmp_path / "bags").iterdir())


# --- package's workers catalog their own bags: exactly what read_bag reads -----


@pytest.mark.parametrize("jobs", [1, 2])
def test_the_rows_package_makes_are_what_read_bag_reads(tmp_path, monkeypatch, jobs):
    from pathlib import Path

    from archiver.config import Config

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1750000000")
    monkeypatch.chdir(tmp_path)
    src = tmp_path / "in"
    src.mkdir()
    texts = sorted((Path(__file__).parent / "texts").glob("*.txt"))
    for p in texts:
        shutil.copy(p, src / p.name)
    # Names the manifests must escape or that need a payload slug.
    (src / "100% sure.txt").write_bytes(texts[0].read_bytes() + b"\nA line of its own.\n")
    (src / "\u3000wide space.txt").write_text("Title: A wide space\n\nThe body of a text.\n", encoding="utf-8")
    (src / "line\nbreak.txt").write_text("Another text entirely.\n", encoding="utf-8")
    cfg = Config(algorithms=["md5", "sha256", "sha512"], organization="Org")
    seen = {}
    real = catalog.Indexer.add

    def spy(self, bag_path, rows=None):
        seen[bag_path] = rows
        return real(self, bag_path, rows)

    monkeypatch.setattr(catalog.Indexer, "add", spy)
    monkeypatch.setattr("archiver.package.CATALOG_BATCH", 5)  # several transactions, and a last partial one
    outcome = package([src], out=tmp_path / "bags", jobs=jobs, config=cfg, split=True)
    packaged = [r for r in outcome.results if r.status == "packaged"]
    assert len(packaged) >= len(texts) + 3 and len(packaged) % 5
    assert list(seen) == [r.bag for r in packaged]  # in the order of the results
    for r in packaged:
        assert r.catalog is None  # stored in the catalog, not kept with the results
        assert seen[r.bag] is not None, r.file
        assert seen[r.bag] == catalog.read_bag(Path(r.bag))[:3], r.file
    # ... and what the catalog holds is what a rebuild from the bags gives (which goes by bag name).
    before = {t: sorted(rows) for t, rows in _catalog_content(tmp_path / "bags").items()}
    catalog.rebuild(tmp_path / "bags")
    assert {t: sorted(rows) for t, rows in _catalog_content(tmp_path / "bags").items()} == before


def _catalog_content(bags):
    import sqlite3

    with sqlite3.connect(bags / catalog.CATALOG_NAME) as conn:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in ("bags", "persons", "files")} | {
            "events": conn.execute("SELECT bag, record_id, type, datetime, outcome, detail, agent, derived FROM events ORDER BY seq").fetchall()}


def test_a_bag_package_could_not_catalog_itself_is_read_from_disk(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1750000000")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.txt").write_text("Title: One\n\nA short text.\n", encoding="utf-8")

    def broken(*a, **k):
        raise RuntimeError("no rows")

    monkeypatch.setattr(catalog, "read_written_bag", broken)
    outcome = package([tmp_path / "a.txt"], out=tmp_path / "bags", jobs=1)
    assert outcome.exit_code == 0 and outcome.results[0].catalog is None
    listed = catalog.list_bags(tmp_path / "bags")
    assert listed.data["count"] == 1 and listed.data["bags"][0]["id"] == outcome.results[0].id


def _rows(name, tmp):
    bag = tmp / name
    return ({**{c: None for c in catalog._BAG_COLUMNS}, "name": name, "id": name * 4, "bagging_date": "2026-12-06",
             "payload_oxum": "1.1", "stamp": ""}, [{"name": "A", "role": "aut", "aliases": []}],
            [{"path": "data/x", "algorithm": "sha256", "digest": "0" * 64, "size": 1, "tag": False}]), bag


@pytest.mark.parametrize("batch", [None, 1, 2, 5])
def test_the_indexer_stores_the_same_rows_in_batches_as_at_once(tmp_path, monkeypatch, batch):
    # Rows given in batches end up as rows given all at once (index_bags_after): same content, same order.
    monkeypatch.chdir(tmp_path)
    got = {}
    for label, size in (("once", None), ("batched", batch)):
        out = tmp_path / label
        out.mkdir()
        ix = catalog.Indexer(batch=size)
        for name in ("b", "a", "c", "e", "d"):
            rows, bag = _rows(name, out)
            ix.add(str(bag), rows)
        assert ix.close() == []
        got[label] = _catalog_content(out)
    assert got["batched"] == got["once"] and len(got["once"]["bags"]) == 5
    assert [r[0] for r in got["once"]["bags"]] == ["b", "a", "c", "e", "d"]


def test_the_indexer_reports_a_catalog_it_cannot_write_once_and_goes_on(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bags" / catalog.CATALOG_NAME).mkdir(parents=True)  # a folder where the file should be
    ix = catalog.Indexer(batch=2)
    for name in "abcde":
        ix.add(str(_rows(name, tmp_path / "bags")[1]), _rows(name, tmp_path / "bags")[0])
    found = ix.close()
    assert [(f.code, f.path) for f in found] == [("CAT-W001", str(tmp_path / "bags" / "_"))]
    # the same warning index_bags_after gives for the whole batch at once
    again = catalog.index_bags_after([str(tmp_path / "bags" / n) for n in "abcde"],
                                     known={str(tmp_path / "bags" / n): _rows(n, tmp_path / "bags")[0] for n in "abcde"})
    assert [f.line() for f in again] == [f.line() for f in found]


def test_an_interrupted_indexer_keeps_what_it_committed_and_nothing_half_done(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bags").mkdir()
    ix = catalog.Indexer(batch=2)
    for name in "abc":
        rows, bag = _rows(name, tmp_path / "bags")
        ix.add(str(bag), rows)
    ix.discard()  # as package does on KeyboardInterrupt: "c" was waiting, never stored
    assert [r[0] for r in _catalog_content(tmp_path / "bags")["bags"]] == ["a", "b"]


def test_validate_records_one_event_per_bag_with_its_verdict(packaged, tmp_path, monkeypatch):
    import sqlite3

    from archiver import validate

    bags = tmp_path / "bags"
    shutil.copytree(packaged / "bags", bags)
    names = sorted(p.name for p in bags.iterdir() if not p.name.startswith("."))
    broken = bags / names[1]
    next((broken / "data" / "objects").glob("*.txt")).write_bytes(b"changed\n")
    with sqlite3.connect(bags / catalog.CATALOG_NAME) as conn:  # one bag not yet catalogued: stored on the way
        conn.execute("DELETE FROM bags WHERE name=?", (names[0],))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1760000000")
    assert validate.validate([str(bags)], jobs=1).exit_code == 1
    with sqlite3.connect(bags / catalog.CATALOG_NAME) as conn:
        got = conn.execute("SELECT bag, datetime, outcome, detail FROM events WHERE type='validation' ORDER BY seq").fetchall()
        assert conn.execute("SELECT count(*) FROM bags WHERE name=?", (names[0],)).fetchone()[0] == 1
    assert [g[0] for g in got] == names
    assert {g[1] for g in got} == {"2025-10-09T08:53:20Z"}
    verdicts = {g[0]: (g[2], g[3]) for g in got}
    assert verdicts[names[0]] == ("pass", "full validation: 0 error(s), 1 warning(s)")
    outcome, detail = verdicts[broken.name]
    assert outcome == "fail" and detail.startswith("full validation: ") and "BAG-E013" in detail and "BAG-E015" in detail
