"""Extraction: what a scraped text says about its own provenance.

``decode`` turns the preserved bytes into text (strict UTF-8, never re-encoded);
``infer`` reads title, outlet, language, translation, dates, persons, genre and
boilerplate out of the text, each value with the rule and lines it came from.
Both are pure.  ``inspect`` is the command (I/O at the edge).

Rules are documented in docs/extraction.md (one section per rule id).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from . import boilerplate, dates, findings, language, listing, persons, translation
from .clean import derivative, norm_lines, split_lines
from .outcome import EXIT_FAILED, EXIT_OK
from . import outlet
from .outlet import OutletRegistry
from .prefilter import NEVER, Gated, mask_of_views, view, views
from .record import FIELD_PATHS, ROLE_TERMS, UNKNOWN, Fact, Origin, Person

findings.rule("IN-E101", "docs/extraction.md#encoding", "the input text is not UTF-8 (archiver refuses to re-encode a preserved original)")
findings.rule("IN-E102", "docs/extraction.md#inspect", "the input file cannot be read as a regular file")
findings.rule("IN-E103", "docs/extraction.md#sidecar", "a sidecar already exists; inspect never overwrites it")
findings.rule("IN-E104", "docs/extraction.md#outlets", "a curator's outlet registry (outlets.toml) cannot be used")
findings.rule("IN-E105", "docs/extraction.md#sidecar", "the draft sidecar cannot be written (folder missing or not writable)")
findings.rule("IN-W101", "docs/extraction.md#outlets", "an outlet named in the text is not in the outlet registry; recorded as given")

MAX_TEXT_BYTES = 64 * 1024 * 1024  # inspect refuses larger inputs: memory stays bounded


# --- decoding ---------------------------------------------------------------


class NotUTF8(ValueError):
    """The bytes are not UTF-8; the message names the detected encoding in one line."""


@dataclass(frozen=True)
class Decoded:
    text: str  # decoded, BOM removed, newlines as in the file
    encoding: str  # "utf-8" or "utf-8-sig"
    newlines: str  # "lf" | "crlf" | "cr" | "mixed" | "none"


def _newline_style(text: str) -> str:
    crlf = text.count("\r\n")
    cr = text.count("\r") - crlf
    lf = text.count("\n") - crlf
    kinds = [k for k, n in (("crlf", crlf), ("cr", cr), ("lf", lf)) if n]
    if not kinds:
        return "none"
    return kinds[0] if len(kinds) == 1 else "mixed"


def decode(data: bytes) -> Decoded:
    """Strict UTF-8 (with or without a byte-order mark); raise NotUTF8 otherwise.

    We refuse rather than re-encode: the preserved original must stay byte-exact,
    and a guessed encoding would be invented metadata.
    """
    bom = data.startswith(b"\xef\xbb\xbf")
    body = data[3:] if bom else data
    try:
        text = body.decode("utf-8", errors="strict")
    except UnicodeDecodeError as e:
        raise NotUTF8(f"not UTF-8 (byte {e.start}: {e.reason}); detected encoding: {_detect(data)}") from None
    return Decoded(text=text, encoding="utf-8-sig" if bom else "utf-8", newlines=_newline_style(text))


def _detect(data: bytes) -> str:
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data[: 1 << 20]).best()
    except Exception:  # noqa: BLE001 - detection is only a hint in an error message
        best = None
    return best.encoding if best is not None else "unknown"


# --- inference --------------------------------------------------------------


@dataclass(frozen=True)
class ListingItem:
    index: int  # 1-based
    first_line: int  # 1-based, inclusive, in the listing's text
    last_line: int
    inference: "Inference"  # inference on the item's text alone (+ listing context)


@dataclass(frozen=True)
class Inference:
    facts: dict[str, Fact]  # keyed by record.FIELD_PATHS; only fields found
    persons: tuple[Person, ...] = ()
    boilerplate: tuple[int, ...] = ()  # 1-based line numbers
    cleaned: str | None = None  # the cleaned derivative, None if the text is empty
    items: tuple[ListingItem, ...] = ()
    warnings: tuple[findings.Finding, ...] = ()
    boilerplate_rules: dict[int, str] = field(default_factory=dict)  # line -> rule id (for --json)


_FACT = Fact[Any]  # the parametrised class, looked up once (each Fact[Any] is a cache lookup)


def inferred(value: Any, rule: str, lines=(), confidence: float = 0.5) -> Fact:
    """A Fact found by a rule, with its evidence lines and confidence."""
    lines = tuple(sorted({int(n) for n in lines if n >= 1}))
    return _FACT(value=value, origin=Origin(by="inferred", rule=rule, lines=lines, confidence=round(confidence, 2)))


def infer(text: str, *, registry=None) -> Inference:
    """Everything the text says about itself.  Pure: no I/O (the registry is passed in).

    Without a registry the shipped one is used (reading package data, not user files).
    """
    if registry is None:
        registry = _shipped_registry()
    raw = split_lines(text)
    lines = norm_lines(raw)
    bp = boilerplate.find(lines)
    page = listing.detect(lines, bp)
    if page is None:
        return _analyse(raw, lines, bp, registry)
    return _analyse_listing(raw, lines, bp, page, registry)


# --- the rules ----------------------------------------------------------------


@lru_cache(maxsize=1)
def _shipped_registry() -> OutletRegistry:
    return OutletRegistry.load()


_TITLE_LABEL = re.compile(r"^\s*(?:title|headline|заголовок|tytuł|titel|titre|título)\s*:\s*(?P<t>\S.{0,300}?)\s*$", re.I)
_PUB_LABEL = re.compile(r"(?:^|[|•·,;]\s*)(?:published|posted|date|publication date|first published|опубликовано|опубліковано|апублікавана|дата публикации|дата публікації|дата|opublikowano|data publikacji|data|veröffentlicht(?: am)?|datum|publié le|publié|publicado(?: el)?|fecha|pubblicato(?: il)?)\s*(?:on|:|-|—)?\s*", re.I)
_UPDATED = re.compile(r"\b(?:updated|last updated|modified|обновлено|zaktualizowano|aktualisiert|mis à jour|actualizado)\b", re.I)
_INTERVIEW_WORD = re.compile(r"\b(?:interview|q&a|интервью|інтерв['’]ю|інтэрв['’]ю|wywiad|rozmowa z|entretien|entrevista|intervista|gespräch)\b", re.I)
_DATELINE = re.compile(r"^[A-ZÀ-Ý][A-ZÀ-Ý .'-]{2,40}(?:,\s*[A-Za-z]+\.?\s+\d{1,2})?\s*\((?:Reuters|AP|AFP|PAP|dpa|Bloomberg|UNIAN|Ukrinform|Interfax)\)\s*[-—–]")
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")
_DATE_COMPANION = re.compile(r"(?:(?i:by|posted|posted on|on|at|date|dated|in|am|le|el|de|w|в|у|од|г\.?|года|р\.?|року|roku|r\.|and|i|и|&|"
                             r"понедельник|вторник|среда|четверг|пятница|суббота|воскресенье|poniedziałek|wtorek|środa|"
                             r"czwartek|piątek|sobota|niedziela)\s*|"
                             r"[A-ZÀ-ÖØ-ÞĀ-ſА-ЯЁІЇЄЎҐ][\w'’.\-]*\s*){0,6}")
_DASH_START = re.compile(r"^\s*[—–]\s*\S")
_ASKS = re.compile(r"^\s*([^:?]{2,40}):\s*\S.*\?\s*$")  # "Onet: Is the border closed?"
# Rules run over every line, gated by their words (prefilter.py): most lines hold none.
_FIRST_PUBLISHED_G = Gated(outlet.FIRST_PUBLISHED)
_PUB_LABEL_G, _UPDATED_G, _QA_LABEL_G, _ASKS_G, _REPUBLISHED_BY_G = map(
    Gated, (_PUB_LABEL, _UPDATED, persons.QA_LABEL, _ASKS, outlet.REPUBLISHED_BY))


def _marker_line(s: str) -> bool:
    """A line that states provenance rather than being a title."""
    return bool(outlet.ORIGINAL_IN.match(s) or outlet.ORIGINAL_COLON.match(s) or outlet.SOURCE.match(s) or outlet.FIRST_PUBLISHED.search(s)
                or persons.BYLINE.match(s) or _INTERVIEW_GIVEN_LINE.match(s) or _TITLE_LABEL.match(s)
                or translation.find([s], text_language=None))


_INTERVIEW_GIVEN_LINE = re.compile(r"^\s*(?:an\s+)?interview\s+(?:given\s+)?by\b", re.I)


def _header_end(lines, bp) -> int:
    for i, s in enumerate(lines, 1):
        if i not in bp and (len(s.strip()) >= 200 or _DASH_START.match(s)):
            return max(i - 1, 1)
        if i >= 30:
            return 30
    return len(lines)


def _title(lines, bp, header_end, registry):
    for i, s in enumerate(lines[:header_end], 1):  # a label below the header is not the title's
        m = _TITLE_LABEL.match(s)
        if m:
            return inferred(m.group("t"), "title.labeled", (i,), 0.9), None
    masthead = None
    # The site's own name, as its copyright footer gives it, is a masthead when it opens the page too.
    holders = {h.casefold() for n, r in bp.items() if r == "bp.copyright" and (h := boilerplate.copyright_holder(lines[n - 1].strip()))}
    for i, s in enumerate(lines[:header_end], 1):
        t = s.strip()
        if not t or i in bp:
            continue
        if masthead is None and len(t) <= 60 and (registry.lookup(t) or t.casefold() in holders):
            masthead = (registry.lookup(t).name if registry.lookup(t) else t, i)
            continue
        found = dates.find_dates(t)
        if found and len(t) - sum(f.end - f.start for f in found) < 12 or re.fullmatch(r"[\W\d_]*", t):
            continue  # a date line, a rule of dashes
        if len(t) > 200 or _marker_line(t) or listing.item_title(s):
            return None, masthead  # provenance or prose before any headline: the text has no title line
        if t.endswith(":") or t.endswith("?") and len(t) > 120:
            return None, masthead
        if t.endswith((".", "!", ";", ",")) and len(t.split()) >= 15 or not any(c.isalpha() for c in t):
            return None, masthead  # a sentence of prose, not a headline
        m = re.match(r"^(?P<t>.{3,}?)\s+[|–—-]\s+(?P<site>[^|–—]{2,60})$", t)
        if m and registry.lookup(m.group("site").strip()):  # "Headline | Onet": the page title names its site
            return inferred(m.group("t"), "title.site-suffix", (i,), 0.7), masthead or (registry.lookup(m.group("site").strip()).name, i)
        return inferred(t, "title.first-line", (i,), 0.7), masthead
    return None, masthead


def _published(lines, bp, header_end, captions: list[int], seen) -> tuple[Fact | None, Fact | None]:
    """(published, original_published).  Only dates stated as the publication's, never body dates.

    ``seen``: the ``views`` of ``lines``.
    """
    original = None
    mask = mask_of_views(seen)
    first_published, pub_label, updated = (g.live(mask) for g in (_FIRST_PUBLISHED_G, _PUB_LABEL_G, _UPDATED_G))
    for i, s in enumerate(lines, 1) if first_published is not NEVER else ():
        if len(s) > 3000:
            continue
        for m in first_published.finditer(s, seen[i - 1]):
            if m.group("date"):
                found = dates.find_dates(m.group("date"))
                if found and found[0].year:
                    original = inferred(found[0].edtf(), "date.first-published", (i,), 0.85)
                    break
        if original:
            break
    candidates = []
    for i, s in enumerate(lines, 1):
        t = s.strip()
        if not t or len(t) > 300 or i in bp and bp[i] not in ("bp.navigation",):
            continue
        ft = seen[i - 1] if t is s else view(t)  # strip() gives the line itself when there is nothing to strip
        if first_published.search(t, ft):
            continue
        labeled = None
        for m in pub_label.finditer(t, ft):
            rest = t[m.end():]
            found = dates.find_dates(rest)
            if found and found[0].start <= 3:
                labeled = found[0]
                break
        if labeled:
            candidates.append((0.9, "date.labeled", i, labeled))
            continue
        if i > header_end or updated.search(t, ft):
            continue
        found = dates.find_dates(t)
        if not found:
            continue
        rest = t
        for f in reversed(found):
            rest = rest[: f.start] + rest[f.end:]
        rest = re.sub(r"\b\d{1,2}[:.]\d{2}(?:\s*(?:am|pm|h))?\b|\b(?:utc|gmt|cet|cest|eet|eest|msk|mez)\b|"
                      r"\b\d+\s*min(?:ute)?s?\.?\s*read\b", " ", rest, flags=re.I)
        rest = re.sub(r"[\s•·*|,;:()\-–—]+", " ", rest).strip()
        # What surrounds the date may only be a label, a byline or a place name ("Warsaw, 9 July 2025"):
        # "Belarus after 9 August 2020" is a headline about a date, not a publication date.
        if rest and not _DATE_COMPANION.fullmatch(rest):
            continue
        if len(rest) <= 60 and len(found) == 1:
            candidates.append((0.75 if found[0].year else 0.6, "date.header", i, found[0]))
    if not candidates:
        return None, original
    conf, rule, i, f = max(candidates, key=lambda c: (c[0], -c[2]))
    if f.year is not None:
        return inferred(f.edtf(), rule, (i,), conf), original
    # A year-less date (Wix "Jul 9"): a year in a photo caption is strong evidence.
    years: dict[int, list[int]] = {}
    for n in captions:
        for y in _YEAR.findall(lines[n - 1]):
            years.setdefault(int(y), []).append(n)
    if len(years) == 1:
        (y, ev), = years.items()
        value = f.edtf(year_guess=y)
        if dates.is_edtf(value):
            return inferred(value, "date.yearless-with-caption-year", (i, *ev), 0.6), original
    return inferred(f.edtf(), "date.yearless", (i,), conf), original


def _genre(lines, bp, title_fact, header_end, person_cands, has_author, dash_lines=None) -> Fact | None:
    """``dash_lines``: the lines that open with a dash (_DASH_START), when the caller has them."""
    head = [(i, s) for i, s in enumerate(lines[:header_end], 1) if i not in bp]
    for i, s in head:
        if len(s) <= 300 and _INTERVIEW_WORD.search(s):
            return inferred("interview", "genre.interview-marker", (i,), 0.8)
    questions = [i for i, s in enumerate(lines, 1) if len(s) < 500 and s.strip().endswith("?") and i not in bp]
    if dash_lines is None:
        dash_lines = [i for i, s in enumerate(lines, 1) if _DASH_START.match(s)]
    dashed = [i for i in dash_lines if i not in bp]
    if len(questions) >= 3 and len(dashed) >= 3:
        return inferred("interview", "genre.qa-structure", tuple(questions[:3] + dashed[:3]), 0.7)
    if any(c.role in ("ive", "ivr") and c.rule in ("person.qa-label", "person.interviewer-label") for c in person_cands):
        return inferred("interview", "genre.qa-labels", tuple(c.lines[0] for c in person_cands if c.role in ("ive", "ivr")), 0.7)
    for i, s in enumerate(lines[: header_end + 3], 1):
        if _DATELINE.match(s):
            return inferred("news", "genre.news-dateline", (i,), 0.75)
    if has_author:
        return inferred("article", "genre.bylined-article", has_author, 0.5)
    return None


def _merge_persons(cands: list[persons.Candidate], text: str) -> tuple[Person, ...]:
    """One Person per (person, role): spelling variants merged, the text's most used form as the name."""
    clusters: list[list[persons.Candidate]] = []
    for c in cands:
        for cl in clusters:
            if persons.same_person(cl[0].name, c.name):
                cl.append(c)
                break
        else:
            clusters.append([c])
    out = []
    for cl in clusters:
        forms: dict[str, int] = {}
        for name in dict.fromkeys(c.name for c in cl):  # each distinct spelling once: bounded work
            for form, n in persons.variants_in_text(name, text).items():
                forms[form] = max(forms.get(form, 0), n)
            forms.setdefault(name, 1)
        first_seen = {f: text.find(f) if text.find(f) >= 0 else len(text) for f in forms}
        name = max(forms, key=lambda f: (not f.isupper(), forms[f], -first_seen[f]))
        aliases = tuple(sorted(f for f in forms if f != name))
        by_role: dict[str, list[persons.Candidate]] = {}
        for c in cl:
            by_role.setdefault(c.role, []).append(c)
        # interviewer and interviewee exclude each other: keep the better supported
        if "ive" in by_role and "ivr" in by_role:
            weaker = min(("ive", "ivr"), key=lambda r: sum(c.confidence for c in by_role[r]))
            del by_role[weaker]
        for role, cs in by_role.items():
            best = max(cs, key=lambda c: c.confidence)
            conf = min(0.95, best.confidence + 0.05 * (len({n for c in cs for n in c.lines}) - 1))
            lines = tuple(sorted({n for c in cs for n in c.lines}))[:50]  # evidence enough; keeps records small
            rules = sorted({c.rule for c in cs}, key=lambda r: (-max(c.confidence for c in cs if c.rule == r), r))  # ties: by name, never by hash order
            out.append(Person(name=name, role=role, aliases=aliases,
                              origin=Origin(by="inferred", rule=rules[0], lines=lines, confidence=round(conf, 2))))
    return tuple(out)


