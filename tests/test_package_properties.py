"""Properties of packaging: any valid curator sidecar and any UTF-8 text make a valid bag.

Each example packages one text end to end (in-process, jobs=1), so examples are
few; the strings are drawn from what XML 1.0 can carry, including markup
characters and non-BMP text, to catch escaping errors in METS and tag files.
"""

from __future__ import annotations

import json
from pathlib import Path

import bagit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archiver import xsd
from archiver.config import Config
from archiver.package import package
from tests.conftest import SHARED
from tests.strategies import domains, rights_uris, texts, urls

body_lines = st.lists(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x00"), max_size=60), min_size=1, max_size=8)


@st.composite
def sidecars(draw) -> dict:
    side: dict = {}
    if draw(st.booleans()):
        side["title"] = draw(texts)
    outlet = {}
    if draw(st.booleans()):
        outlet["name"] = draw(texts)
    if draw(st.booleans()):
        outlet["domain"] = draw(domains)
    src = {}
    if outlet:
        src["outlet"] = outlet
    if draw(st.booleans()):
        src["url"] = draw(urls)
    if src:
        side["source"] = src
    if draw(st.booleans()):
        side["rights"] = draw(rights_uris)
    if draw(st.booleans()):
        side["dates"] = {"published": "2024-05-0" + str(draw(st.integers(1, 9))), "captured": "2025-01-01T00:00:00Z"}
    if draw(st.booleans()):
        side["persons"] = [{"name": draw(texts), "role": draw(st.sampled_from(["author", "interviewee", "ivr", "trl"])),
                            "aliases": draw(st.lists(texts, max_size=2))}]
    if draw(st.booleans()):
        side["notes"] = draw(st.lists(texts, min_size=1, max_size=2))
    return side


def leaf_values(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(leaf_values(v, f"{prefix}{k}."))
        elif k not in ("persons", "notes"):
            out[f"{prefix}{k}"] = v
    return out


def get(rec: dict, path: str):
    node = rec
    for part in path.split("."):
        node = node[part]
    return node


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(side=sidecars(), lines=body_lines, bom=st.booleans(), newline=st.sampled_from(["\n", "\r\n", "\r"]))
def test_any_valid_sidecar_and_text_make_a_valid_bag(tmp_path_factory, side, lines, bom, newline):
    work = tmp_path_factory.mktemp("prop")
    data = (b"\xef\xbb\xbf" if bom else b"") + newline.join(lines).encode("utf-8")
    (work / "t.txt").write_bytes(data)
    (work / "t.meta.json").write_text(json.dumps(side), encoding="utf-8")
    result = package([str(work / "t.txt")], out=str(work / "out"), jobs=1, config=Config())
    assert result.exit_code == 0, [f.line() for r in result.results for f in r.findings]
    b = Path(result.results[0].bag)
    bagit.Bag(str(b)).validate()
    rec = json.loads((b / "data/metadata/record.json").read_text(encoding="utf-8"))
    assert (b / "data/objects/t.txt").read_bytes() == data
    for path, value in leaf_values(side).items():
        fact = get(rec, path)
        assert fact["value"] == value and fact["origin"] == {"by": "curator", "source": "t.meta.json", "lines": []}
    if "persons" in side:
        assert [p["name"] for p in rec["persons"]] == [p["name"] for p in side["persons"]]
    assert [n["text"] for n in rec.get("notes", [])] == side.get("notes", [])
    if (SHARED / "xsd").exists():
        problems = [f for f in xsd.check((b / "data/metadata/mets.xml").read_bytes(), str(SHARED / "xsd")) if f.is_error]
        assert not problems, [f.line() for f in problems]
