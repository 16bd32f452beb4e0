"""archiver validate on our own bags: the METS, the record, the manifests and the files must agree."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from archiver import layout
from archiver import validate as v

from .hostile import resign

pytest.importorskip("archiver.package")


@pytest.fixture(scope="module")
def packaged(tmp_path_factory) -> Path:
    from .conftest import need_shared

    seeds = need_shared("corpus", "seeds")
    work = tmp_path_factory.mktemp("ours")
    src = work / "in"
    src.mkdir()
    seed = sorted(seeds.glob("*.txt"))[2]
    shutil.copy(seed, src / seed.name)
    mp = pytest.MonkeyPatch()
    mp.setenv("SOURCE_DATE_EPOCH", "1700000000")
    try:
        from archiver.package import package

        outcome = package([str(src)], out=str(work / "bags"), jobs=1)
    finally:
        mp.undo()
    assert outcome.exit_code == 0, list(outcome.lines())
    [bag] = [p for p in (work / "bags").iterdir() if not p.name.startswith(".")]
    return bag


@pytest.fixture
def bag(packaged, tmp_path) -> Path:
    copy = tmp_path / packaged.name
    shutil.copytree(packaged, copy)
    return copy


def found(bag, **kw):
    return v.validate_path(str(bag), **kw)


def errors(bag, **kw):
    return sorted({f.code for f in found(bag, **kw) if f.is_error})


def test_our_bag_is_valid_with_the_official_schemas(bag, xsd_dir):
    got = found(bag, schemas=str(xsd_dir))
    assert [f for f in got if f.is_error] == []
    assert not [f for f in got if f.code.startswith("XSD")]  # it ran, and found nothing


def test_without_schemas_we_say_the_check_did_not_run(bag):
    got = found(bag)
    assert "XSD-I001" in [f.code for f in got] and not [f for f in got if f.is_error]


def test_a_changed_text_with_resigned_manifests_is_still_caught(bag):
    original = next((bag / layout.OBJECTS).glob("*.txt"))
    original.write_bytes(original.read_bytes() + b"\nan added line\n")
    resign(bag)  # the BagIt layer is consistent again; only the METS remembers
    got = errors(bag)
    assert "METS-E505" in got and "METS-E503" in got


def test_mets_checksum_differs_from_manifest(bag):
    original = next((bag / layout.OBJECTS).glob("*.txt"))
    original.write_bytes(original.read_bytes() + b"x")
    got = errors(bag)
    assert "BAG-E013" in got and "METS-E505" in got


def test_undescribed_payload_file(bag):
    (bag / "data" / "objects" / "smuggled.txt").write_text("not in the METS")
    resign(bag)
    assert "METS-E506" in errors(bag)


def test_bag_info_disagrees_with_mets(bag):
    info = bag / "bag-info.txt"
    text = info.read_text()
    text = "\n".join("External-Identifier: sha256:" + "0" * 64 if line.startswith("External-Identifier:")
                     else "Bagging-Date: 1999-01-01" if line.startswith("Bagging-Date:")
                     else "Bag-Software-Agent: other-tool 9" if line.startswith("Bag-Software-Agent:") else line
                     for line in text.splitlines()) + "\n"
    info.write_text(text)
    resign(bag)
    got = errors(bag)
    assert {"METS-E507", "METS-E508", "METS-E512"} <= set(got)


def test_record_json_disagrees_with_mets(bag):
    rec = bag / layout.RECORD
    rec.write_text(rec.read_text().replace('"value": "interview"', '"value": "news"', 1))
    resign(bag)
    got = errors(bag)
    assert "METS-E510" in got and "METS-E505" in got  # it disagrees with the METS record and checksums


def test_schema_invalid_mets(bag, xsd_dir):
    mets = bag / layout.METS
    mets.write_bytes(mets.read_bytes().replace(b"<mets:metsHdr ", b"<mets:metsHdr BOGUS=\"1\" ", 1))
    resign(bag)
    assert "XSD-E001" in errors(bag, schemas=str(xsd_dir))


def test_mets_with_an_entity_is_refused(bag):
    mets = bag / layout.METS
    data = mets.read_bytes()
    head, rest = data.split(b"?>", 1)
    mets.write_bytes(head + b'?><!DOCTYPE mets:mets [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + rest.replace(b"<mets:name>", b"<mets:name>&x;", 1))
    resign(bag)
    assert "SAFE-E008" in errors(bag)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(which=st.integers(min_value=0), index=st.integers(min_value=0), mask=st.integers(min_value=1, max_value=255))
def test_any_changed_byte_of_our_bag_is_reported(packaged, tmp_path_factory, which, index, mask):
    bag = tmp_path_factory.mktemp("flip") / packaged.name
    shutil.copytree(packaged, bag)
    files = sorted(p for p in bag.rglob("*") if p.is_file() and p.stat().st_size)
    target = files[which % len(files)]
    data = bytearray(target.read_bytes())
    i = index % len(data)
    if target.name.startswith("tagmanifest-"):
        # Nothing checks the tag manifests themselves, so only changes of meaning count there:
        # separators and line ends may legally vary (space/tab, LF/CR), and so may the case of hex digits.
        assume(data[i] not in b" \t\r\n")
        if chr(data[i]).lower() in "0123456789abcdef" and chr(data[i] ^ mask).lower() == chr(data[i]).lower():
            mask = 1
    data[i] ^= mask
    target.write_bytes(bytes(data))
    assert errors(bag), f"changing byte {i} of {target.relative_to(bag)} went unnoticed"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(st.integers(min_value=0), st.binary(min_size=0, max_size=8)), min_size=1, max_size=4))
def test_a_mangled_but_resigned_mets_never_crashes_the_validator(packaged, tmp_path_factory, edits):
    bag = tmp_path_factory.mktemp("mangle") / packaged.name
    shutil.copytree(packaged, bag)
    mets = bag / layout.METS
    data = bytearray(mets.read_bytes())
    for at, new in edits:
        i = at % len(data)
        data[i:i + len(new)] = new
    mets.write_bytes(bytes(data))
    resign(bag)
    found = v.validate_path(str(bag))
    assert "SAFE-E006" not in [f.code for f in found]
    assert all("\n" not in f.line() for f in found)