def _credits(lines, bp) -> dict[int, tuple[str, str]]:
    out = {}
    for n, r in bp.items():
        if r == "bp.photo-credit":
            got = boilerplate.credit(lines[n - 1].strip())
            label = re.search(r"(?i)\b(photo|image|picture|фото|foto|fot\.|bild)", lines[n - 1])
            if got:
                out[n] = ("photo" if label else "source", got[1])
    return out


def _warn_unknown_outlet(name: str) -> findings.Finding:
    return findings.Finding.of("IN-W101", "", f"outlet {findings.one_line(name, 80)!r} is not in the outlet registry; recorded as given",
                               field="source.outlet.name")


def _set_outlet(facts, warnings, registry, name, rule, lines, conf, domain=None) -> None:
    """The original outlet's name, and what the registry (or the text's own URL) says of its domain and language."""
    facts["source.outlet.name"] = inferred(name, rule, lines, conf)
    entry = registry.lookup(name) or (registry.by_domain(domain) if domain else None)
    if domain or (entry and entry.domains):
        facts["source.outlet.domain"] = inferred(domain or entry.domains[0], rule if domain else "outlet.registry", lines, conf)
    if entry and entry.language:
        facts["source.outlet.language"] = inferred(entry.language, "outlet.registry", lines, conf)
    if entry is None:
        warnings.append(_warn_unknown_outlet(name))


