"""Hypothesis strategies for valid Records, shared by every engineer's tests.

``records()`` draws Records that the model accepts: every field kind, explicit
unknowns with any origin, all origin kinds, persons with aliases, notes,
listing items, superseded captures, and text with non-BMP and XML-special
characters.  Only characters XML 1.0 can carry are drawn (no control
characters, surrogates, U+FFFE or U+FFFF).

Dates are drawn from disjoint year ranges (original <= 2009 < published <= 2029
< captured) so the cross-field rules hold by construction, not by rejection.
"""

from __future__ import annotations

import string

from hypothesis import strategies as st

from archiver.record import RIGHTS_STATEMENTS, ROLE_TERMS, Record

_FORBIDDEN = [chr(c) for c in range(32) if c not in (9, 10)] + ["\ufffe", "\uffff"]

# Characters XML 1.0 can carry, weighted towards the interesting ones.
xml_chars = st.one_of(
    st.characters(blacklist_categories=("Cs",), blacklist_characters=_FORBIDDEN),
    st.sampled_from(list("<>&'\"]]\t\n é€—😀𝄞ї")),
)


def _is_text(v: str) -> bool:
    return bool(v.strip()) and v == v.strip()


texts = st.text(xml_chars, min_size=1, max_size=30).filter(_is_text)
# Origin.source / .rule are free strings: anything XML can carry in an attribute (\r too).
free = st.text(st.one_of(xml_chars, st.just("\r")), max_size=30)

hex64 = st.text("0123456789abcdef", min_size=64, max_size=64)
hex128 = st.text("0123456789abcdef", min_size=128, max_size=128)


@st.composite
def _origins(draw) -> dict:
    """Any valid Origin: curator/default need a source, inferred a rule; the rest is optional."""
    by = draw(st.sampled_from(["curator", "default", "inferred"]))
    o: dict = {"by": by}
    if by != "inferred" or draw(st.booleans()):
        o["source"] = draw(free if by == "inferred" else free.filter(bool))
    if by == "inferred" or draw(st.integers(0, 4)) == 0:
        o["rule"] = draw(free.filter(bool) if by == "inferred" else free)
    lines = draw(st.lists(st.integers(1, 10_000), max_size=4))
    if lines:
        o["lines"] = tuple(lines)
    if draw(st.booleans()):
        o["confidence"] = draw(st.floats(0, 1, allow_nan=False))
    return o


origins = _origins()

LANGUAGES = ("en", "ru", "uk", "de", "fr-CA", "zh-Hant-TW", "sr-Latn", "kk", "es-419", "be")


def _primary(tag: str) -> str:
    return tag.split("-")[0]


_label = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=10)
domains = st.tuples(_label, _label).map(lambda t: f"{t[0]}.{t[1]}x")
urls = st.builds(
    lambda scheme, host, path, q: f"{scheme}://{host}/{path}{q}",
    st.sampled_from(["http", "https"]),
    domains,
    st.lists(st.sampled_from(list(string.ascii_letters + string.digits + "-_/.~é") + ["%2F", "%e9", "<", "|"]), max_size=12).map("".join),
    st.sampled_from(["", "?a=1&b=2", "#frag", "?q=%C3%A9"]),
)
rights_uris = st.sampled_from([f"http://rightsstatements.org/vocab/{s}/1.0/" for s in RIGHTS_STATEMENTS])


def _edtf(lo: int, hi: int):
    """EDTF values whose every reading lies within years lo..hi (or open at an end)."""
    y = st.integers(lo, hi)
    m = st.integers(1, 12)
    d = st.integers(1, 28)
    return st.one_of(
        y.map(str),
        st.builds(lambda y, m: f"{y}-{m:02d}", y, m),
        st.builds(lambda y, m, d: f"{y}-{m:02d}-{d:02d}", y, m, d),
        st.builds(lambda y, q: f"{y}{q}", y, st.sampled_from("?~%")),
        st.builds(lambda y: f"{y}-XX", y),
        st.builds(lambda y, s: f"{y}-{s}", y, st.integers(21, 24)),
        st.builds(lambda a, b: f"{min(a, b)}/{max(a, b)}", y, y),
        st.builds(lambda y, m, d: f"{y}-{m:02d}-{d:02d}T12:30:00Z", y, m, d),
    )


timestamps = st.builds(
    lambda y, m, d, h, tz: f"{y}-{m:02d}-{d:02d}T{h:02d}:05:06{tz}",
    st.integers(2030, 2035), st.integers(1, 12), st.integers(1, 28), st.integers(0, 23),
    st.sampled_from(["Z", "+02:00", "-05:30"]),
)


def fact(values):
    """A fact: a known value or the explicit unknown, either with any origin."""
    return st.builds(lambda v, o: {"value": v, "origin": o}, st.one_of(values, st.just("unknown")), origins)


persons = st.builds(
    dict,
    name=texts,
    role=st.sampled_from(sorted(ROLE_TERMS) + ["interviewee", "Translator"]),
    aliases=st.lists(texts, max_size=2).map(tuple),
    origin=origins,
)
notes = st.builds(dict, text=texts, origin=origins)


@st.composite
def records(draw) -> Record:
    language = draw(fact(st.sampled_from(LANGUAGES)))
    status = draw(fact(st.sampled_from(["original", "translated", "machine-translated"])))
    # Source language: differs from the text's own for translations, equals it for originals.
    if status["value"] == "original" and language["value"] != "unknown":
        src_values = st.just(language["value"])
    elif language["value"] != "unknown":
        src_values = st.sampled_from([t for t in LANGUAGES if _primary(t) != _primary(language["value"])])
    else:
        src_values = st.sampled_from(LANGUAGES)
    data = {
        "id": draw(hex64),
        "title": draw(fact(texts)),
        "language": language,
        "genre": draw(fact(st.sampled_from(["interview", "article", "news", "listing"]))),
        "source": {
            "outlet": {
                "name": draw(fact(texts)),
                "url": draw(fact(urls)),
                "domain": draw(fact(domains)),
                "language": draw(fact(st.sampled_from(LANGUAGES))),
            },
            "url": draw(fact(urls)),
            "republisher": draw(fact(texts)),
        },
        "translation": {
            "status": status,
            "source_language": draw(fact(src_values)),
            "original_title": draw(fact(texts)),
            "original_url": draw(fact(urls)),
        },
        "dates": {
            "published": draw(fact(_edtf(2010, 2029) | st.sampled_from(["201X", "../2024", "2024/..", "XXXX-07-09"]))),
            "original_published": draw(fact(_edtf(1990, 2009))),
            "captured": draw(fact(timestamps)),
        },
        "persons": draw(st.lists(persons, max_size=3)),
        "rights": draw(fact(rights_uris)),
        "notes": draw(st.lists(notes, max_size=2)),
        "original": {
            "filename": draw(st.text(xml_chars, min_size=1, max_size=30)),
            "size": draw(st.integers(0, 10**12)),
            "encoding": draw(st.sampled_from(["utf-8", "utf-8-sig"])),
            "newlines": draw(st.sampled_from(["lf", "crlf", "cr", "mixed", "none"])),
            "media_type": draw(st.sampled_from(["text/plain; charset=utf-8", "text/plain"])),
        },
        "supersedes": draw(st.none() | hex64),
        "listing": draw(st.none() | st.builds(
            lambda p, i, a, b: {"parent": p, "item": i, "lines": (min(a, b), max(a, b))},
            hex64, st.integers(1, 500), st.integers(1, 10**6), st.integers(1, 10**6))),
    }
    return Record.model_validate(data)
