"""Outlets: the registry of known outlets, and the statements in a text that name one.

The registry is the only place an outlet's language comes from (a text never
gets a source language from outside knowledge that is not written down here).
It ships in ``archiver/data/outlets.toml``; curators extend it with their own
files (``OutletRegistry.load(extra_paths=...)``), whose entries win.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from .language import tag_for
from .prefilter import NEVER, Gated, mask_of_views, view, views

MAX_REGISTRY_BYTES = 4 * 1024 * 1024


class RegistryError(ValueError):
    """A registry file that cannot be used; one line naming the file and entry."""


@dataclass(frozen=True)
class OutletEntry:
    name: str
    aliases: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    language: str | None = None
    country: str | None = None
    source: str = "archiver/data/outlets.toml"


def _key(s: str) -> str:
    return " ".join(s.casefold().replace("\u00a0", " ").split()).strip(" .,:;")


def domain_of(url_or_host: str) -> str | None:
    """The lower-case host of a URL or bare host, without a leading www."""
    s = url_or_host.strip().strip("<>()[]\"'.,;")
    if "://" not in s:
        s = "http://" + s
    try:
        host = urlsplit(s).hostname
    except ValueError:
        return None
    if not host or "." not in host:
        return None
    host = host.lower().removeprefix("www.")
    return host


class OutletRegistry:
    def __init__(self, entries=()):
        self.entries: list[OutletEntry] = []
        self._by_name: dict[str, OutletEntry] = {}
        self._by_domain: dict[str, OutletEntry] = {}
        for e in entries:
            self.add(e)

    def add(self, e: OutletEntry) -> None:
        self.entries.append(e)
        for n in (e.name, *e.aliases):
            self._by_name[_key(n)] = e
        for d in e.domains:
            self._by_domain[d.lower().removeprefix("www.")] = e

    @classmethod
    def parse(cls, text: str, source: str) -> list[OutletEntry]:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise RegistryError(f"{source}: not valid TOML: {e}") from None
        out = []
        for i, row in enumerate(data.get("outlet", []), 1):
            if not isinstance(row, dict) or not isinstance(row.get("name"), str) or not row["name"].strip():
                raise RegistryError(f"{source}: outlet #{i}: name: required text")
            lists = {}
            for k in ("aliases", "domains"):
                v = row.get(k, [])
                if not isinstance(v, list) or not all(isinstance(x, str) and x.strip() for x in v):
                    raise RegistryError(f"{source}: outlet #{i}: {k}: must be a list of text")
                lists[k] = tuple(x.strip() for x in v)
            for k in ("language", "country"):
                if k in row and not isinstance(row[k], str):
                    raise RegistryError(f"{source}: outlet #{i}: {k}: must be text")
            lang = row.get("language")
            if lang is not None:
                import langcodes

                if not langcodes.tag_is_valid(lang):
                    raise RegistryError(f"{source}: outlet #{i}: language: {lang!r} is not a BCP 47 tag")
            out.append(OutletEntry(row["name"].strip(), lists["aliases"], tuple(d.lower() for d in lists["domains"]),
                                   lang, row.get("country"), source))
        return out

    @classmethod
    def load(cls, extra_paths=()) -> "OutletRegistry":
        """The shipped registry, then each extra file (later entries win)."""
        text = resources.files("archiver").joinpath("data/outlets.toml").read_text(encoding="utf-8")
        reg = cls(cls.parse(text, "archiver/data/outlets.toml"))
        for p in extra_paths:
            p = Path(p)
            try:
                if p.stat().st_size > MAX_REGISTRY_BYTES:
                    raise RegistryError(f"{p}: outlet registry larger than {MAX_REGISTRY_BYTES} bytes")
                from .hashing import open_regular

                fd = open_regular(p)
                with open(fd, "rb") as f:
                    raw = f.read(MAX_REGISTRY_BYTES + 1)
                body = raw.decode("utf-8")
            except (OSError, UnicodeDecodeError) as e:
                raise RegistryError(f"{p}: cannot read outlet registry: {e}") from None
            for e in cls.parse(body, str(p)):
                reg.add(e)
        return reg

    @classmethod
    def default(cls) -> "OutletRegistry":
        """Shipped registry plus ./outlets.toml when present (the curator's extension)."""
        local = Path("outlets.toml")
        return cls.load([local] if local.is_file() else [])

    def by_name(self, name: str) -> OutletEntry | None:
        return self._by_name.get(_key(name))

    def by_domain(self, host: str) -> OutletEntry | None:
        d = domain_of(host)
        while d:
            if d in self._by_domain:
                return self._by_domain[d]
            if d.count(".") < 2:
                return None
            d = d.split(".", 1)[1]  # en.interia.pl -> interia.pl
        return None

    def lookup(self, mention: str) -> OutletEntry | None:
        """A name, alias, domain or URL."""
        return self.by_name(mention) or (self.by_domain(mention) if "." in mention else None)

    def names(self) -> list[str]:
        return [n for e in self.entries for n in (e.name, *e.aliases)]


# --- statements in a text that name an outlet ----------------------------------------
#
# The rules (ids "outlet.*", docs/extraction.md) find candidate mentions; ``choose``
# decides which one names the original outlet.

OUTLET_NAME = r"(?P<x>[A-Z0-9ÀÉÑÓÚА-ЯЁІЇЄЎ][\w.&'’\-]*(?:\s+(?:(?:la|de|del|di|of|the|du|des|le|el|und|and|y|i|na)\s+)?[A-Z0-9ÀÉÑÓÚА-ЯЁІЇЄЎ][\w.&'’\-]*){0,5})"
ORIGINAL_IN = re.compile(r"^\s*(?:read\s+)?(?:the\s+)?original(?:ly)?\s+(?:article|text|interview|version|publication|story|post|source)?\s*(?:\(?in\s+[A-Za-z]+\)?\s+)?(?:was\s+)?(?:published\s+)?(?:in|at|on|by)\s+(?P<x>\S.{0,150}?)\s*\.?\s*$", re.I)
ORIGINAL_COLON = re.compile(r"^\s*(?:the\s+)?original(?:\s+(?:article|text|source|interview|version|publication|story|post))?\s*:\s*(?P<x>\S.{0,200}?)\s*\.?\s*$", re.I)
FIRST_PUBLISHED = re.compile(r"\b(?:first|originally|initially)\s+(?:published|appeared|ran)\s+(?:in|by|on|at)\s+(?P<x>[^()\n]{1,120}?)\s*(?:\((?:in\s+)?(?P<lang>[A-Za-zА-я]+)\)\s*)?(?:(?:,\s*|\s+)on\s+(?P<date>[^.\n]{4,40}?))?\s*(?:[.;]|$)", re.I)
SOURCE = re.compile(r"^\s*(?:source|источник|джерело|źródło|quelle|fuente|source originale)\s*:\s*(?P<x>\S.{0,200}?)\s*\.?\s*$", re.I)
PUBLICATION = re.compile(rf"\b(?:with|to|for|in|by)\s+(?:the\s+)?(?:[A-Za-z]+\s+)?(?:publication|newspaper|magazine|weekly|daily|outlet|news\s+(?:site|portal|agency|website)|portal|website|radio\s+station|tv\s+channel|edition\s+of)\s+{OUTLET_NAME}")
INTERVIEW_FOR = re.compile(rf"\b(?i:interview)\b[^.\n]{{0,80}}?\b(?:for|to|given to|granted to)\s+(?:the\s+)?{OUTLET_NAME}")
TOLD = re.compile(rf"\b(?:told|said to|in an interview (?:with|to|for))\s+{OUTLET_NAME}")
ACTS = re.compile(rf"{OUTLET_NAME}\s+(?:turned to|spoke (?:to|with)|talked (?:to|with)|interviewed|sat down with)\b")
REPUBLISHED_BY = re.compile(rf"\b(?:translated and )?republished\s+(?:by|on)\s+{OUTLET_NAME}", re.I)
REPUBLISHED_FROM = re.compile(rf"\b(?:republished|reprinted|reposted)\s+(?:with permission\s+)?from\s+{OUTLET_NAME}", re.I)


@dataclass
class Mention:
    name: str
    rule: str
    line: int
    confidence: float
    domain: str | None = None
    url: str | None = None
    explicit: bool = True  # an "original article" style statement, not a mere mention


def mention_from(x: str, rule: str, line: int, conf: float, registry: OutletRegistry, explicit=True) -> Mention | None:
    """What a statement names: a registered outlet, a URL or domain, or a short capitalised name (as given)."""
    x = x.strip().strip("\"'“”«»").rstrip(".,;:")
    x = re.sub(r"\s*\((?:in\s+)?[^()]{1,30}\)$", "", x).strip()  # "Meduza (in Russian)": the language is not the name
    if not x or len(x) > 120 or tag_for(x):
        return None
    url = None
    m = re.match(r"(https?://\S+)", x)
    if m:
        url = m.group(1).rstrip(".,;)")
        d = domain_of(url)
        if not d:
            return None
        entry = registry.by_domain(d)
        return Mention(entry.name if entry else d, rule, line, conf, d, url, explicit)
    entry = registry.lookup(x)
    if entry:
        d = domain_of(x) if re.fullmatch(r"[\w.-]+\.[a-z]{2,}", x, re.I) else None
        return Mention(entry.name, rule, line, conf + 0.1, d, None, explicit)
    if re.fullmatch(r"(?:www\.)?[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}", x, re.I):
        return Mention(x, rule, line, conf, domain_of(x), None, explicit)
    words = x.split()
    if len(words) > 6 or not x[:1].isupper() and not x[:1].isdigit():
        return None
    return Mention(x, rule, line, conf, None, None, explicit)


# The rules, gated by their words (prefilter.py).  A tuple, not a dict keyed by the compiled
# patterns: hashing a compiled pattern hashes its whole code (~1 us for these), nine times a line
# (bench: find_mentions ~0.35 -> ~0.23 ms per text).
_GATES = tuple(map(Gated, (ORIGINAL_IN, ORIGINAL_COLON, SOURCE, FIRST_PUBLISHED, PUBLICATION, INTERVIEW_FOR,
                           REPUBLISHED_FROM, TOLD, ACTS)))


def find_mentions(lines, bp, registry, header_end, labels_outlets, seen=None) -> list[Mention]:
    """Every statement in the (normalised) lines that names an outlet; boilerplate lines are skipped.

    ``seen``: the lines' ``views`` when the caller has them.
    """
    out: list[Mention] = []
    seen = views(lines) if seen is None else seen
    todo = [(i, s, s.strip()) for i, s in enumerate(lines, 1) if not (i in bp or not s.strip() or len(s) > 3000)]
    # A stripped line holds no word its line does not: the lines' conditions are enough to gate by.
    mask = mask_of_views(seen[i - 1] for i, _, _ in todo)
    # the rules whose words the text holds (the others never match)
    live = [gate.live(mask) for gate in _GATES]
    original_in, original_colon, source, first_published, publication, interview_for, republished_from, told, acts = live
    # Whether a line's conditions let any live rule match: lines of prose seldom do, and are
    # then skipped whole (masks repeat from line to line: each is judged once).
    may: dict[int, bool] = {}
    needs = [gate.need for gate in live if gate is not NEVER]
    for i, s, t in todo:
        v = seen[i - 1] if t is s else view(t)  # strip() gives the line itself when there is nothing to strip
        if (ok := may.get(v[1])) is None:
            ok = may[v[1]] = any(v[1] & need == need for need in needs)
        if not ok:
            continue
        if len(t) <= 220:
            for gate, rule in ((original_in, "outlet.original-article-in"), (original_colon, "outlet.original-article"),
                               (source, "outlet.source")):
                m = gate.match(t, v)
                if m and (o := mention_from(m.group("x"), rule, i, 0.8 if rule != "outlet.source" else 0.7, registry)):
                    out.append(o)
                    break
        for m in first_published.finditer(t, v):
            if o := mention_from(m.group("x"), "outlet.first-published", i, 0.85, registry):
                out.append(o)
        for m in publication.finditer(t, v):
            if o := mention_from(m.group("x"), "outlet.publication-named", i, 0.75, registry):
                out.append(o)
        for m in interview_for.finditer(t, v):
            x = m.group("x").rstrip(".")
            words = x.split()
            hit = next((" ".join(words[:k]) for k in range(len(words), 0, -1) if registry.lookup(" ".join(words[:k]))), None)
            if hit:  # registered outlets only: "interview for Friday" must not become an outlet
                out.append(Mention(registry.lookup(hit).name, "outlet.interview-for", i, 0.75))
        for m in republished_from.finditer(t, v):
            if o := mention_from(m.group("x"), "outlet.republished-from", i, 0.8, registry):
                out.append(o)
        # Mentions count only for outlets the registry knows ("told Interia", "Reform.news turned to").
        for gate, rule in ((told, "outlet.told"), (acts, "outlet.turned-to")):
            for m in gate.finditer(t, v):
                words = m.group("x").rstrip(".").split()
                # "told Interia. According" -> the name opens the span; "Yesterday Onet turned to" -> it closes it
                spans = [words[:k] for k in range(len(words), 0, -1)] if rule == "outlet.told" else [words[k:] for k in range(len(words))]
                for span in spans:
                    cand = " ".join(span)
                    if registry.lookup(cand):
                        out.append(Mention(registry.lookup(cand).name, rule, i, 0.6, None, None, False))
                        break
    for i, name in labels_outlets:
        entry = registry.lookup(name)
        out.append(Mention(entry.name if entry else name, "outlet.qa-label", i, 0.65 if entry else 0.5, None, None, False))
    return out


def choose(cands: list[Mention]) -> tuple[Mention, tuple[int, ...], float] | None:
    """The best-supported outlet: an explicit statement, or a mention made twice (or registered and made once)."""
    if not cands:
        return None
    groups: dict[str, list[Mention]] = {}
    for c in cands:
        groups.setdefault(c.name.casefold(), []).append(c)

    def score(g):
        explicit = any(c.explicit for c in g)
        return (explicit, sum(c.confidence for c in g), -min(c.line for c in g))

    best = max(groups.values(), key=score)
    explicit = [c for c in best if c.explicit]
    lead = max(explicit or best, key=lambda c: c.confidence)
    if not explicit and len({c.line for c in best}) < 2:
        return None  # one passing mention ("told Onet") is not enough to name the original outlet
    conf = min(0.95, max(c.confidence for c in best) + 0.05 * (len(best) - 1))
    domain = next((c.domain for c in best if c.domain), None)
    url = next((c.url for c in best if c.url), None)
    lead = Mention(lead.name, lead.rule, lead.line, conf, domain, url, bool(explicit))
    return lead, tuple(sorted({c.line for c in best})), conf