def _analyse(raw, lines, bp, registry, *, item_title: tuple[str, int] | None = None, context_language=None) -> Inference:
    text_norm = "\n".join(lines)
    seen = views(lines)  # every line's words, found once for all the rules below
    facts: dict[str, Fact] = {}
    warnings: list[findings.Finding] = []
    header_end = _header_end(lines, bp)
    body = "\n".join(s for i, s in enumerate(lines, 1) if i not in bp)

    lang = language.detect(body)
    if lang:
        facts["language"] = inferred(lang[0], "language.stopwords", (), lang[1])
    elif context_language:
        facts["language"] = context_language
    text_lang = facts["language"].value if "language" in facts else None

    if item_title:
        facts["title"] = inferred(item_title[0], "title.listing-item", (item_title[1],), 0.8)
        masthead = None
    else:
        title, masthead = _title(lines, bp, header_end, registry)
        if title:
            facts["title"] = title

    # Q/A labels name outlets too ("Marcin Makowski, Interia: ...?")
    label_outlets = []
    mask = mask_of_views(seen)
    qa_label, asks, republished_by = (g.live(mask) for g in (_QA_LABEL_G, _ASKS_G, _REPUBLISHED_BY_G))
    for i, s in enumerate(lines, 1) if qa_label is not NEVER or asks is not NEVER else ():
        m = qa_label.match(s, seen[i - 1])
        if m and m.group("desc") and m.group("said").strip().endswith("?") and persons.clean_name(m.group("name")):
            desc = m.group("desc").strip()
            if desc[:1].isupper() and len(desc.split()) <= 4:
                label_outlets.append((i, desc))
        m2 = asks.match(s, seen[i - 1]) if len(s) < 1000 else None
        if m2 and registry.lookup(m2.group(1).strip()):  # "Onet: Is the border closed?" -- the outlet asks
            label_outlets.append((i, m2.group(1).strip()))
    cands = outlet.find_mentions(lines, bp, registry, header_end, label_outlets, seen)
    if item_title:  # "Source: Polskie Radio 24 Unofficial translation ..." opens an item's summary
        for i, s in enumerate(lines, 1):
            m = re.match(r"^\s*(?:source|источник|źródło)\s*:\s*(.{2,80})", s, re.I)
            if m:
                words = m.group(1).split()
                for k in range(min(len(words), 6), 0, -1):
                    e = registry.lookup(" ".join(words[:k]))
                    if e:
                        cands.append(outlet.Mention(e.name, "outlet.source", i, 0.75))
                        break
    chosen = outlet.choose(cands)
    if chosen:
        o, ev, conf = chosen
        _set_outlet(facts, warnings, registry, o.name, o.rule, ev, conf, domain=o.domain)
        if o.url:
            facts["translation.original_url"] = inferred(o.url, o.rule, ev, conf)
    # A site naming itself (masthead, copyright footer) is the original outlet only when the registry knows it
    # as an outlet; an unregistered site (an organisation's own pages) often republishes others' texts, so it
    # is named only as the republisher of an original named elsewhere.
    if masthead:
        name, i = masthead
        if "source.outlet.name" not in facts:
            if registry.lookup(name):
                _set_outlet(facts, warnings, registry, name, "outlet.masthead", (i,), 0.6)
        elif facts["source.outlet.name"].value.casefold() != name.casefold():
            facts["source.republisher"] = inferred(name, "outlet.masthead-republisher", (i,), 0.6)
    footer = next(((boilerplate.copyright_holder(lines[n - 1].strip()), n) for n, r in bp.items()
                   if r == "bp.copyright" and boilerplate.copyright_holder(lines[n - 1].strip())), None)
    if footer and not masthead and not item_title:
        e = registry.lookup(footer[0])
        site = e.name if e else footer[0]
        if "source.outlet.name" not in facts:
            if e and not markers_hint(lines):
                _set_outlet(facts, warnings, registry, site, "outlet.copyright-footer", (footer[1],), 0.5)
        elif "source.outlet.name" in facts and facts["source.outlet.name"].value.casefold() != site.casefold():
            facts.setdefault("source.republisher", inferred(site, "outlet.copyright-footer-republisher", (footer[1],), 0.55))
    for i, s in enumerate(lines, 1) if republished_by is not NEVER else ():
        m = republished_by.search(s, seen[i - 1]) if len(s) < 3000 else None
        if m and "source.republisher" not in facts:
            facts["source.republisher"] = inferred(m.group("x").rstrip("."), "outlet.republished-by", (i,), 0.75)

    # Translation
    # photo credits are not markers (their views: those of empty lines)
    if "bp.photo-credit" in bp.values():
        credited = [bp.get(i) == "bp.photo-credit" for i in range(1, len(lines) + 1)]
        markers = translation.find(["" if c else s for c, s in zip(credited, lines)], text_language=text_lang,
                                   seen=[view("") if c else v for c, v in zip(credited, seen)])
    else:
        markers = translation.find(lines, text_language=text_lang, seen=seen)
    person_cands: list[persons.Candidate] = []
    fp = _first_published_language(lines, seen)
    if markers:
        best = max(markers, key=lambda m: (m.status == "machine-translated", m.confidence))
        facts["translation.status"] = inferred(best.status, best.rule, tuple(m.line for m in markers if m.status == best.status), best.confidence)
        with_lang = [m for m in markers if m.source_language]
        if with_lang:
            m0 = max(with_lang, key=lambda m: m.confidence)
            facts["translation.source_language"] = inferred(m0.source_language, m0.rule, (m0.line,), m0.confidence)
        for m in markers:
            if m.translator and (n := persons.clean_name(m.translator)):
                person_cands.append(persons.Candidate(n, "trl", m.rule, (m.line,), m.confidence))
    explicit_original = chosen and chosen[0].explicit and chosen[0].rule in (
        "outlet.original-article-in", "outlet.original-article", "outlet.first-published", "outlet.source",
        "outlet.interview-for", "outlet.publication-named")
    if fp and "translation.source_language" not in facts and (not text_lang or fp[0] != text_lang):
        facts["translation.source_language"] = inferred(fp[0], "translation.first-published-language", (fp[1],), 0.85)
        facts.setdefault("translation.status", inferred("translated", "translation.first-published-language", (fp[1],), 0.8))
    outlet_lang = facts.get("source.outlet.language")
    status = facts.get("translation.status")
    if (status and status.value in ("translated", "machine-translated") and chosen and outlet_lang and text_lang
            and outlet_lang.value != text_lang and "translation.source_language" not in facts):
        # A marker says "translation", the named original outlet publishes in one other language: that one.
        facts["translation.source_language"] = inferred(outlet_lang.value, "translation.outlet-language", outlet_lang.origin.lines, 0.6)
    if explicit_original and outlet_lang and text_lang:
        if outlet_lang.value != text_lang:
            facts.setdefault("translation.status", inferred("translated", "translation.original-elsewhere", chosen[1], 0.7))
            if facts["translation.status"].value in ("translated", "machine-translated"):
                facts.setdefault("translation.source_language", inferred(outlet_lang.value, "translation.outlet-language", outlet_lang.origin.lines, 0.6))

    # The text is in the language its registered original outlet publishes in, and says nothing of
    # a translation: it is the original.
    outlet_lang = facts.get("source.outlet.language")
    if ("translation.status" not in facts and outlet_lang and text_lang and outlet_lang.value == text_lang
            and not markers and facts["source.outlet.name"].origin.rule != "outlet.copyright-footer"):
        facts["translation.status"] = inferred("original", "translation.outlet-same-language",
                                               facts["source.outlet.name"].origin.lines, 0.6)

    # Dates
    captions = [n for n, r in bp.items() if r in ("bp.photo-credit", "bp.photo-caption")]
    if not item_title:
        pub, orig = _published(lines, bp, header_end, captions, seen)
        if pub:
            facts["dates.published"] = pub
        if orig:
            facts["dates.original_published"] = orig

    # Persons
    outlet_names = {f.value for k, f in facts.items() if k in ("source.outlet.name", "source.republisher")}
    outlet_names |= {c.name for c in cands}
    for c in cands:
        e = registry.lookup(c.name)
        if e:
            outlet_names |= {e.name, *e.aliases}
    credits = _credits(lines, bp)
    dash_lines = [i for i, s in enumerate(lines, 1) if _DASH_START.match(s)]  # answers in an interview, often
    interview_hint = bool(_INTERVIEW_WORD.search("\n".join(lines[:header_end]))) or len(dash_lines) >= 3
    unfurnished = ["" if i in bp else s for i, s in enumerate(lines, 1)]
    empty = view("")
    person_cands += persons.find(unfurnished, interview=interview_hint, outlets=outlet_names, credits=credits, header_end=header_end,
                                 seen=[empty if i in bp else v for i, v in enumerate(seen, 1)])
    if item_title:
        person_cands += persons.item_bylines(lines, 1)
    has_author = tuple(c.lines[0] for c in person_cands if c.role == "aut")
    person_list = _merge_persons(person_cands, text_norm)

    if not item_title:
        g = _genre(lines, bp, facts.get("title"), header_end, person_cands, has_author, dash_lines)
        if g:
            facts["genre"] = g
    else:
        g = _genre(lines, bp, None, len(lines), [], (), dash_lines)
        if g and g.value == "interview":
            facts["genre"] = g

    return _finish(facts, person_list, bp, raw, lines, items=(), warnings=warnings)


