"""Required literals: skip a rule's regex on lines that cannot match it.

Extraction runs some sixty rule regexes over every line of every text; nearly
all of them fail, and Python's regex engine pays for each failure at every
position (the benchmark measured ~10 ms per text in these searches).  Most
rules need a word of their own ("translated", "original", "told", ":"):
``Literals.of(rx)`` reads that out of the pattern itself, so a line that holds
none of the words is skipped without running the regex, and the rule stays
the only source of truth for what it matches.

The test is exact, never a guess: ``Literals.of`` returns a set of strings of
which every match holds at least one (after ``fold``), or None when it cannot
tell, and then the regex always runs.  ``fold`` maps text and literals so that
every character the regex engine treats as equal under IGNORECASE compares
equal ("İ", "ı" and "I" against "i"; "ſ" against "s"; rounded Cyrillic "ᲂ"
against "о"), so a case-insensitive rule is filtered as safely as the rest
(tests/test_prefilter.py checks this over all of Unicode).

``Gated`` wraps one rule; ``view(line)`` gives a line's folded form and the mask
of rules whose words it holds, found in one Aho-Corasick pass for all rules.

The pattern is read with the standard library's own regex parser (``re._parser``,
private but the very tree ``re`` compiles; Python >= 3.11).  Should a future
Python change it, the tests above fail rather than the filter quietly erring.
"""

from __future__ import annotations

import re
from re import _casefix, _parser  # the stdlib regex parser: the same tree the engine compiles
from re._constants import (ASSERT, ASSERT_NOT, AT, ATOMIC_GROUP, BRANCH, LITERAL, MAX_REPEAT, MIN_REPEAT,
                           POSSESSIVE_REPEAT, SUBPATTERN)

# Characters the engine's IGNORECASE treats as equal but str.lower() does not make equal: its
# extra case classes (s/ſ, i/ı, в/ᲀ, ...) go to one member; "İ" goes to "i" before lower(), which
# would otherwise expand it to "i" + U+0307 and split a word.
_CANON: dict[int, int] = {}
for _lo, _extra in _casefix._EXTRA_CASES.items():
    _cls = {_lo, *_extra}
    # The plain letter of the class (в, not the rounded ᲀ; s, not ſ), so that the rare forms are
    # the ones mapped and common text needs no translation at all.
    _plain = [c for c in sorted(_cls) if chr(c).upper().lower() == chr(c)] or sorted(_cls)
    for _c in _cls - {_plain[0]}:
        _CANON[_c] = _plain[0]
_PRE = {0x130: "i"}


_SPECIAL = re.compile("[" + "".join(map(chr, sorted(_CANON))) + "]")


def fold(s: str) -> str:
    """``s`` lower-cased for literal tests, the same length as ``s`` (positions stay valid)."""
    if s.isascii():
        return s.lower()
    if "\u0130" in s:
        s = s.translate(_PRE)
    s = s.lower()
    # str.translate with a dict is slow per character: only where a special character is.
    return s.translate(_CANON) if _SPECIAL.search(s) else s


class Literals:
    """A necessary condition for a regex to match: one of ``words`` occurs in the folded text.

    ``may_match`` is the condition as defined; the gated rules test it for all rules at once
    through ``line_mask`` (tests/test_prefilter.py checks the two agree).
    """

    __slots__ = ("words",)

    def __init__(self, words: frozenset[str] | None):
        self.words = words

    @classmethod
    def of(cls, rx: re.Pattern) -> "Literals":
        return cls(_required(_parser.parse(rx.pattern, rx.flags).data))

    def may_match(self, folded: str) -> bool:
        """False only when the regex cannot match a text whose ``fold`` is ``folded``."""
        return self.words is None or any(w in folded for w in self.words)


def _prefix(items) -> frozenset[str] | None:
    """Words one of which every match of this sequence starts with (after zero-width items)."""
    items = list(items)
    run: list[str] = []
    for k, (op, av) in enumerate(items):
        if op is LITERAL:
            run.append(chr(av))
            continue
        if run:
            break
        if op is AT or op in (ASSERT, ASSERT_NOT):
            continue  # checked by the regex itself at the candidate position
        if op is SUBPATTERN:
            return _prefix(av[3].data)
        if op is ATOMIC_GROUP:
            return _prefix(av.data)
        if op in (MAX_REPEAT, MIN_REPEAT, POSSESSIVE_REPEAT):
            if av[0] >= 1:
                return _prefix(av[2].data)
            if op is POSSESSIVE_REPEAT:
                return None
            # "(?:an |the )?interview": a match starts with the optional part or with what follows it.
            return _starting(_prefix(av[2].data), _prefix(items[k + 1:]))
        if op is BRANCH:
            return _starting(*(_prefix(a.data) for a in av[1]))
        return None
    return frozenset({fold("".join(run))}) if run else None


def _starting(*alts: frozenset[str] | None) -> frozenset[str] | None:
    """Start words of alternatives: None if any alternative has none."""
    if any(a is None for a in alts):
        return None
    words = set().union(*alts)
    # A word that starts with another is implied by it (not one that merely contains it).
    return frozenset(w for w in words if not any(v != w and w.startswith(v) for v in words)) or None


def _better(a: frozenset[str] | None, b: frozenset[str] | None) -> frozenset[str] | None:
    """The more selective of two conditions: longer shortest word, then fewer words."""
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b, key=lambda s: (-min(map(len, s)), len(s)))


def _simplify(words: set[str]) -> frozenset[str] | None:
    if not words or "" in words:
        return None
    # A word that contains another is implied by it: keep the shorter.
    return frozenset(w for w in words if not any(v != w and v in w for v in words))


