"""Bags for catalog, audit and report tests, plus checks of the helper itself.

``make_bag`` writes a small but complete BagIt bag in our layout from a Record
(record.json, bag-info.txt, sha256 manifests), so these tests do not depend
on the packaging pipeline; ``test_catalog_package.py`` covers real packaged bags.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from archiver import layout, record

CURATOR = {"by": "curator", "source": "sidecar.meta.json"}


def fact(value, origin=None):
    return {"value": value, "origin": origin or CURATOR}


def make_bag(
    bags: Path,
    text: str,
    *,
    name: str | None = None,
    cleaned: str | None = None,
    persons=(),
    supersedes: str | None = None,
    bagging_date: str = "2025-01-02",
    **facts,
) -> Path:
    """Write a bag for ``text``; keyword facts use field paths with '_' for '.' (source_outlet_name=...)."""
    data = text.encode("utf-8")
    rid = hashlib.sha256(data).hexdigest()
    rec = record.build(
        id=rid,
        original={"filename": "text.txt", "size": len(data), "encoding": "utf-8", "newlines": "lf"},
        facts={k.replace("__", "#").replace("_", ".").replace("#", "_"): fact(v) for k, v in facts.items()},
        persons=[{"origin": CURATOR, **p} for p in persons],
        supersedes=supersedes,
    )
    bag = bags / (name or f"bag_{rid[:12]}")
    (bag / layout.OBJECTS).mkdir(parents=True)
    (bag / layout.METADATA).mkdir(parents=True)
    payload = {f"{layout.OBJECTS}/text.txt": data, layout.RECORD: rec.dumps().encode("utf-8")}
    if cleaned is not None:
        (bag / layout.ACCESS).mkdir(parents=True)
        payload[f"{layout.ACCESS}/text.txt"] = cleaned.encode("utf-8")
    for rel, content in payload.items():
        (bag / rel).write_bytes(content)
    oxum = f"{sum(len(c) for c in payload.values())}.{len(payload)}"
    tags = {
        "bagit.txt": b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n",
        "bag-info.txt": f"Bagging-Date: {bagging_date}\nPayload-Oxum: {oxum}\nExternal-Identifier: sha256:{rid}\n".encode(),
        "manifest-sha256.txt": "".join(f"{hashlib.sha256(c).hexdigest()}  {p}\n" for p, c in sorted(payload.items())).encode(),
    }
    for rel, content in tags.items():
        (bag / rel).write_bytes(content)
    (bag / "tagmanifest-sha256.txt").write_text(
        "".join(f"{hashlib.sha256(c).hexdigest()}  {p}\n" for p, c in sorted(tags.items()))
    )
    return bag


def sample_collection(bags: Path) -> dict[str, Path]:
    """Five bags with duplicates, versions and translations among them."""
    bags.mkdir(parents=True, exist_ok=True)
    out = {}
    out["interview"] = make_bag(
        bags, "Interview text one.\n", name="a_interview", title="Belarus must be free", language="en",
        genre="interview", source_outlet_name="Descifrando la Guerra", translation_status="translated",
        translation_source__language="es", translation_original__url="https://example.org/es/entrevista",
        dates_published="2022-05", source_url="https://nam.example/interview",
        persons=[{"name": "Pavel Latushko", "role": "interviewee", "aliases": ["Pavel Latushka"]}],
    )
    out["translation2"] = make_bag(
        bags, "Another English rendering.\n", name="b_second_translation", title="Belarus has to be free", language="en-GB",
        genre="interview", source_outlet_name="Descifrando la Guerra", translation_status="machine-translated",
        translation_original__url="https://example.org/es/entrevista", dates_published="2022-06-01",
    )
    out["oped"] = make_bag(
        bags, "An op-ed in Polish.\n", name="c_oped", title="Głos <script>alert(1)</script> & więcej", language="pl",
        genre="article", source_outlet_name="Gazeta Wyborcza", translation_status="original", dates_published="2023",
        source_url="https://gazeta.example/oped",
        persons=[{"name": "Agnieszka Kamińska", "role": "author"}],
    )
    first = hashlib.sha256(b"An op-ed in Polish.\n").hexdigest()
    out["oped_v2"] = make_bag(
        bags, "An op-ed in Polish, corrected.\n", name="d_oped_v2", title="Głos (corrected)", language="pl",
        genre="article", source_outlet_name="Gazeta Wyborcza", dates_published="2023-03-XX",
        source_url="https://gazeta.example/oped", supersedes=first,
    )
    out["news"] = make_bag(
        bags, "News text, captured twice.\n", name="e_news", cleaned="News text.\n", genre="news", language="en",
        source_outlet_name="Reform News",
    )
    out["news_again"] = make_bag(
        bags, "News text, captured twice!\n\n", name="f_news_again", cleaned="News text.\n", genre="news", language="en",
    )
    return out


def test_make_bag_writes_a_readable_record(tmp_path):
    bag = make_bag(tmp_path, "hello\n", title="Hello", language="en", translation_original__title="Hallo")
    rec = record.Record.model_validate_json((bag / layout.RECORD).read_bytes())
    assert rec.title.value == "Hello"
    assert rec.translation.original_title.value == "Hallo"
    assert rec.id == hashlib.sha256(b"hello\n").hexdigest()
    assert "Payload-Oxum" in (bag / "bag-info.txt").read_text()