def _finish(facts, person_list, bp, raw, lines, *, items, warnings) -> Inference:
    """The one way an Inference is assembled, for a document and for a listing page."""
    facts, person_list = _only_valid(facts, person_list)
    return Inference(
        facts=facts,
        persons=person_list,
        boilerplate=tuple(sorted(bp)),
        cleaned=derivative(raw, set(bp), lines),
        items=tuple(items),
        warnings=tuple(warnings),
        boilerplate_rules=dict(sorted(bp.items())),
    )


@lru_cache(maxsize=None)
def _adapter(path: str):
    """A validator for the Fact type at a field path (the record is the one source of truth for types)."""
    from pydantic import TypeAdapter

    from .record import Record

    model, ann = Record, None
    for part in path.split("."):
        ann = model.model_fields[part].annotation
        model = ann
    return TypeAdapter(ann)


def _only_valid(facts: dict[str, Fact], people) -> tuple[dict[str, Fact], tuple[Person, ...]]:
    """Drop any value the record would refuse (control characters, malformed URL...): unknown beats invalid."""
    from pydantic import ValidationError

    pub, orig = facts.get("dates.published"), facts.get("dates.original_published")
    if pub and orig and dates.is_edtf(pub.value) and dates.is_edtf(orig.value):
        olo, phi = dates.bounds(orig.value).lower, dates.bounds(pub.value).upper
        if olo and phi and olo > phi:  # the text contradicts itself: neither date is safe
            facts = {k: v for k, v in facts.items() if k not in ("dates.published", "dates.original_published")}
    ok = {k: facts[k] for k in FIELD_PATHS if k in facts and _valid(k, facts[k])}
    good = []
    for p in people:
        try:
            good.append(Person.model_validate({"name": p.name, "role": p.role, "aliases": p.aliases, "origin": p.origin}))
        except ValidationError:
            pass
    return ok, tuple(good)


