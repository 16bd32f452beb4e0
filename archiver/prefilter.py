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
    """A necessary condition for a regex to match: one of ``words`` occurs in the folded text."""

    __slots__ = ("words",)

    def __init__(self, words: frozenset[str] | None):
        self.words = words

    @classmethod
    def of(cls, rx: re.Pattern) -> "Literals":
        return cls(_required(_parser.parse(rx.pattern, rx.flags).data))

    def may_match(self, folded: str) -> bool:
        """False only when the regex cannot match a text whose ``fold`` is ``folded``."""
        return self.words is None or any(w in folded for w in self.words)


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
