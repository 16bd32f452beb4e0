"""The collection config (archiver.toml) and its keyword overrides."""

from __future__ import annotations

import pytest

from archiver.config import Config, ConfigError, load, parse
from archiver.outcome import UsageError
from archiver.package import package


def test_missing_config_is_fine(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load()
    assert cfg == Config() and cfg.rights is None and not cfg.loaded


def test_parse_reads_every_setting():
    cfg = parse('organization = "O"\ncontact_name = "N"\ncontact_email = "e@x.org"\n'
                'rights = "http://rightsstatements.org/vocab/NoC-US/1.0/"\nalgorithms = ["sha512"]\n'
                'incoming = "in"\nbags = "out"\n')
    assert (cfg.organization, cfg.algorithms, cfg.incoming, cfg.bags) == ("O", ("sha512",), "in", "out")


@pytest.mark.parametrize("text, needle", [
    ('organisation = "typo"', "organisation"),
    ('organization = ""', "organization"),
    ("organization = 3", "organization"),
    ('rights = "http://rightsstatements.org/vocab/Free/1.0/"', "rights"),
    ('algorithms = ["md5"]', "algorithms"),
    ('algorithms = ["sha256", "crc32"]', "crc32"),
    ("algorithms = []", "algorithms"),
    ("= broken", "TOML"),
])
def test_bad_settings_name_the_file_and_key(text, needle):
    with pytest.raises(ConfigError) as e:
        parse(text, "archiver.toml")
    assert str(e.value).startswith("archiver.toml") and needle in str(e.value)


def test_keywords_override_the_file_and_are_checked(tmp_path):
    (tmp_path / "a.txt").write_text("A title\n\nbody\n")
    cfg = parse('organization = "From file"\n')
    r = package([tmp_path / "a.txt"], out=tmp_path / "out", jobs=1, config=cfg, organization="From keyword",
                algorithms=["sha512"])
    assert r.exit_code == 0
    b = next(p for p in (tmp_path / "out").iterdir() if not p.name.startswith("."))
    assert "Source-Organization: From keyword\n" in (b / "bag-info.txt").read_text()
    assert sorted(p.name for p in b.glob("*manifest-*.txt")) == ["manifest-sha512.txt", "tagmanifest-sha512.txt"]
    with pytest.raises(UsageError):
        package([tmp_path / "a.txt"], out=tmp_path / "o2", config=Config(), rights="not a uri")
    with pytest.raises(UsageError):
        package([tmp_path / "a.txt"], out=tmp_path / "o2", config=Config(), algorithms=["md4"])


def test_each_run_reads_the_outlet_registry_as_it_is_now(tmp_path, monkeypatch):
    # A library caller may edit ./outlets.toml between two package() calls in one process.
    import json as _json

    from archiver.package import package

    monkeypatch.chdir(tmp_path)
    text = "A title\n\nOriginal article in Riverside Gazette\n\n" + "The text goes on here. " * 20

    def outlet_language(run: str):
        (tmp_path / run).mkdir()
        (tmp_path / run / "t.txt").write_text(text, encoding="utf-8")
        assert package([str(tmp_path / run)], out=str(tmp_path / f"bags-{run}"), jobs=1).exit_code == 0
        (rec,) = (tmp_path / f"bags-{run}").glob("*/data/metadata/record.json")
        return _json.loads(rec.read_text())["source"]["outlet"]["language"]["value"]

    (tmp_path / "outlets.toml").write_text('[[outlet]]\nname = "Riverside Gazette"\nlanguage = "nl"\n', encoding="utf-8")
    assert outlet_language("one") == "nl"
    (tmp_path / "outlets.toml").write_text('[[outlet]]\nname = "Riverside Gazette"\nlanguage = "de"\n', encoding="utf-8")
    assert outlet_language("two") == "de"


def test_organization_and_contact_are_kept_on_one_line_as_bag_info_writes_them(tmp_path):
    # bag-info.txt writes values on one line with single spaces; the METS custodian must say the same,
    # or our own bags fail METS-E509 (found by tests/test_validate_shortcut.py).
    cfg = parse('organization = "  Example\\n  Library "\ncontact_name = "A\\tCurator"\n')
    assert (cfg.organization, cfg.contact_name) == ("Example Library", "A Curator")
    assert Config(organization=" \t ").organization is None
    (tmp_path / "a.txt").write_text("A title\n\nbody\n")
    r = package([tmp_path / "a.txt"], out=tmp_path / "out", jobs=1, config=Config(), organization="  Spaced   Out ")
    assert r.exit_code == 0
    from archiver.validate import validate

    b = next(p for p in (tmp_path / "out").iterdir() if not p.name.startswith("."))
    assert "Source-Organization: Spaced Out\n" in (b / "bag-info.txt").read_text()
    assert "<mets:name>Spaced Out</mets:name>" in (b / "data" / "metadata" / "mets.xml").read_text()
    assert validate([str(b)], jobs=1).exit_code == 0