def _valid(path: str, fact: Fact) -> bool:
    """Whether the record would take ``fact`` at ``path``: its value checked against the field's type.

    The origin goes in as the Origin it is (validated when it was made, and pydantic takes a
    model instance as it is) rather than dumped and validated again, which could only pass
    (~3.9 -> ~2.2 us a fact; tests/test_extract.py compares with validating the whole dump).
    """
    from pydantic import ValidationError

    try:
        _adapter(path).validate_python({"value": fact.value, "origin": fact.origin})
        return True
    except ValidationError:
        return False


def markers_hint(lines) -> bool:
    """Any translation marker at all (the page then is not simply the footer site's own text)."""
    return bool(translation.find(lines, text_language=None))


def _first_published_language(lines, seen) -> tuple[str, int] | None:
    """``seen``: the lines' ``views``."""
    if _FIRST_PUBLISHED_G.live(mask_of_views(seen)) is NEVER:
        return None  # the words it needs are nowhere in the text
    for i, s in enumerate(lines, 1):
        if len(s) > 3000:
            continue
        m = _FIRST_PUBLISHED_G.search(s, seen[i - 1])
        if m and m.group("lang") and (tag := language.tag_for(m.group("lang"))):
            return tag, i
    return None


def _analyse_listing(raw, lines, bp, page: listing.Listing, registry) -> Inference:
    """A listing page: genre listing, page-level facts only where the page states them; one inference per item."""
    facts: dict[str, Fact] = {"genre": inferred("listing", page.rule, page.evidence, page.confidence)}
    body = "\n".join(s for i, s in enumerate(lines, 1) if i not in bp)
    lang = language.detect(body)
    if lang:
        facts["language"] = inferred(lang[0], "language.stopwords", (), lang[1])
    items = []
    for k, (a, b) in enumerate(page.items, 1):
        sub_raw = raw[a - 1:b]
        sub = lines[a - 1:b]
        sub_bp = boilerplate.find(sub)
        title = listing.item_title(sub[0])
        ctx = None
        if "language" in facts:
            ctx = inferred(facts["language"].value, "language.from-listing", (), round(facts["language"].origin.confidence * 0.8, 2))
        inf = _analyse(sub_raw, sub, sub_bp, registry, item_title=(title, 1) if title else None, context_language=ctx)
        items.append(ListingItem(index=k, first_line=a, last_line=b, inference=inf))
    # The page's people: the items' authors (bylines), with lines mapped back to the page.
    cands = []
    for it in items:
        for p in it.inference.persons:
            if p.role == "aut":
                shifted = tuple(n + it.first_line - 1 for n in p.origin.lines)
                cands.append(persons.Candidate(p.name, p.role, p.origin.rule, shifted, p.origin.confidence))
    person_list = _merge_persons(cands, "\n".join(lines))
    warnings = [w for it in items for w in it.inference.warnings]
    return _finish(facts, person_list, bp, raw, lines, items=items, warnings=warnings)


