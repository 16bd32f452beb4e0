"""The HTML finding aid: files, escaping, offline-only, atomic replacement, reproducibility."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from archiver import catalog, report
from archiver.cli import cli
from archiver.outcome import UsageError
from .test_catalog_bags import make_bag, sample_collection


@pytest.fixture
def bags(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1750000000")
    b = tmp_path / "bags"
    sample_collection(b)
    return b


def test_writes_index_and_a_page_per_bag(bags, tmp_path):
    out = tmp_path / "site"
    r = report.report(bags, out=out)
    assert r.exit_code == 0 and r.data["bags"] == 6
    pages = sorted(p.name for p in (out / "bags").iterdir())
    assert pages == [f"{n}.html" for n in ("a_interview", "b_second_translation", "c_oped", "d_oped_v2", "e_news", "f_news_again")]
    index = (out / "index.html").read_text()
    for link in pages:
        assert f'href="bags/{link}"' in index
    assert index.count("<tr data-outlet=") == 6
    assert "<svg" in index and "Documents per outlet" in index and "Translated vs original" in index
    page = (out / "bags" / "d_oped_v2.html").read_text()
    assert "supersedes chain" in page and 'href="c_oped.html"' in page
    assert "curator: sidecar.meta.json" in page and "inferred: not-stated" in page
    assert "information package creation" in page


def test_everything_from_strangers_is_escaped(bags, tmp_path):
    out = tmp_path / "site"
    report.report(bags, out=out)
    for page in [out / "index.html", out / "bags" / "c_oped.html"]:
        text = page.read_text()
        assert "<script>alert(1)</script>" not in text
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; więcej" in text
        assert text.count("<script>") <= 1  # only our own inline block


def test_offline_only_no_external_references(bags, tmp_path):
    out = tmp_path / "site"
    report.report(bags, out=out)
    index = (out / "index.html").read_text()
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', index).group(1)
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp
    # nothing is loaded from anywhere: no src=, no stylesheet links
    assert not re.search(r"<(script|img|iframe|link)[^>]*\s(src|href)=", index)
    # the only absolute URLs are data shown to the reader (links to sources, the SVG namespace)
    for url in re.findall(r'(?:src|href)="(https?:[^"]*)"', index):
        pytest.fail(f"unexpected absolute reference {url}")


def test_rerun_replaces_the_report_and_is_byte_identical(bags, tmp_path):
    out = tmp_path / "site"
    report.report(bags, out=out)
    first = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    (out / "bags" / "stale.html").write_text("old")
    report.report(bags, out=out)
    second = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert first == second
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".site")]  # no staging left behind


def test_refuses_to_overwrite_a_folder_that_is_not_a_report(bags, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.docx").write_text("precious")
    with pytest.raises(UsageError, match="not an archiver report"):
        report.report(bags, out=out)
    assert (out / "thesis.docx").read_text() == "precious"
    r = CliRunner().invoke(cli, ["report", "--bags", str(bags), "--out", str(out)])
    assert r.exit_code == 2 and "Traceback" not in r.output


def test_report_shows_validation_and_fixity_status(bags, tmp_path):
    catalog.rebuild(bags)
    catalog.note_event(bags / "c_oped", catalog.VALIDATION, "fail", "BAG-E001 error")
    from archiver import audit

    audit.audit(bags)
    report.report(bags, out=tmp_path / "site")
    index = (tmp_path / "site" / "index.html").read_text()
    row = next(line for line in index.split("<tr ") if "c_oped.html" in line)
    assert 'data-validation="fail"' in row and '<span class="pass">pass</span>' in row
    assert index.count('data-validation="not validated"') == 5


def test_charts_count_documents():
    rows = [{"outlet": "A", "published": "2022", "published_lo": "2022-01-01", "published_hi": "2022-12-31", "translation": "translated"},
            {"outlet": "A", "published": "unknown", "published_lo": None, "published_hi": None, "translation": "original"},
            {"outlet": "B <b>", "published": "2022/2023", "published_lo": "2022-01-01", "published_hi": "2023-12-31", "translation": "machine-translated"}]
    svg = report.charts(rows)
    assert ">A</text>" in svg and ">B &lt;b&gt;</text>" in svg
    assert [report.year_of(r) for r in rows] == ["2022", "unknown", "spans years"]
    assert [report.translation_kind(r) for r in rows] == ["translated", "original", "translated"]


@given(st.text(min_size=1, max_size=60))
@settings(max_examples=100)
def test_page_names_are_safe_file_names(name):
    page = report.page_name(name)
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*\.html", page)
    assert page == f"{name}.html" or re.fullmatch(r"bag-[0-9a-f]{20}\.html", page)


def test_cli_report_json(bags, tmp_path):
    r = CliRunner().invoke(cli, ["report", "--bags", str(bags), "--out", str(tmp_path / "r"), "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["bags"] == 6 and data["index"].endswith("index.html")


def test_odd_bag_names_get_hashed_page_names(tmp_path, monkeypatch):
    bags = tmp_path / "bags"
    make_bag(bags, "x\n", name="naïve name (1)", title="T")
    report.report(bags, out=tmp_path / "site")
    [page] = list((tmp_path / "site" / "bags").iterdir())
    assert re.fullmatch(r"bag-[0-9a-f]{20}\.html", page.name)
    assert f'href="bags/{page.name}"' in (tmp_path / "site" / "index.html").read_text()
