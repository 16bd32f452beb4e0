"""Extraction rules: decoding, boilerplate, title, outlets, translation, dates, persons, genre, listings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archiver import dates, extract, record
from archiver.clean import normalize, split_lines
from archiver.extract import NotUTF8, decode, draft_sidecar, infer
from archiver.outlet import OutletRegistry, RegistryError
from archiver.record import FIELD_PATHS, Fact, Origin

TEXTS = Path(__file__).parent / "texts"


def facts(text, **kw):
    inf = infer(text, **kw)
    return {k: f.value for k, f in inf.facts.items()}, inf


# --- decoding -------------------------------------------------------------------


@pytest.mark.parametrize("data,encoding,newlines", [
    (b"a\nb\n", "utf-8", "lf"),
    (b"a\r\nb\r\n", "utf-8", "crlf"),
    (b"a\rb", "utf-8", "cr"),
    (b"a\r\nb\n", "utf-8", "mixed"),
    (b"\xef\xbb\xbfno newline", "utf-8-sig", "none"),
])
def test_decode_reports_encoding_and_newlines(data, encoding, newlines):
    d = decode(data)
    assert (d.encoding, d.newlines) == (encoding, newlines)
    assert not d.text.startswith("\ufeff")


def test_decode_refuses_other_encodings_naming_them():
    data = "Правительство объявило о новых правилах для независимых изданий.".encode("cp1251")
    with pytest.raises(NotUTF8) as e:
        decode(data)
    msg = str(e.value)
    assert "\n" not in msg and "detected encoding" in msg and "1251" in msg


@settings(max_examples=80, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs",))), st.booleans())
def test_decode_round_trips_any_utf8(text, bom):
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")
    d = decode(data)
    # a leading U+FEFF in the bytes is the byte-order mark, whether we or the text put it there
    bom_seen = bom or text.startswith("\ufeff")
    assert d.encoding == ("utf-8-sig" if bom_seen else "utf-8")
    assert d.text == (text if bom or not bom_seen else text[1:])


# --- properties over any text ------------------------------------------------------

_lines = st.lists(st.one_of(
    st.sampled_from(["top of page", "Share", "Comments", "  • 6 min read", "ree", "", "By Jane Doe",
                     "Published: 09.07.2025", "Original article: reform.news", "Translated from the Polish by Jan Nowak",
                     "— Yes, of course.", "Is it true?", "Photo: Anna Kowalska", "Source: https://example.org/a"]),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=120),
), max_size=25)


@settings(max_examples=60, deadline=None)
@given(_lines, st.sampled_from(["\n", "\r\n", "\r"]))
def test_inference_is_always_a_valid_record(lines, nl):
    text = nl.join(lines)
    inf = infer(text)
    lines = split_lines(text)
    # every value passes the record's own validation, with its origin
    rec = record.build(id="0" * 64, original={"filename": "x.txt", "size": 1, "encoding": "utf-8", "newlines": "lf"},
                       facts=inf.facts, persons=inf.persons)
    for path, fact in inf.facts.items():
        assert fact.origin.by == "inferred" and fact.origin.rule and fact.origin.confidence is not None
        assert all(1 <= n <= max(1, len(lines)) for n in fact.origin.lines), path
    assert rec.id == "0" * 64
    # the derivative never carries what we normalise away
    if inf.cleaned is not None:
        assert "\r" not in inf.cleaned and "\ufeff" not in inf.cleaned and "\u00a0" not in inf.cleaned
        assert "\u200b" not in inf.cleaned
    assert all(1 <= n <= len(lines) for n in inf.boilerplate)
    # boilerplate is furniture: never a long line; everything else reaches the derivative, in order
    assert all(len(lines[n - 1]) <= 220 for n in inf.boilerplate)
    kept = [normalize(s).strip() for n, s in enumerate(lines, 1) if n not in inf.boilerplate and normalize(s).strip()]
    assert [s.strip() for s in (inf.cleaned or "").split("\n") if s.strip()] == kept


@settings(max_examples=40, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs",)), max_size=300))
def test_infer_is_deterministic(text):
    a, b = infer(text), infer(text)
    assert a.facts == b.facts and a.persons == b.persons and a.cleaned == b.cleaned


# --- boilerplate and the derivative ---------------------------------------------------

def test_boilerplate_leaves_the_derivative_only():
    text = ("top of page\n\nA headline about rivers\n\n  • 6 min read\n\nThe river rose by two metres overnight, "
            "and the town council met at dawn to plan the evacuation of the lower streets.\n\nree\n\nShare on Facebook\n"
            "Comments\nbottom of page\n")
    inf = infer(text)
    assert inf.boilerplate == (1, 5, 9, 11, 12, 13)
    assert inf.cleaned == ("A headline about rivers\n\nThe river rose by two metres overnight, and the town council met at "
                           "dawn to plan the evacuation of the lower streets.\n")


def test_prose_lines_are_never_boilerplate():
    text = "Comments from the minister came late.\n\nShare prices fell.\n\nHome is where the heart is, she said.\n"
    assert infer(text).boilerplate == ()


def test_photo_caption_and_credit_are_boilerplate_and_name_the_photographer():
    text = "A title here\n\nThe mayor at the opening\nThe mayor at the opening. Photo: Jan Nowak\n\n" + "Body text. " * 30
    f, inf = facts(text)
    assert inf.boilerplate == (3, 4)
    assert [(p.name, p.role) for p in inf.persons] == [("Jan Nowak", "pht")]


def test_agency_credit_is_not_a_photographer():
    text = "A title here\n\nThe mayor. Photo: NAU-media\n\n" + "Body text. " * 30
    assert infer(text).persons == ()


def test_derivative_repairs_mojibake_and_normalises_characters():
    text = "\ufeffCafÃ© owners\u00a0protest\r\n\r\nzero\u200bwidth and e\u0301\r\n"
    inf = infer(text)
    assert inf.cleaned == "Café owners protest\n\nzerowidth and é\n"


# --- title -----------------------------------------------------------------------------

def test_title_is_the_first_title_like_line_not_furniture_or_dates():
    f, _ = facts("Menu\nSearch\n\n12.03.2024\n\nBridges of the north\n\n" + "Body sentence here. " * 20)
    assert f["title"] == "Bridges of the north"


def test_no_title_when_the_text_opens_with_prose():
    f, _ = facts("The river rose by two metres overnight, and the council met at dawn to plan the evacuation of the "
                 "lower streets, which had been flooded twice in the last ten years, and to call for help from the army.")
    assert "title" not in f


# --- outlets ---------------------------------------------------------------------------

def test_registered_outlet_from_source_url():
    f, inf = facts("A title\n\nSource: https://www.interia.pl/news/abc\n\n" + "Body text is here. " * 20)
    assert f["source.outlet.name"] == "Interia" and f["source.outlet.domain"] == "interia.pl"
    assert f["source.outlet.language"] == "pl"
    assert f["translation.original_url"] == "https://www.interia.pl/news/abc"
    assert inf.warnings == ()


def test_unknown_outlet_is_recorded_as_given_with_a_warning():
    f, inf = facts("A title\n\nOriginal article in The Riverside Gazette\n\n" + "Body text is here. " * 20)
    assert f["source.outlet.name"] == "The Riverside Gazette"
    assert "source.outlet.language" not in f  # never guessed
    assert "translation.status" not in f  # an unregistered outlet's language is not known
    assert [w.code for w in inf.warnings] == ["IN-W101"]


def test_outlet_mentions_need_the_registry():
    f, _ = facts("A title\n\nThe minister told Parliament that nothing had changed. " + "More text here. " * 20)
    assert "source.outlet.name" not in f


def test_registry_extension_supplies_language(tmp_path):
    extra = tmp_path / "outlets.toml"
    extra.write_text('[[outlet]]\nname = "Riverside Gazette"\naliases = ["The Riverside Gazette"]\n'
                     'domains = ["riverside.example"]\nlanguage = "nl"\n', encoding="utf-8")
    reg = OutletRegistry.load([extra])
    f, inf = facts("A title\n\nOriginal article in The Riverside Gazette\n\n" + "The text goes on here. " * 20, registry=reg)
    assert f["source.outlet.name"] == "Riverside Gazette" and f["source.outlet.domain"] == "riverside.example"
    assert f["translation.status"] == "translated" and f["translation.source_language"] == "nl"
    assert inf.warnings == ()


@pytest.mark.parametrize("body,msg", [
    ("[[outlet]]\nname = 1\n", "name"),
    ("[[outlet]\n", "not valid TOML"),
    ('[[outlet]]\nname = "X"\nlanguage = "not a tag!"\n', "language"),
])
def test_bad_registry_is_one_clear_line(tmp_path, body, msg):
    p = tmp_path / "outlets.toml"
    p.write_text(body, encoding="utf-8")
    with pytest.raises(RegistryError) as e:
        OutletRegistry.load([p])
    assert msg in str(e.value) and str(p) in str(e.value) and "\n" not in str(e.value)


def test_masthead_with_original_elsewhere_is_the_republisher():
    f, _ = facts("Meduza\n\nA title about the war\n\nFirst published in Novaya Gazeta.\n\n" + "Текст статьи. " * 3
                 + "The text goes on here. " * 20)
    assert f["source.outlet.name"] == "Novaya Gazeta" and f["source.republisher"] == "Meduza"


# --- translation ---------------------------------------------------------------------------

@pytest.mark.parametrize("line,status,lang", [
    ("Translated from the German by Anna Schmidt.", "translated", "de"),
    ("Unofficial translation", "translated", None),
    ("Machine translated", "machine-translated", None),
    ("An interview with the minister for the Polish edition of", "translated", "pl"),
    ("An interview given to the Spanish newspaper El Mundo", "translated", "es"),
    ("First published in Gazeta Wyborcza (in Polish) on 3 May 2024.", "translated", "pl"),
    ("This text was machine-translated from Russian.", "machine-translated", "ru"),
    ("Aus dem Russischen von Karl Meier", "translated", "ru"),
    ("Original article: Meduza (in Russian)", "translated", "ru"),
    ("Read the original in Russian on Meduza", "translated", "ru"),
])
def test_translation_markers(line, status, lang):
    f, _ = facts("A title\n\n" + line + "\n\n" + "The text of the piece goes on here in English. " * 10)
    assert f["translation.status"] == status
    assert f.get("translation.source_language") == lang


def test_no_marker_no_translation_claim():
    f, _ = facts("A title\n\n" + "The text of the piece was translated into many languages. " * 10)
    assert "translation.status" not in f and "translation.source_language" not in f


def test_translator_is_a_person():
    _, inf = facts("A title\n\n" + "The text goes on. " * 20 + "\n\nTranslation: Jan Kowalski\n")
    assert [(p.name, p.role) for p in inf.persons] == [("Jan Kowalski", "trl")]


# --- dates ------------------------------------------------------------------------------------

@pytest.mark.parametrize("header,edtf", [
    ("09.07.2025", "2025-07-09"),
    ("2023-11-05T14:20", "2023-11-05"),
    ("Published: 3 March 2024 | Updated: 4 March 2024", "2024-03-03"),
    ("Updated: 4 March 2024 | Published: 3 March 2024", "2024-03-03"),
    ("12 апреля 2024", "2024-04-12"),
    ("9 lipca 2025", "2025-07-09"),
    ("July 9, 2025", "2025-07-09"),
    ("  • Jul 9", "XXXX-07-09"),
    ("By Jane Doe | 14 February 2022", "2022-02-14"),
])
def test_publication_date_forms(header, edtf):
    f, _ = facts("A title\n\n" + header + "\n\n" + "The text of the piece goes on here in English. " * 10)
    assert f["dates.published"] == edtf
    assert dates.is_edtf(edtf)


def test_yearless_date_takes_a_caption_year_as_uncertain():
    f, inf = facts("A title\n\n  • Jul 9\n\nThe mayor, Gdansk 2024. Photo: Jan Nowak\n\n" + "Body text. " * 30)
    assert f["dates.published"] == "2024-07-09?"
    assert inf.facts["dates.published"].origin.lines == (3, 5)


def test_body_dates_are_never_the_publication_date():
    f, _ = facts("A title\n\nOn 31 March 2022 the troops crossed the border, and on 2 April 2022 they left again, "
                 "the ministry said in a statement that was read out on television in the evening of that day.\n")
    assert "dates.published" not in f


def test_updated_alone_is_not_published():
    f, _ = facts("A title\n\nUpdated: 4 March 2024\n\n" + "The text goes on here in English. " * 10)
    assert "dates.published" not in f


def test_first_published_date_is_the_originals():
    f, _ = facts("A title\n\nPublished: 10 July 2025\n\nFirst published in Der Spiegel (in German) on 2 July 2025.\n\n"
                 + "The text goes on here in English. " * 10)
    assert f["dates.published"] == "2025-07-10" and f["dates.original_published"] == "2025-07-02"


@pytest.mark.parametrize("s,found", [
    ("07/09/2025", []),  # ambiguous day and month: not ours to guess
    ("31/12/2024", ["2024-12-31"]),
    ("30 February 2024", []),
    ("9 de julio de 2025", ["2025-07-09"]),
    ("9. Juli 2025", ["2025-07-09"]),
])
def test_find_dates(s, found):
    assert [f.edtf() for f in dates.find_dates(s)] == found


# --- persons -----------------------------------------------------------------------------------

def test_spelling_variants_merge_with_aliases():
    text = ("An interview by Pavel Latushka for a weekly\n\n— Yes, said Pavel Latushko told Interia later.\n\n"
            "Marcin Makowski, Interia: is it true?\n\nPavel Latushka, former minister: — Yes, it is.\n")
    _, inf = facts(text)
    people = {(p.name, p.role): p.aliases for p in inf.persons}
    assert people[("Pavel Latushka", "ive")] == ("Pavel Latushko",)
    assert ("Marcin Makowski", "ivr") in people


def test_quoted_people_get_no_role():
    _, inf = facts("A title\n\nThe lawyer Artsiom Praskalovich said that Jeroen Kurman was right. " * 5)
    assert inf.persons == ()


def test_bylines_in_cyrillic_and_with_two_authors():
    _, inf = facts("Заголовок статьи\n\nАвтор: Мария Иванова\n\n" + "Текст статьи продолжается здесь и дальше. " * 10)
    assert [(p.name, p.role) for p in inf.persons] == [("Мария Иванова", "aut")]
    _, inf = facts("A title\n\nBy Jane Doe and Tom Berry\n\n" + "The text goes on here. " * 20)
    assert sorted((p.name, p.role) for p in inf.persons) == [("Jane Doe", "aut"), ("Tom Berry", "aut")]


# --- genre and listings ----------------------------------------------------------------------------

def test_interview_by_qa_structure():
    qa = "".join(f"Why did it happen, question {i}?\n\n— Because of reason number {i}, which was long.\n\n" for i in range(4))
    f, _ = facts("A title\n\n" + "Intro text about the talk, long enough to be a paragraph. " * 5 + "\n\n" + qa)
    assert f["genre"] == "interview"


def test_listing_split_items():
    items = "".join(f"  • Item title {i}\n\n    Jane Doe, Deputy Head of the Office, said a number of things about topic {i} "
                    f"that were summarised here.\n\n" for i in range(1, 7))
    text = "top of page\n\nSite search\n\n42 results found\n\n" + items + "bottom of page\n"
    f, inf = facts(text)
    assert f["genre"] == "listing" and "title" not in f and "source.outlet.name" not in f
    assert [(i.index, i.first_line, i.last_line) for i in inf.items][:2] == [(1, 7, 9), (2, 11, 13)]
    first = inf.items[0].inference
    assert first.facts["title"].value == "Item title 1"
    assert [(p.name, p.role) for p in first.persons] == [("Jane Doe", "aut")]
    assert [(p.name, p.role) for p in inf.persons] == [("Jane Doe", "aut")]


def test_draft_sidecar_shape():
    f, inf = facts((TEXTS / "bom-crlf-byline.txt").read_bytes().decode("utf-8-sig"))
    doc = draft_sidecar(inf)
    assert doc["notes"] == ["Draft from archiver inspect; review before packaging"]
    assert doc["dates"]["published"] == "2025-07-09" and doc["translation"]["source_language"] == "de"
    assert {"name": "Anna Schmidt", "role": "translator"} in doc["persons"]
    def keys(node):
        if isinstance(node, dict):
            for k, v in node.items():
                yield k
                yield from keys(v)
        elif isinstance(node, list):
            for v in node:
                yield from keys(v)

    assert not {"origin", "rule", "confidence", "lines"} & set(keys(doc))


# --- the hand-written held-out style texts -----------------------------------------------------------

def test_texts_bom_crlf_byline():
    data = (TEXTS / "bom-crlf-byline.txt").read_bytes()
    d = decode(data)
    assert (d.encoding, d.newlines) == ("utf-8-sig", "crlf")
    f, inf = facts(d.text)
    assert f["title"] == "City council approves the new river bridge after a long debate"
    assert f["source.outlet.name"] == "Der Spiegel" and f["translation.source_language"] == "de"
    assert f["dates.published"] == "2025-07-09" and f["dates.original_published"] == "2025-07-02"
    assert {(p.name, p.role) for p in inf.persons} == {("Jane Doe", "aut"), ("Tom Berry", "aut"),
                                                        ("Anna Schmidt", "trl"), ("Maria Lopez", "pht")}


def test_texts_cyrillic_original():
    f, inf = facts((TEXTS / "cyrillic-original.txt").read_text(encoding="utf-8"))
    assert f["language"] == "ru" and f["dates.published"] == "2024-04-12"
    assert f["title"] == "Власти объявили о новых ограничениях для независимых СМИ"
    assert f["source.outlet.name"] == "Novaya Gazeta"
    assert "translation.status" not in f


def test_texts_iso_interview():
    f, inf = facts((TEXTS / "iso-interview.txt").read_text(encoding="utf-8"))
    assert f["genre"] == "interview" and f["dates.published"] == "2023-11-05"
    assert {(p.name, p.role) for p in inf.persons} == {("Olena Kravets", "ivr"), ("Ihor Terekhov", "ive")}
    assert f["source.outlet.domain"] == "example-kharkiv-news.org"


def test_texts_mojibake():
    f, inf = facts((TEXTS / "mojibake.txt").read_text(encoding="utf-8"))
    assert f["title"] == "Small cafés fear the new rules"
    assert f["translation.status"] == "machine-translated"
    assert "Kraków" in inf.cleaned and "“unfair”" in inf.cleaned


# --- more held-out shapes ------------------------------------------------------------------------

def test_cyrillic_scripts_are_told_apart():
    from archiver.language import detect

    assert detect("Президент заявил, что это было не так, и он не знает, что будет дальше. Мы уже говорили об этом, "
                  "но никто не слушал, когда это было важно для всех нас и для страны.")[0] == "ru"
    assert detect("Президент заявив, що це було не так, і він не знає, що буде далі. Ми вже говорили про це, "
                  "але ніхто не слухав, коли це було важливо для всіх нас і для країни.")[0] == "uk"
    assert detect("Прэзідэнт заявіў, што гэта было не так, і ён не ведае, што будзе далей. Мы ўжо казалі пра гэта, "
                  "але ніхто не слухаў, калі гэта было важна для ўсіх нас і для краіны.")[0] == "be"
    assert detect("Too short to tell.") is None


def test_registered_outlet_in_the_texts_own_language_is_an_original():
    text = ("Nasha Niva\n\nЗагаловак артыкула пра выбары\n\nГутарыла Алена Мароз\n\n"
            + "Мы ўжо казалі пра гэта, але ніхто не слухаў, калі гэта было важна для ўсіх нас і для краіны. " * 5)
    f, inf = facts(text)
    assert f["language"] == "be" and f["source.outlet.name"] == "Nasha Niva"
    assert f["translation.status"] == "original"
    assert [(p.name, p.role) for p in inf.persons] == [("Алена Мароз", "ivr")]


def test_names_in_prose_are_trimmed_to_the_person():
    text = ("An interview for a weekly\n\n— The former Ambassador to Poland Eva Jansen told Onet. According to her, "
            "nothing changed.\n\n— Yes.\n\n— No.\n")
    _, inf = facts(text)
    assert [(p.name, p.role) for p in inf.persons] == [("Eva Jansen", "ive")]


def test_shouting_byline_and_closing_credit_merge():
    text = ("A title\n\nBy JANE DOE\n\n" + "The text goes on here. " * 20 + "\n\nReporting by Jane Doe; Editing by Tom Roe\n")
    _, inf = facts(text)
    assert [(p.name, p.role, p.aliases) for p in inf.persons] == [("Jane Doe", "aut", ("JANE DOE",))]


def test_name_and_date_line_is_a_byline():
    f, inf = facts("A headline on rivers\n\nJane Doe | 12 April 2024\n\n" + "The text goes on here. " * 20)
    assert f["dates.published"] == "2024-04-12"
    assert [(p.name, p.role) for p in inf.persons] == [("Jane Doe", "aut")]


def test_menus_counters_and_footers_are_boilerplate():
    text = ("Home | About us | News | Contacts\nEN | RU\n\nA title\n\n12 views\nPost not marked as liked\n\n"
            + "The text goes on here. " * 20 + "\n\n© 2024 by Riverside Media. Proudly created with Wix.com\n")
    f, inf = facts(text)
    assert inf.boilerplate == (1, 2, 6, 7, 11)
    assert f["title"] == "A title"
    assert "source.outlet.name" not in f  # an unregistered site may be republishing: not claimed as the outlet


def test_photographer_after_agency_slash():
    _, inf = facts("A title\n\nThe square at night. Photo: EPA/Jan Nowak\n\n" + "The text goes on here. " * 20)
    assert [(p.name, p.role) for p in inf.persons] == [("Jan Nowak", "pht")]


@pytest.mark.parametrize("line,edtf", [
    ("Belarus after 9 August 2020", None),
    ("Warsaw, 9 July 2025, 14:20 CET", "2025-07-09"),
    ("12 апреля 2024 г., 10:15", "2024-04-12"),
    ("Jul 9, 2025 • 6 min read", "2025-07-09"),
    ("пятница, 12 апреля 2024", "2024-04-12"),
    ("12 квітня 2024 р.", "2024-04-12"),
    ("9 lipca 2025 r.", "2025-07-09"),
    ("Posted by Jane Doe on 9 July 2025", "2025-07-09"),
])
def test_header_dates_need_a_date_like_line(line, edtf):
    f, _ = facts("A title\n\n" + line + "\n\n" + "The text of the piece goes on here in English. " * 10)
    assert f.get("dates.published") == edtf


def _read(name):
    return decode((TEXTS / name).read_bytes()).text


def test_texts_wix_oped_with_source_url():
    f, inf = facts(_read("wix-oped-source-url.txt"))
    assert f["source.outlet.name"] == "Radio Svaboda" and f["translation.status"] == "translated"
    assert f["translation.source_language"] == "be"  # the registry's language of the named original
    assert f["dates.published"] == "2024-04-12"
    assert [(p.name, p.role) for p in inf.persons] == [("Pavel Latushka", "aut")]


def test_texts_wix_interview_yearless():
    f, inf = facts(_read("wix-interview-yearless.txt"))
    assert f["dates.published"] == "XXXX-03-03"  # no year evidence: the year stays unknown
    assert f["source.outlet.name"] == "Rzeczpospolita" and f["translation.source_language"] == "pl"
    assert {(p.name, p.role) for p in inf.persons} == {("Pavel Latushka", "ive"), ("Jan Kowalski", "ivr")}


def test_texts_cyrillic_interview():
    f, inf = facts(_read("cyrillic-interview.txt"))
    assert (f["language"], f["genre"], f["dates.published"]) == ("ru", "interview", "2025-07-09")
    assert f["source.outlet.name"] == "Zerkalo" and f["translation.status"] == "original"
    assert [(p.name, p.role) for p in inf.persons] == [("Анна Петрова", "ivr")]


def test_texts_german_translator():
    f, inf = facts(_read("german-translator.txt"))
    assert (f["language"], f["dates.published"], f["translation.source_language"]) == ("de", "2024-03-03", "ru")
    assert {(p.name, p.role) for p in inf.persons} == {("Anna Schmidt", "aut"), ("Karl Meier", "trl")}


def test_contradicting_dates_are_both_dropped():
    f, _ = facts("A title\n\nPublished: 1 July 2025\n\nFirst published in Der Spiegel (in German) on 2 July 2025.\n\n"
                 + "The text goes on here in English. " * 10)
    assert "dates.published" not in f and "dates.original_published" not in f


def test_body_mentions_claim_nothing():
    """Dates, names, 'source', 'photo', 'translated', an agency in running prose: none is provenance."""
    f, inf = facts(_read("body-only-mentions.txt"))
    assert set(f) == {"title", "language"}
    assert inf.persons == () and inf.boilerplate == ()


_MONTHS_EN = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
              "November", "December"]
_MONTHS_RU = ["января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября",
              "ноября", "декабря"]


@settings(max_examples=150, deadline=None)
@given(st.dates(min_value=__import__("datetime").date(1990, 1, 1), max_value=__import__("datetime").date(2035, 12, 31)),
       st.sampled_from(["iso", "dots", "en-dmy", "en-mdy", "ru", "iso-time"]))
def test_find_dates_reads_every_form_back(day, form):
    text = {
        "iso": day.isoformat(),
        "iso-time": day.isoformat() + "T14:20",
        "dots": f"{day.day:02d}.{day.month:02d}.{day.year}",
        "en-dmy": f"{day.day} {_MONTHS_EN[day.month - 1]} {day.year}",
        "en-mdy": f"{_MONTHS_EN[day.month - 1]} {day.day}, {day.year}",
        "ru": f"{day.day} {_MONTHS_RU[day.month - 1]} {day.year} года",
    }[form]
    found = dates.find_dates(f"Published: {text} | Updated")
    assert [f.edtf() for f in found] == [day.isoformat()]
    assert dates.is_edtf(found[0].edtf())


def test_every_rule_id_is_documented(root):
    """docs/extraction.md explains every rule the code can name (a new rule without docs fails here)."""
    import re as _re

    docs = (root / "docs" / "extraction.md").read_text(encoding="utf-8")
    src = "".join((root / "archiver" / f).read_text(encoding="utf-8") for f in
                  ("extract.py", "boilerplate.py", "outlet.py", "persons.py", "translation.py", "listing.py", "language.py"))
    ids = set(_re.findall(r'"((?:bp|title|outlet|translation|date|person|genre|language)\.[a-z-]+)"', src))
    ids -= set(record.FIELD_PATHS)
    assert ids, "no rule ids found: the pattern is stale"
    missing = sorted(i for i in ids if f"`{i}`" not in docs)
    assert not missing, f"rules without documentation: {missing}"


def test_site_name_at_top_and_in_footer_is_a_masthead_not_the_title():
    text = ("Riverside Media\n\nThe bridge is finally open\n\n" + "The text goes on here in English. " * 10
            + "\n\n© 2024 by Riverside Media. All rights reserved.\n")
    f, inf = facts(text)
    assert f["title"] == "The bridge is finally open"
    assert "source.outlet.name" not in f


def test_registered_site_in_footer_is_the_outlet_and_unregistered_one_the_republisher():
    body = "The text goes on here in English. " * 10
    f, _ = facts("A title\n\n" + body + "\n\n© 2024 Kyiv Post. All rights reserved.\n")
    assert f["source.outlet.name"] == "Kyiv Post" and "translation.status" not in f  # a footer alone: status unknown
    f, _ = facts("A title\n\nOriginal article in Nasha Niva\n\n" + body + "\n\n© 2024 by Riverside Media\n")
    assert f["source.outlet.name"] == "Nasha Niva" and f["source.republisher"] == "Riverside Media"


def test_title_with_registered_site_suffix():
    f, _ = facts("Bridges of the north | Onet\n\n" + "Tekst artykułu jest tutaj i ciągnie się dalej, bo nie jest krótki. " * 6)
    assert f["title"] == "Bridges of the north"
    assert f["source.outlet.name"] == "Onet" and f["language"] == "pl"
    assert f["translation.status"] == "original"  # a Polish text on a Polish outlet, no marker of translation


def test_interview_with_someone_by_someone():
    _, inf = facts("An interview with Eva Jansen by Jan Nowak\n\n— Why now?\n\n— Because it is time.\n")
    assert {(p.name, p.role) for p in inf.persons} == {("Eva Jansen", "ive"), ("Jan Nowak", "ivr")}


def test_initials_belong_to_the_name():
    _, inf = facts("A title\n\nBy Jane M. Doe\n\n" + "The text goes on here. " * 20)
    assert [(p.name, p.role) for p in inf.persons] == [("Jane M. Doe", "aut")]



_VALUES = st.one_of(st.sampled_from(["unknown", "en", "pl-PL", "xx-!!", "2024-05-01", "2024-13-01", "XXXX-07-09", "https://example.org/a",
                                     "http://bad host/", "ftp://x.org", "example.org", "Example.ORG", " padded ", "", "a\x01b",
                                     "translated", "original", "interview", "Gazeta Wyborcza", "ive", "interviewee"]),
                    st.text(max_size=12))
_ORIGINS = st.builds(lambda rule, lines, conf: Origin(by="inferred", rule=rule, lines=lines, confidence=conf),
                     st.sampled_from(["title.first-line", "x"]), st.lists(st.integers(1, 99), max_size=3).map(tuple),
                     st.one_of(st.none(), st.floats(0, 1)))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(FIELD_PATHS)), _VALUES, _ORIGINS)
def test_a_fact_is_valid_exactly_when_its_whole_dump_is(path, value, origin):
    # _only_valid checks a fact's value with its Origin as it is; the plain rule validates the dump.
    from pydantic import ValidationError

    fact = Fact[Any](value=value, origin=origin)
    try:
        extract._adapter(path).validate_python(fact.model_dump())
        plain = True
    except ValidationError:
        plain = False
    assert extract._valid(path, fact) == plain



def test_the_three_whole_line_rules_tried_as_one():
    # boilerplate.find tries page edges, reading times and result counts as one pattern first.
    from archiver import boilerplate as b

    lines = [s.strip() for p in sorted(TEXTS.glob("*.txt")) for s in split_lines(p.read_text(encoding="utf-8", errors="replace"))]
    lines += ["top of page", "• Bottom of page •", "6 min read", "12 Min. Read", "Reading time: 4 min", "3 items found for \"x\"",
              "no results for x", "Найдено 3 статьи", "Back to top |", "5 minutes read.", "top of page and more", "1 results found"]
    for t in lines:
        assert bool(b._EDGE_READING_RESULTS.match(t)) == any(rx.match(t) for rx in (b._PAGE_EDGE, b._READING, b._RESULTS)), t