# --- the sidecar draft ------------------------------------------------------------

DRAFT_NOTE = "Draft from archiver inspect; review before packaging"


def draft_sidecar(inference: Inference) -> dict:
    """The draft sidecar: nested plain values of what was found (no origins), plus a draft note."""
    doc: dict[str, Any] = {}
    for path, fact in inference.facts.items():
        if not fact.known:
            continue
        node = doc
        *parents, leaf = path.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = fact.value
    if inference.persons:
        doc["persons"] = [
            {"name": p.name, "role": ROLE_TERMS[p.role], **({"aliases": list(p.aliases)} if p.aliases else {})}
            for p in inference.persons
        ]
    doc["notes"] = [DRAFT_NOTE]
    return doc


# --- the inspect command ------------------------------------------------------------


def _fact_json(f: Fact | None) -> dict | None:
    if f is None or not f.known:
        return None
    o = f.origin
    return {"value": f.value, "rule": o.rule, "lines": list(o.lines), "confidence": o.confidence}


def inference_json(inf: Inference, lines: list[str] | None = None) -> dict:
    """The documented, stable ``--json`` shape (docs/extraction.md): unknown is null."""
    f = inf.facts.get
    outlet_json = _fact_json(f("source.outlet.name"))
    if outlet_json is not None:
        outlet_json.update(domain=_fact_json(f("source.outlet.domain")), language=_fact_json(f("source.outlet.language")),
                      url=_fact_json(f("source.outlet.url")))
    out = {
        "title": _fact_json(f("title")),
        "outlet": outlet_json,
        "republisher": _fact_json(f("source.republisher")),
        "language": _fact_json(f("language")),
        "translation": {
            "status": _fact_json(f("translation.status")),
            "source_language": _fact_json(f("translation.source_language")),
            "original_title": _fact_json(f("translation.original_title")),
            "original_url": _fact_json(f("translation.original_url")),
        },
        "published": _fact_json(f("dates.published")),
        "original_published": _fact_json(f("dates.original_published")),
        "genre": _fact_json(f("genre")),
        "persons": [
            {"name": p.name, "role": ROLE_TERMS[p.role], "relator": p.role, "aliases": list(p.aliases),
             "rule": p.origin.rule, "lines": list(p.origin.lines), "confidence": p.origin.confidence}
            for p in inf.persons
        ],
        "boilerplate": [
            {"line": n, "text": (lines[n - 1] if lines and n <= len(lines) else None), "rule": inf.boilerplate_rules.get(n),
             "confidence": boilerplate.CONFIDENCE.get(inf.boilerplate_rules.get(n))}
            for n in inf.boilerplate
        ],
        "warnings": [w.to_json() for w in inf.warnings],
    }
    return out


