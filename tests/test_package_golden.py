"""Pinned output: the bags ``package`` writes for fixed inputs under SOURCE_DATE_EPOCH, digest by digest.

Speed work must not change a byte of a bag.  This pins every file of the
bags made from ``incoming/`` and ``tests/texts/`` (with --split, curator
sidecars, metadata.csv, collection defaults) against tests/golden/package.json.
A deliberate change of output (a new METS element, a new version number in
bag-info.txt) updates the pin, in the same commit, with:

    ARCHIVER_UPDATE_GOLDEN=1 python -m pytest tests/test_package_golden.py
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from archiver.config import Config
from archiver.package import package

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden" / "package.json"


def _digests(out: Path) -> dict[str, str]:
    """sha256 of every file of every bag (not the catalog, an SQLite file beside them)."""
    return {
        p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file() and not p.relative_to(out).parts[0].startswith(".")
    }


@pytest.mark.parametrize("jobs", [1, 2])
def test_bags_are_byte_identical_to_the_pinned_ones(tmp_path, monkeypatch, jobs):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.chdir(tmp_path)  # no archiver.toml or outlets.toml: only what is given here
    cfg = Config(organization="Example Archive", contact_name="A Curator", contact_email="curator@example.org",
                 rights="http://rightsstatements.org/vocab/InC/1.0/")
    outcome = package([ROOT / "incoming", ROOT / "tests" / "texts"], out=tmp_path / "bags", jobs=jobs, config=cfg, split=True)
    assert outcome.exit_code == 0, [f.line() for r in outcome.results for f in r.findings]
    got = _digests(tmp_path / "bags")
    if os.environ.get("ARCHIVER_UPDATE_GOLDEN") and jobs == 1:
        GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    want = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert sorted(got) == sorted(want)  # the same bags and files
    changed = [p for p in want if got[p] != want[p]]
    assert not changed, f"{len(changed)} file(s) differ from the pinned output, e.g. {changed[:5]}"
