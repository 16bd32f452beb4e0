"""Official-schema validation (archiver/xsd.py): offline, cached, and honest when it cannot run."""

from __future__ import annotations

import shutil

from archiver import xsd


def test_sample_mets_is_valid(xsd_dir):
    sample = (xsd_dir / "examples" / "sample-mets.xml").read_bytes()
    assert xsd.check(sample, str(xsd_dir)) == []


def test_embedded_premis_error_is_named_with_its_schema(xsd_dir):
    sample = (xsd_dir / "examples" / "sample-mets.xml").read_bytes()
    broken = sample.replace(b"<premis:size>", b"<premis:sizes>", 1).replace(b"</premis:size>", b"</premis:sizes>", 1)
    assert broken != sample
    found = xsd.check(broken, str(xsd_dir))
    assert found and all(f.code == "XSD-E001" for f in found)
    assert any("premis" in f.message for f in found)


def test_schemas_compile_once_per_process(xsd_dir):
    a = xsd.schemas_for(str(xsd_dir))
    assert xsd.schemas_for(str(xsd_dir) + "/") is a
    assert a.schema(xsd.METS) is a.schema(xsd.METS)


def test_no_folder_and_unusable_folder_are_reported(tmp_path, xsd_dir):
    sample = (xsd_dir / "examples" / "sample-mets.xml").read_bytes()
    assert [f.code for f in xsd.check(sample, None)] == ["XSD-I001"]
    assert [f.code for f in xsd.check(sample, str(tmp_path))] == ["XSD-W001"]


def test_an_import_outside_the_catalog_is_refused_not_fetched(tmp_path, xsd_dir):
    folder = tmp_path / "xsd"
    shutil.copytree(xsd_dir, folder)
    (folder / "umbrella.xsd").write_text(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">'
        '<xs:import namespace="urn:x" schemaLocation="http://127.0.0.1:9/evil.xsd"/></xs:schema>')
    resolver = xsd._Catalog(str(folder))
    assert resolver.map["http://www.loc.gov/standards/xlink/xlink.xsd"].startswith(str(folder))
    sample = (xsd_dir / "examples" / "sample-mets.xml").read_bytes()
    found = xsd.check(sample, str(folder))
    assert [f.code for f in found] == ["XSD-W001"]
    assert "refused" in found[0].message and "127.0.0.1:9/evil.xsd" in found[0].message


def test_an_idref_to_no_id_is_an_error(xsd_dir):
    sample = (xsd_dir / "examples" / "sample-mets.xml").read_bytes()
    import re

    m = re.search(rb'DMDID="([^"]+)"', sample) or re.search(rb'ADMID="([^"]+)"', sample)
    assert m, "the sample has an IDREF to break"
    broken = sample.replace(m.group(0), m.group(0).replace(m.group(1), b"no-such-id"), 1)
    found = xsd.check(broken, str(xsd_dir))
    assert any("IDREF" in f.message and "no-such-id" in f.message for f in found)