def _required(items) -> frozenset[str] | None:
    """Words one of which every match of this sequence of regex items contains."""
    best: frozenset[str] | None = None
    run: list[str] = []
    for op, av in items:
        if op is LITERAL:
            run.append(chr(av))
            continue
        if run:
            best = _better(best, frozenset({fold("".join(run))}))
            run = []
        if op is AT or op in (ASSERT, ASSERT_NOT):
            continue  # zero-width: neither adds nor breaks a required word (runs stop at them, to be safe)
        cand = None
        if op is SUBPATTERN:
            cand = _required(av[3].data)
        elif op is ATOMIC_GROUP:
            cand = _required(av.data)
        elif op in (MAX_REPEAT, MIN_REPEAT, POSSESSIVE_REPEAT):
            cand = _required(av[2].data) if av[0] >= 1 else None
        elif op is BRANCH:
            alts = [_required(a.data) for a in av[1]]
            cand = None if any(a is None for a in alts) else _simplify(set().union(*alts))
        best = _better(best, cand)
    if run:
        best = _better(best, frozenset({fold("".join(run))}))
    return best


class Gated:
    """A compiled regex with the words it needs.

    ``live(mask)`` (``mask_of`` a text's folded lines) answers the regex itself, or a stand-in
    that never matches when the text holds none of its words; the per-line methods take the
    line and its folded form.  A regex whose every match starts with one of its words is
    tried only where such a word starts (``rx.match`` at each, in order: the same leftmost
    matches as ``rx.search`` and ``rx.finditer``, which otherwise try every position).
    """

    __slots__ = ("rx", "needs", "starts", "bit")

    def __init__(self, rx: re.Pattern):
        self.rx = rx
        self.needs = Literals.of(rx)
        starts = _prefix(_parser.parse(rx.pattern, rx.flags).data)
        self.starts = tuple(sorted(starts)) if starts else None
        self.bit = 1 << len(GATED)
        GATED.append(self)
        _WORDS.clear()  # the automaton is rebuilt with this rule's words on next use,
        _VIEWS.clear()  # and no line's mask is kept from before this rule

    def live(self, mask: int) -> "Gated | _Never":
        """Itself if the text (its ``mask_of``) may match, else NEVER."""
        return self if mask & self.bit else NEVER

    # The per-line methods take the line and its ``view``: (folded line, mask of rules).
    def match(self, s: str, v: tuple[str, int]):
        return self.rx.match(s) if v[1] & self.bit else None

    def _starts(self, folded: str) -> list[int]:
        found = set()
        for w in self.starts:
            i = folded.find(w)
            while i >= 0:
                found.add(i)
                i = folded.find(w, i + 1)
        return sorted(found)

    def search(self, s: str, v: tuple[str, int]):
        if not v[1] & self.bit:
            return None
        if self.starts is None:
            return self.rx.search(s)
        for i in self._starts(v[0]):
            if m := self.rx.match(s, i):
                return m
        return None

    def finditer(self, s: str, v: tuple[str, int]):
        if not v[1] & self.bit:
            return ()
        return self.rx.finditer(s) if self.starts is None else self._iter(s, v[0])

    def _iter(self, s: str, folded: str):
        end = 0
        for i in self._starts(folded):
            if i >= end and (m := self.rx.match(s, i)):
                yield m
                end = max(m.end(), i + 1)  # matches never overlap; an empty one moves on


class _Never:
    __slots__ = ()

    def match(self, s, v):
        return None

    search = match

    def finditer(self, s, v):
        return ()


NEVER = _Never()
GATED: list[Gated] = []  # every gated rule, for tests/test_prefilter.py

# Which rules' words a folded line holds, as a bit mask over GATED: one Aho-Corasick pass
# finds every word of every rule at once.  Testing each word with ``in`` scanned the text
# once per absent word (~6 us per word over a 12 KB text, ~200 words): the benchmark measured
# that at over 1 ms per text; the automaton does it in one pass.
_WORDS: dict[str, object] = {}  # {"automaton": ..., "always": mask of rules without words}


def _automaton():
    if not _WORDS:
        import ahocorasick

        bits: dict[str, int] = {}
        always = 0
        for g in GATED:
            if g.needs.words is None:
                always |= g.bit
            for w in g.needs.words or ():
                bits[w] = bits.get(w, 0) | g.bit
        auto = ahocorasick.Automaton()
        for w, b in bits.items():
            auto.add_word(w, b)
        if bits:
            auto.make_automaton()
        _WORDS.update(automaton=auto if bits else None, always=always)
        _VIEWS.clear()
    return _WORDS["automaton"], _WORDS["always"]


def line_mask(folded: str) -> int:
    """The rules (bits of GATED) whose words occur in ``folded``."""
    auto, got = _automaton()
    if auto is not None:
        for _end, b in auto.iter(folded):
            got |= b
    return got


_VIEWS: dict[str, tuple[str, int]] = {}  # the rules of one text look at the same lines again and again


def view(s: str) -> tuple[str, int]:
    """(``fold(s)``, ``line_mask`` of it): what the gated rules need of a line, remembered for short lines."""
    got = _VIEWS.get(s)
    if got is None:
        f = fold(s)
        got = (f, line_mask(f))
        if len(s) <= 2000:  # bounded: at most 1024 short lines are kept
            if len(_VIEWS) >= 1024:
                _VIEWS.clear()
            _VIEWS[s] = got
    return got


def mask_of_views(views) -> int:
    """The rules whose words occur in any of these lines' views."""
    m = 0
    for _folded, mask in views:
        m |= mask
    return m


def mask_of(lines) -> int:
    """The rules whose words occur anywhere in these lines (no word spans a line)."""
    return mask_of_views(map(view, lines))
