"""Fixity audits: every check recorded as a PREMIS event; bags never rewritten."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os

import pytest
from click.testing import CliRunner

from archiver import audit, catalog, layout
from archiver.cli import cli
from archiver.outcome import UsageError
from .test_catalog_bags import make_bag, sample_collection

EPOCH = 1_750_000_000  # 2025-06-15T15:06:40Z


def snapshot(root):
    out = {}
    for top, _, files in os.walk(root):
        for f in files:
            p = os.path.join(top, f)
            if catalog.CATALOG_NAME not in p:
                st = os.lstat(p)
                out[p] = (hashlib.sha256(open(p, "rb").read()).hexdigest(), st.st_mtime_ns)
    return out


@pytest.fixture
def bags(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH))
    b = tmp_path / "bags"
    sample_collection(b)
    return b


def test_all_pass_and_each_check_is_a_premis_event(bags):
    before = snapshot(bags)
    r = audit.audit(bags)
    assert r.exit_code == 0 and r.data["passed"] == 6 and r.data["failed"] == 0
    assert snapshot(bags) == before  # bags are only read
    hist = catalog.show("e_news", bags).data["history"]
    fix = [e for e in hist if e["eventType"] == "fixity check"]
    assert fix == [{"eventType": "fixity check", "datetime": "2025-06-15T15:06:40Z", "outcome": "pass",
                    "detail": "6 file(s) checked with sha256: all match", "agent": catalog.AGENT}]
    assert "fixity check  pass" in "\n".join(catalog.show("e_news", bags).out)


@pytest.mark.parametrize(
    "damage, expect",
    [
        (lambda bag: (bag / "data/objects/text.txt").write_bytes(b"changed\n"), "data/objects/text.txt: sha256 mismatch"),
        (lambda bag: (bag / "data/objects/text.txt").unlink(), "data/objects/text.txt: missing"),
        (lambda bag: (bag / "data/objects/extra.txt").write_text("x"), "data/objects/extra.txt: not in every payload manifest"),
        (lambda bag: (bag / "bag-info.txt").write_text("Bagging-Date: 2025-01-02\n"), "bag-info.txt: sha256 mismatch"),
        (lambda bag: os.mkfifo(bag / "data/objects/pipe"), "data/objects/pipe: is not a regular file"),
    ],
)
def test_damage_fails_the_check_and_is_recorded(bags, damage, expect):
    damage(bags / "c_oped")
    r = audit.audit(bags)
    assert r.exit_code == 1 and r.data["failed"] == 1
    [bad] = [c for c in r.data["checked"] if c["outcome"] == "fail"]
    assert bad["bag"] == "c_oped" and expect in bad["problems"]
    err = [t for s, t in r.lines() if s == "err"]
    assert err and err[0].startswith("FIX-E001 error c_oped: ") and expect in err[0]
    last = catalog.show("c_oped", bags).data["history"][-1]
    assert (last["eventType"], last["outcome"]) == ("fixity check", "fail") and expect in last["detail"]


def test_payload_oxum_mismatch_fails(tmp_path):
    bag = make_bag(tmp_path / "bags", "abc\n", name="x")
    info = (bag / "bag-info.txt").read_text()
    (bag / "bag-info.txt").write_text(info.replace("Payload-Oxum: ", "Payload-Oxum: 9"))
    # keep the tag manifest consistent so only the oxum is wrong
    tm = "".join(f"{hashlib.sha256((bag / n).read_bytes()).hexdigest()}  {n}\n" for n in ("bag-info.txt", "bagit.txt", "manifest-sha256.txt"))
    (bag / "tagmanifest-sha256.txt").write_text(tm)
    n, algs, problems = audit.check_fixity(bag)
    assert algs == ("sha256",) and len(problems) == 1 and "Payload-Oxum" in problems[0]


def test_older_than_skips_recent_checks(bags, monkeypatch):
    assert audit.audit(bags).data["passed"] == 6
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH + 10 * 86400))
    r = audit.audit(bags, older_than="30d")
    assert r.data["checked"] == [] and r.data["skipped"] == 6
    r = audit.audit(bags, older_than="1w")
    assert len(r.data["checked"]) == 6 and r.data["skipped"] == 0
    make_bag(bags, "new\n", name="z_new")  # never checked: always due
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH + 11 * 86400))
    r = audit.audit(bags, older_than="30d")
    assert [c["bag"] for c in r.data["checked"]] == ["z_new"]
    hist = catalog.show("e_news", bags).data["history"]
    assert [e["datetime"] for e in hist if e["eventType"] == "fixity check"] == [
        "2025-06-15T15:06:40Z", (dt.datetime.fromtimestamp(EPOCH + 10 * 86400, dt.timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")]


@pytest.mark.parametrize("text, expected", [("30d", dt.timedelta(days=30)), ("12h", dt.timedelta(hours=12)), ("2w", dt.timedelta(weeks=2)), ("7", dt.timedelta(days=7))])
def test_parse_age(text, expected):
    assert audit.parse_age(text) == expected


@pytest.mark.parametrize("text", ["", "thirty days", "-3d", "3y"])
def test_parse_age_rejects(text):
    with pytest.raises(UsageError, match="--older-than"):
        audit.parse_age(text)


def test_a_vanished_bag_with_history_is_reported(bags):
    audit.audit(bags)
    import shutil

    shutil.rmtree(bags / "e_news")
    r = audit.audit(bags)
    assert r.exit_code == 0
    assert any(f.code == "FIX-W001" and f.path.endswith("e_news") for f in r.findings)


def test_manifest_path_escaping_the_bag_is_a_failure_not_a_read(tmp_path):
    bag = make_bag(tmp_path / "bags", "abc\n", name="x")
    (tmp_path / "outside.txt").write_text("secret")
    with open(bag / "manifest-sha256.txt", "a") as f:
        f.write(f"{'0' * 64}  data/../../outside.txt\n")
    _, _, problems = audit.check_fixity(bag)
    assert any("path escapes the bag" in p for p in problems)


def test_cli_audit_json_and_exit_codes(bags):
    r = CliRunner().invoke(cli, ["audit", "--bags", str(bags), "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["eventType"] == "fixity check" and data["passed"] == 6
    (bags / "a_interview" / layout.RECORD).write_text("{}")
    r = CliRunner().invoke(cli, ["audit", "--bags", str(bags)])
    assert r.exit_code == 1 and "FAIL  a_interview" in r.stdout and "FIX-E001 error a_interview" in r.output
    r = CliRunner().invoke(cli, ["audit", "--bags", str(bags), "--older-than", "soon"])
    assert r.exit_code == 2


def test_symlinks_never_lead_the_audit_outside_the_bag(tmp_path):
    bag = make_bag(tmp_path / "bags", "abc\n", name="x")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    os.symlink(outside, bag / "data" / "link")
    with open(bag / "manifest-sha256.txt", "a") as f:
        f.write(f"{hashlib.sha256(b'secret').hexdigest()}  data/link/secret.txt\n")
    _, _, problems = audit.check_fixity(bag)
    assert "data/link: is a symbolic link" in problems
    assert any("data/link/secret.txt: path escapes the bag or passes through a symbolic link" in p for p in problems)
    # the catalog does not stat through the link either
    row, _, files, _ = catalog.read_bag(bag)
    assert [f["size"] for f in files if f["path"] == "data/link/secret.txt"] == [-1]


def test_a_parallel_audit_finds_and_records_the_same_as_a_serial_one(bags, monkeypatch):
    (bags / "c_oped" / "data/objects/text.txt").write_bytes(b"changed\n")
    serial = audit.audit(bags, jobs=1)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH + 60))
    parallel = audit.audit(bags, jobs=2)
    assert serial.exit_code == parallel.exit_code == 1
    strip = lambda checked: [{k: v for k, v in c.items() if k != "datetime"} for c in checked]  # noqa: E731
    assert strip(parallel.data["checked"]) == strip(serial.data["checked"]) and len(serial.data["checked"]) == 6
    assert [f.line() for f in parallel.findings] == [f.line() for f in serial.findings]
    fix = [e for e in catalog.show("c_oped", bags).data["history"] if e["eventType"] == "fixity check"]
    assert [(e["datetime"], e["outcome"]) for e in fix] == [("2025-06-15T15:06:40Z", "fail"), ("2025-06-15T15:07:40Z", "fail")]
    r = CliRunner().invoke(cli, ["audit", "--bags", str(bags), "--jobs", "2", "--json"])
    assert r.exit_code == 1 and json.loads(r.stdout)["failed"] == 1


@pytest.mark.parametrize("commit_seconds", [0.0, 3600.0])
def test_an_interrupted_audit_keeps_the_checks_it_made(bags, monkeypatch, commit_seconds):
    # Checks are committed in groups (audit.COMMIT_SECONDS); an interruption commits the last group.
    monkeypatch.setattr(audit, "COMMIT_SECONDS", commit_seconds)
    real, calls = audit.check_fixity, []

    def check(bag):
        calls.append(bag.name)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(bag)

    monkeypatch.setattr(audit, "check_fixity", check)
    with pytest.raises(KeyboardInterrupt):
        audit.audit(bags, jobs=1)
    checked = [name for name in calls[:2]
               if any(e["eventType"] == "fixity check" for e in catalog.show(name, bags).data["history"])]
    assert checked == calls[:2]
    assert not any(e["eventType"] == "fixity check" for e in catalog.show(calls[2], bags).data["history"])
