"""``archiver package`` end to end: seeds, samples, idempotence, reproducibility, bad input."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import bagit
import pytest
from click.testing import CliRunner

from archiver import package as pkg
from archiver.cli import cli
from archiver.config import Config
from archiver.package import item_bytes, package

ROOT = Path(__file__).resolve().parent.parent
GOOD = "top of page\n\nA harbour story\n\nBody text of the story.\n\nbottom of page\n"


def snapshot(folder: Path) -> dict[str, tuple]:
    """Every entry below folder: bytes digest and mtime (files), mtime (folders)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        if Path(dirpath) == folder:  # hidden entries beside the bags (the catalog) are not bags
            dirnames[:] = [n for n in dirnames if not n.startswith(".")]
            filenames = [n for n in filenames if not n.startswith(".")]
        for n in dirnames + filenames:
            p = Path(dirpath) / n
            st = os.lstat(p)
            rel = str(p.relative_to(folder))
            out[rel] = (hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir", st.st_mtime_ns)
    return out


def bags(out: Path) -> list[Path]:
    return sorted(p for p in out.iterdir() if not p.name.startswith(".")) if out.exists() else []


def run(paths, out, **kw):
    kw.setdefault("jobs", 1)
    kw.setdefault("config", Config())
    return package([str(p) for p in paths], out=str(out), **kw)


def all_findings(result):
    return list(result.notices) + [f for r in result.results for f in r.findings]


def xsd_check(files: list[Path], xsd_dir: Path) -> subprocess.CompletedProcess:
    tool = xsd_dir.parent / "tools" / "validate-xml"  # the shared tool beside the schemas
    return subprocess.run([sys.executable, str(tool), *map(str, files)], capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def seed_bags(tmp_path_factory):
    from tests.conftest import need_shared

    seeds = need_shared("corpus", "seeds")
    src = tmp_path_factory.mktemp("seeds")
    for f in sorted(seeds.glob("*.txt")):
        shutil.copyfile(f, src / f.name)
    out = tmp_path_factory.mktemp("bags") / "out"
    before = snapshot(src)
    result = package([str(src)], out=str(out), jobs=2, config=Config(organization="Test Archive"))
    return src, out, result, before


def test_every_seed_packages_into_a_valid_bag_with_valid_mets(seed_bags, xsd_dir):
    src, out, result, _ = seed_bags
    assert result.exit_code == 0, [f.line() for f in all_findings(result)]
    assert result.count("packaged") == 5
    made = bags(out)
    assert len(made) == 5
    for b in made:
        bagit.Bag(str(b)).validate()
        info = (b / "bag-info.txt").read_text()
        rec = json.loads((b / "data/metadata/record.json").read_text())
        assert f"External-Identifier: sha256:{rec['id']}\n" in info
        assert b.name.endswith("_" + rec["id"][:12])
        original = b / "data/objects" / rec["original"]["filename"]
        assert original.read_bytes() == (src / rec["original"]["filename"]).read_bytes()
    p = xsd_check([b / "data/metadata/mets.xml" for b in made], xsd_dir)
    assert p.returncode == 0, p.stdout + p.stderr


def test_packaging_does_not_touch_the_inputs(seed_bags):
    src, _, _, before = seed_bags
    assert snapshot(src) == before


def test_packaging_again_is_already_packaged_and_changes_nothing(seed_bags):
    src, out, _, _ = seed_bags
    before = snapshot(out)
    again = package([str(src)], out=str(out), jobs=1, config=Config(organization="Test Archive"))
    assert again.exit_code == 0
    assert [r.status for r in again.results] == ["already packaged"] * 5
    assert snapshot(out) == before
    assert any("already packaged" in text for _, text in again.lines())


def test_same_inputs_and_source_date_epoch_give_byte_identical_bags(tmp_path, monkeypatch):
    src = tmp_path / "in"
    shutil.copytree(ROOT / "incoming", src)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1720000000")
    cfg = Config(organization="Org", rights="http://rightsstatements.org/vocab/InC/1.0/")
    a = run([src], tmp_path / "a", config=cfg)
    b = run([src], tmp_path / "b", config=cfg, jobs=2)
    assert a.exit_code == b.exit_code == 0
    sa, sb = snapshot(tmp_path / "a"), snapshot(tmp_path / "b")
    assert sa == sb and len(sa) > 20
    info = next((tmp_path / "a").glob("*/bag-info.txt")).read_text()
    assert "Bagging-Date: 2024-07-03\n" in info
    assert b'CREATEDATE="2024-07-03T' in next((tmp_path / "a").glob("*/data/metadata/mets.xml")).read_bytes()


def test_bad_source_date_epoch_is_a_usage_error(tmp_path, monkeypatch):
    (tmp_path / "a.txt").write_text(GOOD)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    r = CliRunner().invoke(cli, ["package", str(tmp_path / "a.txt"), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "SOURCE_DATE_EPOCH" in r.output


def test_sample_collection_packages_with_curator_metadata(tmp_path):
    src = tmp_path / "incoming"
    shutil.copytree(ROOT / "incoming", src)
    before = snapshot(src)
    result = run([src], tmp_path / "out", config=ROOT / "archiver.toml")
    assert snapshot(src) == before  # sidecars, metadata.csv and texts untouched
    assert result.exit_code == 0, [f.line() for f in all_findings(result)]
    assert result.count("packaged") >= 3
    records = {json.loads((b / "data/metadata/record.json").read_text())["original"]["filename"]: b for b in bags(tmp_path / "out")}
    inter = json.loads((records["interview-harbour-council.txt"] / "data/metadata/record.json").read_text())
    assert inter["title"]["origin"] == {"by": "curator", "source": "interview-harbour-council.meta.toml", "lines": []}
    assert inter["translation"]["source_language"]["value"] == "pl"
    assert {(p["name"], p["role"]) for p in inter["persons"]} >= {("Anna Lis", "trl"), ("Marta Kowalczyk", "ive")}
    assert inter["rights"]["origin"]["by"] == "curator"
    news = json.loads((records["news-library-grant.txt"] / "data/metadata/record.json").read_text())
    assert news["title"]["origin"]["source"] == "metadata.csv row 2"
    assert news["original"]["newlines"] == "crlf"
    assert news["rights"] == {"value": "http://rightsstatements.org/vocab/InC/1.0/",
                              "origin": {"by": "default", "source": "archiver.toml", "lines": []}}
    assert records["news-library-grant.txt"].name.startswith("2024-11-18_town-crier_library-wins-grant")
    info = (records["news-library-grant.txt"] / "bag-info.txt").read_text()
    assert "Source-Organization: Example Community Archive\n" in info
    assert "Contact-Email: curator@example.org\n" in info
    assert "Internal-Sender-Identifier: news-library-grant.txt\n" in info


def test_one_bad_document_does_not_stop_the_batch(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "good.txt").write_text(GOOD)
    (src / "latin1.txt").write_bytes("Caf\xe9 au lait, na\xefve r\xe9sum\xe9 of the day\n".encode("latin-1") * 5)
    (src / "badmeta.txt").write_text(GOOD.replace("harbour", "quay"))
    (src / "badmeta.meta.json").write_text('{"titel": "typo"}')
    (src / "baddate.txt").write_text(GOOD.replace("harbour", "river"))
    (src / "baddate.meta.toml").write_text('[dates]\npublished = "2025-13-01"\n')
    os.mkfifo(src / "fifo.txt")  # never opened for reading: no hang
    result = run([src], tmp_path / "out")
    assert result.exit_code == 1
    status = {Path(r.file).name: r.status for r in result.results}
    assert status == {"good.txt": "packaged", "latin1.txt": "failed", "badmeta.txt": "failed",
                      "baddate.txt": "failed", "fifo.txt": "failed"}
    lines = {Path(r.file).name: [f.line() for f in r.findings] for r in result.results}
    assert any("IN-E101" in x and "latin1.txt" in x and "detected encoding" in x for x in lines["latin1.txt"])
    assert any(str(src / "badmeta.meta.json") in x and "titel" in x for x in lines["badmeta.txt"])
    # A curator value's error names the sidecar, and the field.
    assert any(x.startswith("REC-E001 error " + str(src / "baddate.meta.toml") + ": dates.published:") for x in lines["baddate.txt"])
    assert any("IN-E102" in x for x in lines["fifo.txt"])
    assert len(bags(tmp_path / "out")) == 1


def test_rules_across_fields_are_reported_with_the_file_and_field(tmp_path):
    (tmp_path / "a.txt").write_text(GOOD)
    (tmp_path / "a.meta.json").write_text(json.dumps({"dates": {"published": "2025-07-09", "captured": "2025-07-01T00:00:00Z"}}))
    result = run([tmp_path / "a.txt"], tmp_path / "out")
    (f,) = result.results[0].findings
    assert (f.code, f.field, f.path) == ("REC-E002", "dates.captured", str(tmp_path / "a.meta.json"))


def test_csv_and_sidecar_disagreeing_is_an_error_naming_both(tmp_path):
    (tmp_path / "a.txt").write_text(GOOD)
    (tmp_path / "a.meta.toml").write_text('title = "One title"\n')
    (tmp_path / "metadata.csv").write_text("filename,title\na.txt,Another title\n")
    result = run([tmp_path], tmp_path / "out")
    assert result.exit_code == 1
    (f,) = result.results[0].findings
    assert f.code == "IN-E007" and f.field == "title"
    assert str(tmp_path / "a.meta.toml") in f.line() and str(tmp_path / "metadata.csv") + " row 2" in f.line()
    assert bags(tmp_path / "out") == []


def test_csv_row_for_a_missing_file_is_a_warning(tmp_path):
    (tmp_path / "a.txt").write_text(GOOD)
    (tmp_path / "metadata.csv").write_text("filename,title\na.txt,T\nghost.txt,G\n")
    result = run([tmp_path], tmp_path / "out")
    assert result.exit_code == 0
    assert [f.code for f in result.notices] == ["IN-W001"]


def test_a_text_without_metadata_packages_with_explicit_unknowns(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"\xef\xbb\xbfJust one line, no newline")
    result = run([tmp_path / "a.txt"], tmp_path / "out")
    assert result.exit_code == 0
    (b,) = bags(tmp_path / "out")
    rec = json.loads((b / "data/metadata/record.json").read_text())
    assert rec["original"]["encoding"] == "utf-8-sig"
    assert rec["rights"]["value"] == "unknown" and rec["dates"]["published"]["value"] == "unknown"
    assert b.name.startswith("undated_")
    assert (b / "data/objects/a.txt").read_bytes().startswith(b"\xef\xbb\xbf")


def test_empty_folder_says_what_to_put_there(tmp_path):
    r = CliRunner().invoke(cli, ["package", str(tmp_path), "--out", str(tmp_path / "out")])
    assert r.exit_code == 0
    assert "NAME.txt" in r.output and "metadata.csv" in r.output


def test_missing_input_path_is_reported(tmp_path):
    result = run([tmp_path / "nope"], tmp_path / "out")
    assert result.exit_code == 1 and result.notices[0].code == "IN-E010"


def test_changed_text_with_same_url_supersedes_the_earlier_bag(tmp_path):
    meta = json.dumps({"source": {"url": "https://example.org/story"}})
    v1, v2 = tmp_path / "v1", tmp_path / "v2"
    v1.mkdir(), v2.mkdir()
    (v1 / "story.txt").write_text(GOOD)
    (v1 / "story.meta.json").write_text(meta)
    (v2 / "story.txt").write_text(GOOD + "\nA correction was added.\n")
    (v2 / "story.meta.json").write_text(meta)
    out = tmp_path / "out"
    first = run([v1], out)
    second = run([v2], out)
    assert first.exit_code == second.exit_code == 0
    old_id = first.results[0].id
    assert second.results[0].supersedes == old_id
    new_bag = Path(second.results[0].bag)
    assert json.loads((new_bag / "data/metadata/record.json").read_text())["supersedes"] == old_id
    assert f"Replaces: sha256:{old_id}\n" in (new_bag / "bag-info.txt").read_text()
    # A third capture supersedes the second (the chain's head), not the first.
    v3 = tmp_path / "v3"
    v3.mkdir()
    (v3 / "story.txt").write_text(GOOD + "\nTwo corrections.\n")
    (v3 / "story.meta.json").write_text(meta)
    assert run([v3], out).results[0].supersedes == second.results[0].id


def test_split_packages_each_listing_item_with_its_exact_bytes(tmp_path, monkeypatch):
    from archiver.extract import Inference, ListingItem

    text = "Site search\r\n\r\n  • First item\r\n    its summary\r\n\r\n  • Second item\r\n    more\r\n"
    (tmp_path / "listing.txt").write_bytes(text.encode())
    real_infer = pkg._infer

    def fake_infer(t):
        base = real_infer(t)
        if not t.startswith("Site search"):
            return base
        items = (ListingItem(1, 3, 4, real_infer("  • First item\r\n")), ListingItem(2, 6, 7, real_infer("  • Second item\r\n")))
        return Inference(facts=base.facts, cleaned=base.cleaned, items=items)

    monkeypatch.setattr(pkg, "_infer", fake_infer)
    result = run([tmp_path / "listing.txt"], tmp_path / "out", split=True)
    assert result.exit_code == 0, [f.line() for f in all_findings(result)]
    assert [r.item for r in result.results] == [None, 1, 2]
    parent = result.results[0].id
    item = json.loads((Path(result.results[2].bag) / "data/metadata/record.json").read_text())
    assert item["listing"] == {"parent": parent, "item": 2, "lines": [6, 7]}
    assert (Path(result.results[2].bag) / "data/objects" / item["original"]["filename"]).read_bytes() == b"  \xe2\x80\xa2 Second item\r\n    more\r\n"
    assert "-item2_" in Path(result.results[2].bag).name


def test_item_bytes_keep_line_ends_and_skip_the_bom():
    data = b"\xef\xbb\xbfa\r\nb\nc\rd"
    assert item_bytes(data, 1, 1) == b"a\r\n"
    assert item_bytes(data, 2, 4) == b"b\nc\rd"


def test_cli_json_and_exit_codes_via_click(tmp_path):
    (tmp_path / "a.txt").write_text(GOOD)
    (tmp_path / "b.txt").write_bytes(b"\xff\xfe\x00bad")
    r = CliRunner().invoke(cli, ["package", str(tmp_path), "--out", str(tmp_path / "out"), "--json", "-j", "1"])
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    assert doc["summary"] == {"packaged": 1, "already packaged": 0, "failed": 1}
    assert {x["status"] for x in doc["results"]} == {"packaged", "failed"}


def test_cli_in_a_real_process_never_shows_a_traceback(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text(GOOD)
    (src / "bad.txt").write_bytes("\u0416\u0443\u043a \u0438 \u043f\u0430\u0443\u043a".encode("cp1251") * 20)
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}
    env.pop("ARCHIVER_DEBUG", None)
    p = subprocess.run([sys.executable, "-m", "archiver", "package", str(src), "--out", str(tmp_path / "out")],
                       capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert p.returncode == 1
    assert "Traceback" not in p.stderr
    assert "packaged " in p.stdout and "1 packaged, 0 already packaged, 1 failed" in p.stdout
    err = [ln for ln in p.stderr.splitlines() if "IN-E101" in ln]
    assert len(err) == 1 and "bad.txt" in err[0]
    p2 = subprocess.run([sys.executable, "-m", "archiver", "package", str(src / "a.txt"), "--out", str(tmp_path / "out")],
                        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert p2.returncode == 0 and "already packaged" in p2.stdout


def test_bad_config_is_a_usage_error(tmp_path, monkeypatch):
    (tmp_path / "a.txt").write_text(GOOD)
    (tmp_path / "archiver.toml").write_text('organisation = "typo"\n')
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(cli, ["package", "a.txt", "--out", "out"])
    assert r.exit_code == 2 and "organisation" in r.output


@pytest.mark.parametrize("jobs", [1, 2])
def test_the_same_text_twice_in_a_batch_makes_one_bag(tmp_path, jobs):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text(GOOD)
    (src / "copy.txt").write_text(GOOD)
    (src / "copy.meta.json").write_text('{"title": "A different title for the same bytes"}')
    result = run([src], tmp_path / "out", jobs=jobs)
    assert result.exit_code == 0
    assert sorted(r.status for r in result.results) == ["already packaged", "packaged"]
    assert len(bags(tmp_path / "out")) == 1


def test_a_single_path_string_is_one_path(tmp_path):
    (tmp_path / "a.txt").write_text(GOOD)
    result = package(str(tmp_path / "a.txt"), out=str(tmp_path / "out"), jobs=1, config=Config())
    assert result.exit_code == 0 and result.count("packaged") == 1


def test_hostile_file_names_still_make_portable_bags(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    names = [b"bad\xffbytes.txt", b"new\nline.txt", b"CON.txt", "caf\u00e9 50%.txt".encode()]
    for i, n in enumerate(names):
        with open(os.path.join(os.fsencode(src), n), "wb") as f:
            f.write(f"Title {i}\n\nbody\n".encode())
    result = run([src], tmp_path / "out")
    assert result.exit_code == 0, [f.line() for f in all_findings(result)]
    made = bags(tmp_path / "out")
    assert len(made) == 4
    for b in made:
        bagit.Bag(str(b)).validate()
        for line in (b / "bag-info.txt").read_text().splitlines():
            assert re.match(r"^[A-Za-z-]+: \S", line), line  # every value on its own line
    filenames = {json.loads((b / "data/metadata/record.json").read_text())["original"]["filename"] for b in made}
    assert "bad\\xffbytes.txt" in filenames and "new\nline.txt" in filenames


def test_two_runs_at_once_into_one_out_make_each_bag_once(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(6):
        (src / f"t{i}.txt").write_text(GOOD.replace("harbour", f"harbour {i}"))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "archiver", "package", str(src), "--out", str(out), "-j", "1", "--json"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path) for _ in range(2)]
    docs = []
    for p in procs:
        o, e = p.communicate(timeout=120)
        assert p.returncode == 0, e
        docs.append(json.loads(o))
    assert len(bags(out)) == 6
    # Every text was packaged by exactly one of the runs.
    assert sum(d["summary"]["packaged"] for d in docs) == 6
    assert not (out / ".staging").exists() or not list((out / ".staging").glob("run-*"))
    for b in bags(out):
        bagit.Bag(str(b)).validate()


def test_symlinked_texts_and_sidecars_are_never_followed(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("outside the input folder\n")
    src = tmp_path / "in"
    src.mkdir()
    (src / "link.txt").symlink_to(secret)
    (src / "a.txt").write_text(GOOD)
    (src / "a.meta.json").symlink_to(secret)
    result = run([src], tmp_path / "out")
    lines = [f.line() for r in result.results for f in r.findings]
    assert result.exit_code == 1 and bags(tmp_path / "out") == []
    assert any("link.txt" in x and "symbolic link" in x for x in lines)
    assert any("a.meta.json" in x and "symbolic link" in x for x in lines)


def test_split_of_the_real_listing_seed_keeps_each_items_exact_lines(tmp_path, seeds_dir):
    listing = seeds_dir / "001_92da15da1408a280.txt"
    data = listing.read_bytes()
    result = run([listing], tmp_path / "out", split=True)
    assert result.exit_code == 0, [f.line() for f in all_findings(result)]
    items = [r for r in result.results if r.item is not None]
    assert len(items) >= 2  # a search page of several item summaries
    parent = result.results[0].id
    for r in items:
        b = Path(r.bag)
        bagit.Bag(str(b)).validate()
        rec = json.loads((b / "data/metadata/record.json").read_text())
        first, last = rec["listing"]["lines"]
        assert rec["listing"]["parent"] == parent
        assert (b / "data/objects" / rec["original"]["filename"]).read_bytes() == item_bytes(data, first, last)


def test_the_result_log_keeps_results_on_disk_in_order(monkeypatch):
    from archiver.findings import Finding
    from archiver.package import Result, ResultLog

    rs = [Result(file=f"t{i}.txt", status=("packaged", "failed", "already packaged")[i % 3], bag=f"b{i}",
                 findings=[Finding.of("IN-E012", f"t{i}.txt", "x")] if i % 3 == 1 else []) for i in range(50)]
    log = ResultLog(rs[:10])
    log.extend(rs[10:])
    assert len(log) == 50 and list(log) == rs and log[0] == rs[0] and log[-1] == rs[-1] and log[5:8] == rs[5:8]
    assert (log.tally("packaged"), log.tally("failed"), log.tally("already packaged")) == (17, 17, 16)
    assert all(isinstance(x, int) for x in log._items)  # offsets, not the results: memory stays flat
    # No room for the spool: results are kept in memory instead, the same to read.
    import tempfile

    def full(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tempfile, "TemporaryFile", full)
    mem = ResultLog(rs)
    assert list(mem) == rs and mem.tally("failed") == 17 and mem[3] == rs[3]


def test_the_result_log_appends_after_reads_without_overwriting():
    # ResultLog seeks to its end only after a read (a seek flushes): reads between appends must not
    # make an append land on an earlier result.
    from archiver.package import Result, ResultLog

    rs = [Result(file=f"t{i}.txt", status="packaged", bag=f"b{i}" * (i % 7)) for i in range(40)]
    log = ResultLog()
    for i, r in enumerate(rs):
        log.append(r)
        assert log[i // 2] == rs[i // 2]  # a read from the middle after every append
        if i % 5 == 0:
            assert list(log) == rs[: i + 1]
    assert list(log) == rs and log[-1] == rs[-1]


def test_texts_found_in_a_folder_have_the_real_paths_realpath_gives(tmp_path):
    # _texts_in joins the folder's real path with each name instead of a realpath per text.
    from archiver.package import _texts_in

    real = tmp_path / "real"
    real.mkdir()
    (real / "a.txt").write_text("a")
    (real / "b.txt").write_text("b")
    (tmp_path / "elsewhere.txt").write_text("c")
    (real / "c.txt").symlink_to(tmp_path / "elsewhere.txt")  # a link: its target
    (real / "d.txt").symlink_to(real / "a.txt")  # the same text under another name
    (real / "sub.txt").mkdir()  # a folder: not a text
    (tmp_path / "via").symlink_to(real)  # the folder through a link
    for folder in (real, tmp_path / "via", Path(os.path.relpath(tmp_path / "via"))):
        found = _texts_in(folder)
        assert [name for _, name, _, _ in found] == ["a.txt", "b.txt", "c.txt", "d.txt"]
        for f, name, path, realpath in found:
            assert f == folder and path == str(folder / name)
            assert realpath == os.path.realpath(folder / name)


def test_a_text_given_twice_through_links_is_packaged_once(tmp_path):
    real = tmp_path / "in"
    real.mkdir()
    (real / "a.txt").write_text(GOOD)
    (tmp_path / "via").symlink_to(real)
    out = package([real, tmp_path / "via", real / "a.txt"], out=tmp_path / "bags", jobs=1)
    assert [r.status for r in out.results] == ["packaged"]


def test_a_run_leaves_the_garbage_collector_as_it_found_it(tmp_path):
    # package freezes the objects alive at its start for the run (workers.gc_frozen) and unfreezes them after;
    # a caller's own frozen objects are left frozen.
    import gc

    (tmp_path / "a.txt").write_text(GOOD)
    assert gc.get_freeze_count() == 0
    assert package([tmp_path / "a.txt"], out=tmp_path / "b1", jobs=1).exit_code == 0
    assert gc.get_freeze_count() == 0
    gc.freeze()
    try:
        assert package([tmp_path / "a.txt"], out=tmp_path / "b2", jobs=2).exit_code == 0
        assert gc.get_freeze_count() > 0  # not unfrozen by the run (frozen objects may have died meanwhile)
    finally:
        gc.unfreeze()
