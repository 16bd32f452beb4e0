"""The validator's shortcut for our own bags (ourbag._as_rendered) against the slow path.

When mets.xml is byte for byte what mets.render writes for the bag's record.json,
files and header, the validator skips parsing it and running our rules and readers.
The slow path (parse, Schematron rules, read_record, read_files, read_header) is the
reference: for every bag here, both must give exactly the same findings, and the
shortcut must actually be taken where it applies (else these tests prove nothing).
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archiver import layout, ourbag
from archiver import validate as v
from archiver.config import Config
from archiver.package import SOFTWARE
from archiver.record import Record
from tests.hostile import resign
from tests.strategies import records

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def spy(monkeypatch):
    """Counts how often the shortcut answered (not None) and declined."""
    seen = {"taken": 0, "declined": 0}
    real = ourbag._as_rendered

    def counting(*a, **k):
        got = real(*a, **k)
        seen["taken" if got is not None else "declined"] += 1
        return got

    monkeypatch.setattr(ourbag, "_as_rendered", counting)
    return seen


def both(bag: Path, **kw) -> tuple[list, list]:
    """(findings with the shortcut, findings by the slow path only)."""
    fast = v.validate_path(str(bag), **kw)
    ourbag.SHORTCUT = False
    try:
        slow = v.validate_path(str(bag), **kw)
    finally:
        ourbag.SHORTCUT = True
    return fast, slow


def write_bag(rec: Record, data: bytes, out: Path, *, organization, algorithms=("sha256", "sha512"), cleaned=None) -> Path:
    """A bag as package writes it, for a record made consistent with ``data``."""
    from archiver import bag
    from archiver.package import Context, build_bag

    doc = rec.to_json()
    doc["id"] = hashlib.sha256(data).hexdigest()
    doc["original"]["size"] = len(data)
    rec = Record.model_validate(doc)
    staging = out / ".staging"
    staging.mkdir(parents=True, exist_ok=True)
    ctx = Context(out=str(out), staging=str(staging), config=Config(organization=organization, algorithms=algorithms),
                  epoch=1700000000, split=False, index={})
    return bag.write(build_bag(rec, data, cleaned, ctx), out, staging, mtime=1700000000)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rec=records(), data=st.binary(min_size=1, max_size=64), organization=st.none() | st.sampled_from(["Example Library", "A & B <Archive>", "  spaced  "]),
       cleaned=st.none() | st.just("a cleaned copy\n"), algorithms=st.sampled_from([("sha256", "sha512"), ("sha512", "sha256", "md5"), ("sha256",)]))
def test_generated_bags_give_the_same_findings_either_way(tmp_path_factory, spy, rec, data, organization, cleaned, algorithms):
    try:
        bag = write_bag(rec, data, tmp_path_factory.mktemp("gen"), organization=organization, algorithms=algorithms, cleaned=cleaned)
    except ValueError:
        return  # a record package itself would refuse (e.g. a file name XML cannot carry)
    taken = spy["taken"]  # the fixture lives across hypothesis examples
    fast, slow = both(bag)
    assert fast == slow
    if "sha512" in algorithms:  # METS-E007 needs sha512 fixity: without it, only the slow path may judge
        assert spy["taken"] == taken + 1, "the shortcut declined a bag package wrote"
        assert [f for f in fast if f.is_error] == []


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> Path:
    """The shipped samples and test texts, packaged as in the golden test."""
    from archiver.package import package

    out = tmp_path_factory.mktemp("samples") / "bags"
    mp = pytest.MonkeyPatch()
    mp.setenv("SOURCE_DATE_EPOCH", "1700000000")
    try:
        cfg = Config(organization="Example Archive", rights="http://rightsstatements.org/vocab/InC/1.0/")
        outcome = package([ROOT / "incoming", ROOT / "tests" / "texts"], out=out, jobs=1, config=cfg, split=True)
    finally:
        mp.undo()
    assert outcome.exit_code == 0
    return out


def test_every_sample_bag_takes_the_shortcut(samples, spy):
    bags = sorted(p for p in samples.iterdir() if not p.name.startswith("."))
    assert len(bags) >= 10
    for bag in bags:
        fast, slow = both(bag)
        assert fast == slow, bag.name
        assert [f for f in fast if f.is_error] == [], bag.name
    assert spy == {"taken": len(bags), "declined": 0}


# Damage of every kind the cross-checks look at: each must give the slow path's findings.
def _edit(path: Path, old: bytes, new: bytes) -> None:
    data = path.read_bytes()
    assert old in data, (path, old)
    path.write_bytes(data.replace(old, new, 1))


DAMAGE = {
    "record.json says another title": lambda b: _edit(b / layout.RECORD, b'"title": {', b'"title": {"value": "Another", "origin": {"by": "curator", "source": "x"}}, "x": {'),
    "record.json is not JSON": lambda b: (b / layout.RECORD).write_bytes(b"{"),
    "record.json is gone": lambda b: (b / layout.RECORD).unlink(),
    "bag-info Bagging-Date differs": lambda b: _edit(b / "bag-info.txt", b"Bagging-Date: 2023-11-14", b"Bagging-Date: 2023-11-15"),
    "bag-info External-Identifier differs": lambda b: _edit(b / "bag-info.txt", b"External-Identifier: sha256:", b"External-Identifier: sha256:0"),
    "bag-info Source-Organization differs": lambda b: _edit(b / "bag-info.txt", b"Source-Organization: Example Archive", b"Source-Organization: Another"),
    "bag-info Bag-Software-Agent differs": lambda b: _edit(b / "bag-info.txt", b"Bag-Software-Agent: archiver", b"Bag-Software-Agent: other"),
    "an extra payload file": lambda b: (b / "data" / "objects" / "extra.txt").write_bytes(b"extra"),
    "the derivative is gone": lambda b: shutil.rmtree(b / "data" / "objects" / "manualNormalization"),
    "a payload byte changed": lambda b: next((b / "data" / "objects").glob("*.txt")).write_bytes(b"changed"),
    "the METS creator is blank": lambda b: _edit(b / layout.METS, f"<mets:name>{SOFTWARE}</mets:name>".encode(), b"<mets:name> </mets:name>"),
    "the METS custodian is gone": lambda b: _edit(b / layout.METS, b'<mets:agent ROLE="CUSTODIAN"', b'<mets:agent ROLE="OTHER"'),
    "the METS lost its sha512": lambda b: _edit(b / layout.METS, b"SHA-512", b"SHA-384"),
    "the METS names another original size": lambda b: _edit(b / layout.METS, b' SIZE="', b' SIZE="1'),
    "the METS is not well-formed": lambda b: _edit(b / layout.METS, b"</mets:mets>", b"</mets:mats>"),
    "the METS has another profile": lambda b: _edit(b / layout.METS, layout.METS_PROFILE.encode(), b"https://example.org/other"),
}


# Not errors (nothing else says who the custodian is; another profile's METS is not ours to judge),
# but still the same findings either way.
HARMLESS = {"the METS custodian is gone", "the METS has another profile"}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
@pytest.mark.parametrize("resigned", [False, True])
def test_damaged_bags_give_the_same_findings_either_way(samples, tmp_path, damage, resigned):
    src = next(p for p in sorted(samples.iterdir()) if (p / layout.ACCESS).is_dir())
    bag = tmp_path / src.name
    shutil.copytree(src, bag)
    DAMAGE[damage](bag)
    if resigned:
        resign(bag)
    fast, slow = both(bag)
    assert fast == slow
    if damage not in HARMLESS:
        assert [f for f in fast if f.is_error], f"{damage}: no error either way"


def test_with_schemas_the_official_check_still_runs(samples, xsd_dir, spy):
    bag = next(p for p in sorted(samples.iterdir()) if not p.name.startswith("."))
    fast, slow = both(bag, schemas=str(xsd_dir))
    assert fast == slow
    assert "XSD-I001" not in {f.code for f in fast}
    assert spy["taken"] == 1
