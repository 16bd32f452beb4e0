"""People and their roles: bylines, Q/A labels, interview and photo credits.

A person is found only where the text says what they did (MARC relators:
ive interviewee, ivr interviewer, aut author, trl translator, pht photographer).
People merely quoted or mentioned get no role and are not listed.  Spelling
variants of one name (Latushka/Latushko) are merged; every form the text uses
is kept (the most frequent is the name, the others aliases).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from . import dates
from .prefilter import NEVER, Gated, mask_of_views, view, views

_UP = "A-ZÀ-ÖØ-ÞĀĂĄĆĈĊČĎĐĒĔĖĘĚĜĞĠĢĤĦĨĪĬĮİĲĴĶĹĻĽĿŁŃŅŇŊŌŎŐŒŔŖŘŚŜŞŠŢŤŦŨŪŬŮŰŲŴŶŸŹŻŽА-ЯЁІЇЄЎҐ"
_TOKEN = rf"(?:[{_UP}]\.|[{_UP}][\w'’]*(?:-[{_UP}]?[\w'’]+)?)"  # a word, or an initial ("Jane M. Doe")
_PARTICLE = r"(?:de|van|von|der|den|la|le|da|di|del|dos|bin|al)"
NAME = rf"{_TOKEN}(?:\s+(?:{_PARTICLE}\s+)?{_TOKEN}){{1,3}}"

# Words that end a name: a title, a role, a label (case-sensitive tokens).
_STOP_TOKENS = {
    "Staff", "Writer", "Reporter", "Correspondent", "Editor", "Photo", "Photos", "Photographer", "Updated", "Published",
    "Deputy", "Head", "Minister", "Ambassador", "President", "Former", "Chairman", "Chair", "Director", "Professor",
    "Source", "For", "With", "In", "On", "And", "The", "Interview", "Told", "Said", "Says", "Special", "Senior",
    "Автор", "Фото", "Текст",
}
_ORG_WORDS = re.compile(r"(?i)\b(?:media|news|agency|press|images?|service|office|ministry|council|cabinet|management|committee|"
                        r"university|radio|tv|channel|group|team|archive|getty|reuters|afp|ap|epa|pap|tass|shutterstock|"
                        r"unsplash|wikimedia|commons|foundation|institute|center|centre|party|government|redakcja|редакция|"
                        r"personal|private|handout|own|archives?|pool|depositphotos|istock|facebook|twitter|telegram|instagram)\b|-media\b|\.\w{2,}$")

ROLE_WORDS = {"ive": "interviewee", "ivr": "interviewer", "aut": "author", "trl": "translator", "pht": "photographer"}


@dataclass(frozen=True)
class Candidate:
    name: str
    role: str  # relator code
    rule: str
    lines: tuple[int, ...]
    confidence: float


def clean_name(raw: str, *, allow_caps: bool = False) -> str | None:
    """A personal name, or None: trims trailing role words, refuses organisations and one-word names.

    ``allow_caps``: a byline may shout ("By JOHN SMITH"); elsewhere capitals mean an acronym.
    """
    tokens = raw.strip().strip(".,:;—–-").split()
    while tokens and tokens[-1].strip(".,") in _STOP_TOKENS:
        tokens.pop()
    while tokens and tokens[0] in _STOP_TOKENS:
        tokens.pop(0)
    if not 2 <= len(tokens) <= 4:
        return None
    if re.fullmatch(r"\w\.", tokens[-1]):
        return None  # ends in an initial: the surname is missing
    name = " ".join(t if re.fullmatch(r"\w\.", t) else t.strip(".,;:") for t in tokens)
    if _ORG_WORDS.search(name) or any(ch.isdigit() for ch in name):
        return None
    caps = [len(t) > 1 and t.isupper() and not re.fullmatch(r"\w\.", t) for t in tokens]
    if any(caps) and not (allow_caps and all(caps) and all(len(t) > 2 for t in tokens)):
        return None  # NAM, BBC: acronyms, not names
    if not all(t[0].isupper() or re.fullmatch(_PARTICLE, t) for t in tokens):
        return None
    return name


BYLINE = re.compile(rf"^\s*(?:[•·*\-–—|]\s*)?(?i:by|written by|story by|words by|text by|reporting by|author:|authors:|autor:|autorka:|tekst:|text:|von|par|por|автор:|авторка:|текст:)\s+(?P<names>{NAME}(?:\s*(?:,|and|&|и|i|und|et|y)\s*{NAME})*)(?P<rest>(?:\s*[,|•·—–\-(/;:].*|\s+(?:and|in|for|at|on|\d).*)?)$")
_INTERVIEWER_LABEL = re.compile(rf"^\s*(?i:interviewer|interviewed by|interview conducted by|questions by|беседовал[аи]?|вопросы задавал[аи]?|гутарыў|гутарыла|размаўляў|размаўляла|розмовляв|розмовляла|спілкувався|спілкувалася|интервью записал[а]?|rozmawiał[a]?|rozmowę przeprowadził[a]?|das interview führte)\s*:?\s+(?P<name>{NAME})\s*(?:[,.;(|]|$)")
_INTERVIEWED_BY = re.compile(rf"\b(?:(?i:interviewed by|interview conducted by|questions (?:were )?(?:asked )?by|the conversation was (?:led|conducted) by)|"
                             rf"(?i:interview with)\s+{NAME}(?:,[^,\n]{{1,80}},)?\s+by)\s+(?P<name>{NAME})")
_INTERVIEW_GIVEN = re.compile(rf"\b(?i:(?:an |the )?interview (?:given |granted )?by) (?P<name>{NAME})\s+(?:with|for|to)\b")
_INTERVIEW_WITH = re.compile(rf"\b(?i:interview(?:ed)? with) (?P<name>{NAME})\b")
_TURNED_TO = re.compile(rf"\b(?:turned to|spoke (?:to|with)|talked (?:to|with)|interviewed|sat down with)\s+(?P<name>{NAME})")
_TOLD = re.compile(rf"(?P<name>{NAME})\s+(?:told|said (?:to|in an interview with))\s+(?P<outlet>[{_UP}]\w*(?:\.[a-z]{{2,}})?(?:\s+[{_UP}0-9]\w*){{0,3}})")
# "Marcin Makowski, Interia: is Belarus ...?"  /  "Pavel Latushka, former Minister ...: — Yes."
QA_LABEL = re.compile(rf"^\s*(?P<name>{NAME})\s*(?:,\s*(?P<desc>[^:]{{1,160}}?))?\s*:\s*(?P<said>.*)$")
_ITEM_BYLINE = re.compile(rf"^\s*(?P<name>{NAME})\s*[,:]\s*(?:the\s+)?(?:Deputy|Head|Minister|Ambassador|Director|Chair\w*|President|Professor|"
                          r"Editor|Journalist|Analyst|Expert|Member|Leader|Founder|Advisor|Adviser|Representative|Spokes\w+|"
                          r"Coordinator|Senior|Former|Political|Researcher|Lawyer|Economist|Historian)\b")


_POSTED_BY = re.compile(rf"\b(?i:posted|published|written|updated)\b[^\n]{{0,60}}?\bby\s+(?P<name>{NAME})")


def mentioned(name: str) -> str:
    """A name met in running prose: "… Ambassador to Poland Pavel Latushko told …" -> its last two words."""
    tokens = name.split()
    return " ".join(tokens[-2:]) if len(tokens) > 2 and not re.fullmatch(_PARTICLE, tokens[-2]) else name


def _split_names(s: str) -> list[str]:
    return [p for p in re.split(r"\s*(?:,|\band\b|&|\bи\b|\bi\b|\bund\b|\bet\b|\by\b)\s*", s) if p.strip()]


# The rules, gated by their words (prefilter.py).  Kept as a tuple, not a dict keyed by the
# compiled patterns: hashing a compiled pattern hashes its whole code (~1 us for these), and
# find() looked rules up ten times a line (bench: persons.find ~0.26 -> ~0.07 ms per text).
# BYLINE and _ITEM_BYLINE are not gated: they are tried at the start of a few header lines, where
# they fail at once, and their words ("by", "par", "minister") are in most lines of prose, where
# finding them cost more than it saved (~0.02 ms per bench text).
_GATES = tuple(map(Gated, (_POSTED_BY, _INTERVIEWER_LABEL, _INTERVIEWED_BY, _INTERVIEW_GIVEN, _INTERVIEW_WITH, _TURNED_TO,
                           _TOLD, QA_LABEL)))


def find(lines: list[str], *, interview: bool, outlets: set[str], credits: dict[int, tuple[str, str]],
         header_end: int, seen=None) -> list[Candidate]:
    """Role statements in normalised lines.  ``outlets``: outlet names the text names (for "X told Outlet").

    ``seen``: the lines' ``views`` when the caller has them.
    """
    out: list[Candidate] = []
    outlet_keys = {o.casefold() for o in outlets}
    has_ivr_label = False
    labels: list[tuple[int, str, str | None, str]] = []
    seen = views(lines) if seen is None else seen
    mask = mask_of_views(seen)
    # the rules whose words the text holds (the others never match)
    (posted_by, interviewer_label, interviewed_by, interview_given, interview_with, turned_to, told,
     qa_label) = (gate.live(mask) for gate in _GATES)
    # A line past the header and before the last five is read only by the rules below; when
    # none of them can match anywhere in the text, such lines are skipped (most prose).
    body_rules = (interviewer_label, interviewed_by, interview_given, interview_with, turned_to if interview else NEVER, told, qa_label)
    body_dead = all(r is NEVER for r in body_rules)
    for i, line in enumerate(lines, 1):
        t = line.strip()
        if not t or len(t) > 5000 or body_dead and header_end + 1 < i <= len(lines) - 5:
            continue
        v = seen[i - 1] if t is line else view(t)  # strip() gives the line itself when there is nothing to strip
        if i <= header_end or i > len(lines) - 5:
            m = BYLINE.match(t)
            if m and len(t) <= 200:
                for raw in _split_names(m.group("names")):
                    n = clean_name(raw, allow_caps=True)
                    if n:
                        out.append(Candidate(n, "aut", "person.byline", (i,), 0.85))
        if i <= header_end and len(t) <= 200:
            m = posted_by.search(t, v)
            if m and (n := clean_name(m.group("name"))):
                out.append(Candidate(n, "aut", "person.byline", (i,), 0.8))
        if i <= header_end and len(t) <= 100 and (found := dates.find_dates(t)):
            rest = t[: found[0].start] + t[found[-1].end:]
            rest = re.sub(r"[\s•·|,;()\-–—]+$|^[\s•·|,;()\-–—]+", "", rest)
            if re.fullmatch(NAME, rest) and (n := clean_name(rest)):  # "Jane Doe | 12 April 2024"
                out.append(Candidate(n, "aut", "person.name-date-line", (i,), 0.65))
        if i <= header_end + 1 and not interview:  # also the first body line: "Name, Title Text begins..."
            m = _ITEM_BYLINE.match(t)
            if m and (n := clean_name(m.group("name"))):
                out.append(Candidate(n, "aut", "person.header-byline", (i,), 0.6))
        m = interviewer_label.match(t, v)
        if m and len(t) <= 200 and (n := clean_name(m.group("name"))):
            out.append(Candidate(n, "ivr", "person.interviewer-label", (i,), 0.85))
            has_ivr_label = True
        if not m:  # an interviewer label already named this line's person
            for m in interviewed_by.finditer(t, v):
                if n := clean_name(m.group("name")):
                    out.append(Candidate(n, "ivr", "person.interviewed-by", (i,), 0.8))
                    has_ivr_label = True
        for m in interview_given.finditer(t, v):
            if n := clean_name(m.group("name")):
                out.append(Candidate(n, "ive", "person.interview-by", (i,), 0.8))
        for m in interview_with.finditer(t, v):
            if (n := clean_name(m.group("name"))) and n.casefold() not in outlet_keys:
                out.append(Candidate(n, "ive", "person.interview-with", (i,), 0.75))
        if interview:
            for m in turned_to.finditer(t, v):
                if (n := clean_name(mentioned(m.group("name")))) and n.casefold() not in outlet_keys:
                    out.append(Candidate(n, "ive", "person.turned-to", (i,), 0.7))
        for m in told.finditer(t, v):
            words = m.group("outlet").split()
            said_to = any(" ".join(words[:k]).casefold() in outlet_keys for k in range(len(words), 0, -1))
            if said_to and (n := clean_name(mentioned(m.group("name")))):
                out.append(Candidate(n, "ive", "person.told-outlet", (i,), 0.7))
        m = qa_label.match(t, v)
        if m and len(m.group(0)) - len(m.group("said")) <= 200 and (n := clean_name(m.group("name"))):
            labels.append((i, n, m.group("desc"), m.group("said").strip()))
    # Q/A labels: "Name, Outlet: question?" is the interviewer; a labelled answer is the interviewee.
    for i, n, desc, said in labels:
        if said.endswith("?") and desc and desc[:1].isupper() and len(desc.split()) <= 4:
            out.append(Candidate(n, "ivr", "person.qa-label", (i,), 0.8))
            has_ivr_label = True
    for i, n, desc, said in labels:
        answer = said.startswith(("—", "–", "-")) or (has_ivr_label and not said.endswith("?"))
        if answer and (desc is None or desc[:1].islower() or len(desc.split()) > 4 or said.startswith(("—", "–"))):
            if not any(c.name == n and c.role == "ivr" for c in out):
                out.append(Candidate(n, "ive", "person.qa-label", (i,), 0.8))
    for i, (label, who) in credits.items():
        if "/" in who:  # "EPA/Jane Doe": agency, then photographer
            who = who.rsplit("/", 1)[1]
        if label == "photo" and (n := clean_name(who)):
            out.append(Candidate(n, "pht", "person.photo-credit", (i,), 0.7))
    return out


def item_bylines(lines: list[str], first: int) -> list[Candidate]:
    """A listing item's summary that opens with "Name, Deputy Head of ..." names its author."""
    out = []
    for i, line in enumerate(lines, first):
        m = _ITEM_BYLINE.match(line)
        if m and (n := clean_name(m.group("name"))):
            out.append(Candidate(n, "aut", "person.item-byline", (i,), 0.7))
            break
    return out