@dataclass
class InspectOutcome:
    file: str
    exit_code: int = EXIT_OK
    result: dict | None = None
    problems: list[findings.Finding] = field(default_factory=list)
    sidecar: str | None = None

    def to_json(self) -> dict:
        doc = {"file": self.file, "ok": self.exit_code == EXIT_OK}
        if self.result is not None:
            doc.update(self.result)
        doc["sidecar"] = self.sidecar
        doc["errors"] = [p.to_json() for p in self.problems if p.is_error]
        return doc

    def lines(self):
        for p in self.problems:
            yield ("err", p.line())
        r = self.result
        if r is None:
            return
        for w in r.get("warnings", []):
            yield ("err", findings.Finding(w["code"], w["path"], w["message"], w["field"], findings.Severity(w["severity"])).line())
        yield ("out", f"file: {self.file} ({r['encoding']}, {r['newlines']} newlines)")
        yield from (("out", s) for s in _human(r))
        for it in r.get("items", []):
            yield ("out", f"item {it['index']} (lines {it['first_line']}-{it['last_line']}):")
            yield from (("out", "    " + s) for s in _human(it))
        if self.sidecar:
            yield ("out", f"wrote draft sidecar {self.sidecar} (review it before packaging)")


def _fmt(f: dict | None) -> str:
    if f is None:
        return UNKNOWN
    where = ",".join(map(str, f["lines"])) or "-"
    return f"{f['value']}   [{f['rule']}; lines {where}; confidence {f['confidence']}]"


