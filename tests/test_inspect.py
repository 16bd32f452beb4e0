"""`archiver inspect` end to end: JSON shape, draft sidecars, refusals, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from archiver.cli import cli
from archiver.curator import parse_sidecar

TEXTS = Path(__file__).parent / "texts"

KEYS = {"file", "ok", "encoding", "newlines", "title", "outlet", "republisher", "language", "translation", "published",
        "original_published", "genre", "persons", "boilerplate", "warnings", "sidecar", "errors"}


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "archiver", *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_json_shape_is_stable(tmp_path):
    f = tmp_path / "a.txt"
    f.write_bytes((TEXTS / "bom-crlf-byline.txt").read_bytes())
    r = CliRunner().invoke(cli, ["inspect", "--json", str(f)])
    assert r.exit_code == 0
    doc = json.loads(r.stdout)
    assert set(doc) == KEYS
    assert doc["encoding"] == "utf-8-sig" and doc["newlines"] == "crlf"
    assert doc["title"]["value"].startswith("City council") and doc["title"]["lines"] == [4]
    assert doc["outlet"]["value"] == "Der Spiegel" and doc["outlet"]["domain"]["value"] == "spiegel.de"
    assert doc["republisher"] is None  # unknown is null
    assert doc["translation"]["status"]["value"] == "translated"
    assert {"name": "Anna Schmidt", "role": "translator"}.items() <= doc["persons"][0].items()
    assert doc["boilerplate"][0] == {"line": 1, "text": "Home", "rule": "bp.navigation", "confidence": 0.8}
    assert "items" not in doc


def test_human_output_names_rules_and_lines(tmp_path):
    r = CliRunner().invoke(cli, ["inspect", str(TEXTS / "iso-interview.txt")])
    assert r.exit_code == 0
    assert "published: 2023-11-05   [date.header; lines 5; confidence 0.75]" in r.stdout
    assert "IN-W101 warning" in r.stderr  # unknown outlet: recorded as given, warned


def test_write_sidecar_once_and_never_overwrite(tmp_path):
    f = tmp_path / "story.txt"
    original = (TEXTS / "cyrillic-original.txt").read_bytes()
    f.write_bytes(original)
    r = CliRunner().invoke(cli, ["inspect", "--write-sidecar", str(f)])
    assert r.exit_code == 0, r.output
    side = tmp_path / "story.meta.json"
    body = side.read_bytes()
    doc = json.loads(body)
    assert doc["notes"] == ["Draft from archiver inspect; review before packaging"]
    assert doc["language"] == "ru" and doc["dates"]["published"] == "2024-04-12"
    # the curator reads the draft as a sidecar, without complaint
    entry = parse_sidecar(body, str(side), side.name)
    assert entry.facts["title"] == doc["title"]
    # second run: refused in one line, nothing changed, no stray temp files
    p = run("inspect", "--write-sidecar", str(f))
    assert p.returncode == 1
    assert p.stderr.strip().count("\n") == 0 and "IN-E103" in p.stderr and "story.meta.json" in p.stderr
    assert side.read_bytes() == body and f.read_bytes() == original
    assert sorted(x.name for x in tmp_path.iterdir()) == ["story.meta.json", "story.txt"]


def test_not_utf8_is_refused_naming_the_encoding(tmp_path):
    f = tmp_path / "latin.txt"
    f.write_bytes("Zażółć gęślą jaźń — to jest tekst po polsku, zapisany w starym kodowaniu.".encode("cp1250"))
    p = run("inspect", str(f))
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert "IN-E101" in p.stderr and "detected encoding" in p.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_is_never_opened_for_reading(tmp_path):
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    p = run("inspect", str(fifo))
    assert p.returncode == 1 and "IN-E102" in p.stderr and "Traceback" not in p.stderr


def test_missing_file_is_one_line(tmp_path):
    p = run("inspect", "--json", str(tmp_path / "nope.txt"))
    assert p.returncode == 1 and "Traceback" not in p.stderr
    assert json.loads(p.stdout)["errors"][0]["code"] == "IN-E102"


def test_split_lists_items(tmp_path):
    items = "".join(f"  • Item title {i}\n\n    Jane Doe, Director of the Office, wrote at length about topic {i} "
                    f"in this summary.\n\n" for i in range(1, 7))
    f = tmp_path / "search.txt"
    f.write_text("top of page\n\n42 items found\n\n" + items + "bottom of page\n", encoding="utf-8")
    r = CliRunner().invoke(cli, ["inspect", "--json", "--split", str(f)])
    doc = json.loads(r.stdout)
    assert doc["genre"]["value"] == "listing" and len(doc["items"]) == 6
    it = doc["items"][2]
    assert (it["index"], it["first_line"], it["last_line"]) == (3, 13, 15)
    assert it["title"]["value"] == "Item title 3"


def test_curator_outlet_registry_in_working_directory(tmp_path):
    (tmp_path / "outlets.toml").write_text('[[outlet]]\nname = "Riverside Gazette"\nlanguage = "nl"\n', encoding="utf-8")
    f = tmp_path / "t.txt"
    f.write_text("A title\n\nOriginal article in Riverside Gazette\n\n" + "The text goes on here. " * 20, encoding="utf-8")
    p = run("inspect", "--json", "t.txt", cwd=tmp_path)
    doc = json.loads(p.stdout)
    assert doc["outlet"]["language"]["value"] == "nl" and doc["warnings"] == []
    assert doc["translation"]["source_language"]["value"] == "nl"


def test_unwritable_folder_is_one_line(tmp_path, monkeypatch):
    import tempfile

    def refuse(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)  # as a read-only folder would, even for root
    f = tmp_path / "t.txt"
    f.write_text("A title\n", encoding="utf-8")
    r = CliRunner().invoke(cli, ["inspect", "--write-sidecar", str(f)])
    assert r.exit_code == 1 and "IN-E105" in r.stderr and "Permission denied" in r.stderr
    assert r.exception is None or isinstance(r.exception, SystemExit)
    assert sorted(x.name for x in tmp_path.iterdir()) == ["t.txt"]