def _lev(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def same_person(a: str, b: str) -> bool:
    """Spelling variants: same given name, surnames differing by a transliteration-sized edit."""
    ta, tb = a.casefold().split(), b.casefold().split()
    if ta == tb:
        return True
    if len(ta) != len(tb) or ta[:-1] != tb[:-1] and _lev(" ".join(ta[:-1]), " ".join(tb[:-1])) > 1:
        return False
    sa, sb = ta[-1], tb[-1]
    return len(sa) >= 5 and len(sb) >= 5 and sa[:3] == sb[:3] and _lev(sa, sb) <= 2


@lru_cache(maxsize=256)
def _variant_rx(first: str) -> re.Pattern:
    return re.compile(rf"\b{re.escape(first)}[\w'’]*(?:\s+[{_UP}][\w'’\-]*){{1,3}}")


def _starting_with(first: str, text: str):
    """``_variant_rx(first).finditer(text)``, tried only where ``first`` occurs (every match starts
    with it): the plain finditer tries every position of the text, once per name."""
    rx = _variant_rx(first)
    if not first:
        yield from rx.finditer(text)
        return
    end = 0
    i = text.find(first)
    while i >= 0:
        if i >= end and (m := rx.match(text, i)):
            yield m
            end = m.end()
        i = text.find(first, i + 1)


def variants_in_text(name: str, text: str) -> dict[str, int]:
    """Every spelling of ``name`` the text uses, with counts."""
    first = name.split()[0][:3]
    counts: dict[str, int] = {}
    for m in _starting_with(first, text):
        words = m.group(0).split()
        for k in range(len(name.split()), 1, -1):
            cand = " ".join(words[:k])
            if len(cand.split()) == len(name.split()) and same_person(cand, name):
                counts[cand] = counts.get(cand, 0) + 1
                break
    return counts