def _human(r: dict) -> list[str]:
    out = [f"title: {_fmt(r['title'])}", f"genre: {_fmt(r['genre'])}", f"language: {_fmt(r['language'])}",
           f"outlet: {_fmt(r['outlet'])}"]
    if r["outlet"] and r["outlet"]["domain"]:
        out.append(f"outlet domain: {_fmt(r['outlet']['domain'])}")
    if r["outlet"] and r["outlet"]["language"]:
        out.append(f"outlet language: {_fmt(r['outlet']['language'])}")
    out += [f"republisher: {_fmt(r['republisher'])}",
            f"translation: {_fmt(r['translation']['status'])}",
            f"source language: {_fmt(r['translation']['source_language'])}"]
    if r["translation"]["original_url"]:
        out.append(f"original url: {_fmt(r['translation']['original_url'])}")
    out += [f"published: {_fmt(r['published'])}"]
    if r["original_published"]:
        out.append(f"original published: {_fmt(r['original_published'])}")
    if not r["persons"]:
        out.append("persons: none stated")
    for p in r["persons"]:
        aka = f" (also {', '.join(p['aliases'])})" if p["aliases"] else ""
        out.append(f"person: {p['name']}{aka}, {p['role']}   [{p['rule']}; lines {','.join(map(str, p['lines']))}; confidence {p['confidence']}]")
    for b in r["boilerplate"]:
        out.append(f"boilerplate line {b['line']}: {findings.one_line(b['text'] or '', 80)}   [{b['rule']}]")
    return out


def _sidecar_path(file: str) -> str:
    base, ext = os.path.splitext(file)
    return (base if ext else file) + ".meta.json"


def inspect(file: str, *, split: bool = False, write_sidecar: bool = False, registry=None) -> InspectOutcome:
    """The ``inspect`` command: read one text, report what it says about itself."""
    from .hashing import NotARegularFile, open_regular

    out = InspectOutcome(file=file)
    try:
        fd = open_regular(file)
        with os.fdopen(fd, "rb") as fh:
            data = fh.read(MAX_TEXT_BYTES + 1)
        if len(data) > MAX_TEXT_BYTES:
            raise ValueError(f"larger than {MAX_TEXT_BYTES} bytes")
    except (OSError, NotARegularFile, ValueError) as e:
        msg = e.strerror if isinstance(e, OSError) and e.strerror else str(e).removeprefix(f"{file}: ")
        out.problems.append(findings.Finding.of("IN-E102", file, f"cannot read: {findings.one_line(msg)}"))
        out.exit_code = EXIT_FAILED
        return out
    try:
        dec = decode(data)
    except NotUTF8 as e:
        out.problems.append(findings.Finding.of("IN-E101", file, str(e)))
        out.exit_code = EXIT_FAILED
        return out
    if registry is None:
        try:
            registry = OutletRegistry.default()
        except ValueError as e:
            out.problems.append(findings.Finding.of("IN-E104", "outlets.toml", findings.one_line(str(e))))
            out.exit_code = EXIT_FAILED
            return out
    inf = infer(dec.text, registry=registry)
    lines = split_lines(dec.text)
    res = {"encoding": dec.encoding, "newlines": dec.newlines, **inference_json(inf, lines)}
    res["warnings"] = [dict(w, path=file) for w in res["warnings"]]
    if split:
        res["items"] = [
            {"index": it.index, "first_line": it.first_line, "last_line": it.last_line,
             **inference_json(it.inference, lines[it.first_line - 1: it.last_line])}
            for it in inf.items
        ]
    out.result = res
    if write_sidecar:
        target = _sidecar_path(file)
        body = (json.dumps(draft_sidecar(inf), ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")
        err = _write_new(target, body)
        if err:
            out.problems.append(findings.Finding.of("IN-E103" if err == "exists" else "IN-E105", target, err if err != "exists" else "a sidecar already exists; not overwritten (edit or remove it first)"))
            out.exit_code = EXIT_FAILED
        else:
            out.sidecar = target
    return out


def _write_new(target: str, body: bytes) -> str | None:
    """Write a new file atomically and never over an existing one: temp file + hard link (fails if taken)."""
    import tempfile

    if os.path.lexists(target):
        return "exists"
    folder = os.path.dirname(os.path.abspath(target))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".archiver-draft-", dir=folder)
    except OSError as e:
        return f"cannot write: {e.strerror}"
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, target)
        except FileExistsError:
            return "exists"
        except OSError as e:
            return f"cannot write: {e.strerror}"
    finally:
        os.unlink(tmp)
    return None
