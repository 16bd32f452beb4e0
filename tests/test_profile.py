"""BagIt profiles: our published profile, library profiles, the field-rule extension, loading."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archiver import layout, profile
from archiver.profile import ProfileFacts

HERE = Path(__file__).parent
PROFILES = HERE / "profiles"
ROOT = HERE.parent


def facts(**over) -> ProfileFacts:
    """Facts of a bag that meets our profile; tests change one thing at a time."""
    base = dict(
        version="1.0",
        info=(
            ("Source-Organization", "Test Org"),
            ("Bagging-Date", "2024-05-01"),
            ("External-Identifier", "sha256:" + "a" * 64),
            ("External-Description", "A title"),
            ("Bag-Software-Agent", "archiver 0.1.0"),
            ("BagIt-Profile-Identifier", layout.PROFILE_ID),
            ("Payload-Oxum", "10.2"),
            ("Bag-Size", "10 B"),
        ),
        manifest_algorithms=frozenset({"sha256", "sha512"}),
        tagmanifest_algorithms=frozenset({"sha256", "sha512"}),
        tag_files=frozenset({"bagit.txt", "bag-info.txt", "manifest-sha256.txt", "manifest-sha512.txt",
                             "tagmanifest-sha256.txt", "tagmanifest-sha512.txt"}),
        payload_files=frozenset({"data/objects/a.txt", layout.METS, layout.RECORD}),
        has_fetch=False,
    )
    base.update(over)
    return ProfileFacts(**base)


def codes(findings):
    return sorted(f.code for f in findings)


def with_info(*pairs, drop=()):
    kept = tuple((k, v) for k, v in facts().info if k not in drop)
    return kept + tuple(pairs)


# --- our profile -----------------------------------------------------------------------


def test_our_profile_is_a_usable_bagit_profile():
    ours = profile.ours()
    assert profile.problems(ours) == []
    info = ours["BagIt-Profile-Info"]
    assert info["BagIt-Profile-Identifier"] == layout.PROFILE_ID
    assert info["BagIt-Profile-Version"] == "1.4.0"
    for key in ("Source-Organization", "External-Description", "Version"):
        assert info[key]
    assert ours["Manifests-Required"] == ["sha256", "sha512"]
    assert ours["Allow-Fetch.txt"] is False
    assert ours["Accept-BagIt-Version"] == ["1.0"]
    assert set(ours["Accept-Serialization"]) == {"application/x-tar", "application/gzip", "application/zip"}
    assert ours["Bag-Info"]["BagIt-Profile-Identifier"]["values"] == [layout.PROFILE_ID]


def test_ours_is_a_copy():
    a = profile.ours()
    a["Bag-Info"].clear()
    assert profile.ours()["Bag-Info"]


def test_checked_in_profile_is_current():
    """schemas/bagit-profile.json is generated from profile.py: one source of truth."""
    text = (ROOT / "schemas" / layout.PROFILE_FILE).read_text(encoding="utf-8")
    assert json.loads(text) == profile.ours()
    assert text == profile.dumps(profile.ours())
    r = subprocess.run([sys.executable, "-m", "archiver.profile", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_known_only_by_exact_identifier():
    assert profile.known(layout.PROFILE_ID) == profile.ours()
    assert profile.known(layout.PROFILE_ID + "x") is None
    assert profile.known("https://example.org/other.json") is None


def test_a_bag_meeting_our_profile_has_no_findings():
    assert profile.check(profile.ours(), facts()) == []


# --- each spec rule, one at a time ------------------------------------------------------------


@pytest.mark.parametrize(
    "change, code",
    [
        (dict(info=with_info(drop=("Payload-Oxum",))), "PROF-E001"),
        (dict(info=with_info(("Payload-Oxum", "1.1"))), "PROF-E003"),
        # A bag naming another profile: not the allowed value, and the checker says which profile it named.
        (dict(info=with_info(("BagIt-Profile-Identifier", "https://example.org/p.json"), drop=("BagIt-Profile-Identifier",))),
         {"PROF-E002", "PROF-W002"}),
        (dict(info=with_info(("BagIt-Profile-Identifier", "not a uri"), drop=("BagIt-Profile-Identifier",))),
         {"PROF-E002", "PROF-E019", "PROF-W002"}),
        (dict(manifest_algorithms=frozenset({"sha256"})), "PROF-E004"),
        (dict(manifest_algorithms=frozenset({"sha256", "sha512", "blake9"})), "PROF-E005"),
        (dict(tagmanifest_algorithms=frozenset({"sha512"})), "PROF-E006"),
        (dict(tag_files=facts().tag_files - {"bag-info.txt"}), "PROF-E008"),
        (dict(tag_files=facts().tag_files | {"extra-tags.txt"}), "PROF-E009"),
        (dict(payload_files=facts().payload_files - {layout.METS}), "PROF-E010"),
        (dict(payload_files=facts().payload_files | {"data/elsewhere.txt"}), "PROF-E011"),
        (dict(has_fetch=True), "PROF-E012"),
        (dict(version="0.97"), "PROF-E014"),
        (dict(serialization="application/x-7z-compressed"), "PROF-E017"),
        (dict(info=with_info(("Bagging-Date", "2024-13-01"), drop=("Bagging-Date",))), "PROF-E019"),
        (dict(info=with_info(("Payload-Oxum", "ten"), drop=("Payload-Oxum",))), "PROF-E020"),
        (dict(info=with_info(drop=("Source-Organization",))), "PROF-W001"),
    ],
)
def test_each_rule_is_enforced(change, code):
    found = profile.check(profile.ours(), facts(**change))
    # Only that rule fires: each case changes one thing.
    assert {f.code for f in found} == (code if isinstance(code, set) else {code})


def test_required_field_message_names_field_and_profile():
    (f,) = profile.check(profile.ours(), facts(info=with_info(drop=("Payload-Oxum",))))
    assert f.field == "Payload-Oxum"
    assert "'Payload-Oxum'" in f.message and layout.PROFILE_ID in f.message
    assert f.line().startswith("PROF-E001 error bag-info.txt: Payload-Oxum: required bag-info field 'Payload-Oxum' is missing")


def test_labels_compare_case_insensitively():
    info = tuple((k.upper(), v) for k, v in facts().info)
    assert profile.check(profile.ours(), facts(info=info)) == []


def test_serialization_required_and_forbidden():
    p = profile.ours()
    p["Serialization"] = "required"
    assert codes(profile.check(p, facts())) == ["PROF-E015"]
    assert profile.check(p, facts(serialization="application/x-tar")) == []
    p["Serialization"] = "forbidden"
    assert codes(profile.check(p, facts(serialization="application/zip"))) == ["PROF-E016"]


def test_media_type_aliases_are_equivalent():
    p = profile.ours()
    p["Accept-Serialization"] = ["application/tar", "application/x-gzip"]
    assert profile.check(p, facts(serialization="application/x-tar")) == []
    assert profile.check(p, facts(serialization="application/gzip")) == []
    assert codes(profile.check(p, facts(serialization="application/zip"))) == ["PROF-E017"]


def test_data_empty_and_fetch_required():
    p = {"BagIt-Profile-Info": {"BagIt-Profile-Identifier": "x"}, "Data-Empty": True, "Fetch.txt-Required": True}
    undeclared = with_info(drop=("BagIt-Profile-Identifier",))
    found = profile.check(p, facts(info=undeclared, payload_sizes=(("data/objects/a.txt", 3),)))
    assert codes(found) == ["PROF-E013", "PROF-E018"]
    ok = facts(info=undeclared, payload_files=frozenset({"data/empty"}), payload_sizes=(("data/empty", 0),), has_fetch=True)
    assert profile.check(p, ok) == []


def test_a_bag_declaring_another_profile_is_warned():
    lib = profile.load(str(PROFILES / "btr-like.json"))
    found = profile.check(lib, facts())
    assert "PROF-W002" in codes(found)


def test_path_patterns():
    p = {"BagIt-Profile-Info": {"BagIt-Profile-Identifier": "x"},
         "Payload-Files-Allowed": ["data/objects/*", "data/*.xml"],
         "Payload-Files-Required": ["data/objects/*.txt"]}
    undeclared = with_info(drop=("BagIt-Profile-Identifier",))
    ok = facts(info=undeclared, payload_files=frozenset({"data/objects/a.txt", "data/objects/sub/b.bin", "data/m.xml"}))
    assert profile.check(p, ok) == []
    bad = facts(info=undeclared, payload_files=frozenset({"data/objects/a.bin", "data/sub/m.xml"}))
    assert codes(profile.check(p, bad)) == ["PROF-E010", "PROF-E011"]


# --- library profiles (in the shape of APTrust and BTR) -----------------------------------------


def test_aptrust_like_profile_reports_each_missing_field_by_name():
    lib = profile.load(str(PROFILES / "aptrust-like.json"))
    found = profile.check(lib, facts(serialization="application/x-tar"))
    missing = sorted(f.field for f in found if f.code == "PROF-E001")
    assert missing == ["Access", "Storage-Option", "Title"]
    assert any("'Title' is missing" in f.message and "aptrust-like" in f.message for f in found)


def test_aptrust_like_profile_controlled_values_and_serialization():
    lib = profile.load(str(PROFILES / "aptrust-like.json"))
    info = facts().info + (("Title", "T"), ("Access", "Everyone"), ("Storage-Option", "Standard"))
    found = profile.check(lib, facts(info=info))  # a folder, and Access not in the list
    assert codes(found) == ["PROF-E002", "PROF-E015", "PROF-W002"]
    info = facts().info + (("Title", "T"), ("Access", "Institution"), ("Storage-Option", "Standard"))
    assert codes(profile.check(lib, facts(info=info, serialization="application/x-tar"))) == ["PROF-W002"]
    assert codes(profile.check(lib, facts(info=info, serialization="application/zip"))) == ["PROF-E017", "PROF-W002"]


def test_btr_like_profile_field_rules():
    lib = profile.load(str(PROFILES / "btr-like.json"))
    info = (("Source-Organization", "O"), ("Bagging-Date", "2024-05"), ("Bag-Group-Identifier", "g1"),
            ("Bag-Count", "one"), ("Internal-Sender-Identifier", "x.txt"), ("Payload-Oxum", "1.1"),
            ("Language", "english!"))
    found = profile.check(lib, facts(info=info))
    by_field = {(f.code, f.field) for f in found}
    assert ("PROF-E019", "Bagging-Date") in by_field  # 'date' wants YYYY-MM-DD
    assert ("PROF-E020", "Bag-Count") in by_field
    assert ("PROF-E019", "Language") in by_field
    good = (("Source-Organization", "O"), ("Bagging-Date", "2024-05-01"), ("Bag-Group-Identifier", "g1"),
            ("Bag-Count", "1 of 3"), ("Internal-Sender-Identifier", "x.txt"), ("Payload-Oxum", "1.1"),
            ("Language", "be-Latn"))
    assert profile.check(lib, facts(info=good)) == []


# --- loading a library's file ---------------------------------------------------------------------


def write(tmp_path, text, name="p.json"):
    p = tmp_path / name
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    return str(p)


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("{not json", "not valid JSON: line 1"),
        ("[]", "a profile is a JSON object"),
        ("{}", "BagIt-Profile-Info"),
        ('{"BagIt-Profile-Info": {"BagIt-Profile-Identifier": "x"}, "Manifests-Required": "sha256"}', "Manifests-Required"),
        ('{"BagIt-Profile-Info": {"BagIt-Profile-Identifier": "x"}, "Serialization": "maybe"}', "Serialization"),
        ('{"BagIt-Profile-Info": {"BagIt-Profile-Identifier": "x"}, "Bag-Info": {"T": {"required": "yes"}}}', "Bag-Info.T.required"),
        ('{"BagIt-Profile-Info": {"BagIt-Profile-Identifier": "x"}, "X-Archiver-Field-Rules": {"T": {"pattern": "("}}}', "pattern"),
        ('{"BagIt-Profile-Info": {"BagIt-Profile-Identifier": "x"}, "X-Archiver-Field-Rules": {"T": {"format": "nope"}}}', "format"),
        ('{"BagIt-Profile-Info": {"BagIt-Profile-Identifier": "x"}, "Bag-Info": {}, "Bag-Info": {}}', "appears twice"),
        (b"\xff\xfe{}", "UTF-8"),
    ],
)
def test_load_refuses_unusable_profiles_in_one_line(tmp_path, text, fragment):
    path = write(tmp_path, text)
    with pytest.raises(profile.ProfileError) as e:
        profile.load(path)
    msg = str(e.value)
    assert "\n" not in msg and path in msg and fragment in msg


def test_load_refuses_big_missing_and_special_files(tmp_path):
    big = write(tmp_path, '{"a": "' + "x" * (profile.MAX_PROFILE_BYTES + 10) + '"}')
    with pytest.raises(profile.ProfileError, match="larger than"):
        profile.load(big)
    with pytest.raises(profile.ProfileError, match="no such profile file"):
        profile.load(str(tmp_path / "absent.json"))
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    with pytest.raises(profile.ProfileError, match="regular file"):  # and no hang
        profile.load(str(fifo))


def test_load_never_fetches_an_http_identifier(tmp_path, monkeypatch):
    import socket

    def no_network(*a, **k):
        raise AssertionError("network used")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    lib = profile.load(str(PROFILES / "aptrust-like.json"))
    profile.check(lib, facts())
    assert profile.known("https://library.invalid/profiles/aptrust-like-v2.2.json") is None


def test_profile_error_is_a_usage_error_in_the_cli(tmp_path):
    from click.testing import CliRunner

    from archiver.cli import cli

    bad = write(tmp_path, "{oops")
    r = CliRunner().invoke(cli, ["export", str(tmp_path), "--to", str(tmp_path / "d"), "--profile", bad])
    assert r.exit_code == 2
    assert "not valid JSON" in r.output and "Traceback" not in r.output


# --- properties -----------------------------------------------------------------------------------

_label = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12)
_value = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)


@settings(max_examples=60, deadline=None)
@given(info=st.lists(st.tuples(_label, _value), max_size=8), version=st.sampled_from(["1.0", "0.97", "x"]),
       algs=st.frozensets(st.sampled_from(["md5", "sha1", "sha256", "sha512", "weird"])),
       ser=st.sampled_from([None, "application/zip", "text/plain"]))
def test_check_never_raises_and_always_names_a_registered_code(info, version, algs, ser):
    from archiver.findings import RULES

    for prof in (profile.ours(), profile.load(str(PROFILES / "btr-like.json"))):
        found = profile.check(prof, facts(info=tuple(info), version=version, manifest_algorithms=algs, serialization=ser))
        for f in found:
            assert f.code in RULES and "\n" not in f.line()


@settings(max_examples=40, deadline=None)
@given(missing=st.sets(st.sampled_from([k for k, v in profile.ours()["Bag-Info"].items() if v.get("required")]), min_size=1))
def test_every_missing_required_field_is_reported_by_name(missing):
    found = profile.check(profile.ours(), facts(info=with_info(drop=tuple(missing))))
    assert {f.field for f in found if f.code == "PROF-E001"} == missing
