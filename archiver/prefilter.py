"""Required literals: skip a rule's regex on lines that cannot match it.

Extraction runs some sixty rule regexes over every line of every text; nearly
all of them fail, and Python's regex engine pays for each failure at every
position (the benchmark measured ~10 ms per text in these searches).  Most
rules need words of their own ("translated", "original", "told", ":"):
``Literals.of(rx)`` reads them out of the pattern itself, so a line that lacks
them is skipped without running the regex, and the rule stays the only source
of truth for what it matches.

The test is exact, never a guess: ``Literals.of`` returns conditions (sets of
strings) such that every match holds a string of each (after ``fold``), or
none when it cannot tell, and then the regex always runs.  Where a few strings
follow each other ("(?:an |the )?interview(?:ed)? with") the condition is
their concatenations, which are rarer than any part.  ``fold`` maps text and
literals so that every character the regex engine treats as equal under
IGNORECASE compares equal ("İ", "ı" and "I" against "i"; "ſ" against "s";
rounded Cyrillic "ᲂ" against "о"), so a case-insensitive rule is filtered as
safely as the rest (tests/test_prefilter.py checks this over all of Unicode,
and checks the conditions on every match of generated patterns).

``Gated`` wraps one rule; ``view(line)`` gives a line's folded form and the mask
of conditions whose words it holds, found in one Aho-Corasick pass for all rules.

The pattern is read with the standard library's own regex parser (``re._parser``,
private but the very tree ``re`` compiles; Python >= 3.11).  Should a future
Python change it, the tests above fail rather than the filter quietly erring.
"""

from __future__ import annotations

import re
from re import _casefix, _parser  # the stdlib regex parser: the same tree the engine compiles
from re._constants import (ASSERT, ASSERT_NOT, AT, ATOMIC_GROUP, BRANCH, IN, LITERAL, MAX_REPEAT, MIN_REPEAT,
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
assert min(_CANON) > 0x7F  # ASCII text folds by lower() alone


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
    """A necessary condition for a regex to match: each of its ``clauses`` (sets of words) has a
    word in the folded text.  No clause: the regex cannot be judged by its words, and always runs.

    ``may_match`` is the condition as defined; the gated rules test it for all rules at once
    through ``line_mask`` (tests/test_prefilter.py checks the two agree).
    """

    __slots__ = ("clauses",)

    def __init__(self, clauses: tuple[frozenset[str], ...]):
        self.clauses = clauses

    @classmethod
    def of(cls, rx: re.Pattern) -> "Literals":
        return cls(_chosen(_clauses(_parser.parse(rx.pattern, rx.flags).data)))

    @property
    def words(self) -> frozenset[str] | None:
        """Every word of every clause (None: no condition)."""
        return frozenset().union(*self.clauses) if self.clauses else None

    def may_match(self, folded: str) -> bool:
        """False only when the regex cannot match a text whose ``fold`` is ``folded``."""
        return all(any(w in folded for w in c) for c in self.clauses)


# --- what a regex's matches must hold, read from its parsed tree ------------------------------
#
# ``_strings`` gives the strings an item can match when they are few (a literal, "(?:an |the )?",
# "[- ]", a branch of words); a run of such items matches one of their concatenations
# ("interview(?:ed)? with" -> "interview with", "interviewed with").  Those longer, rarer words
# are what makes a rule selective on the benchmark's word salad, where "interview" and "with"
# are everywhere but "interview with" is not (bench: ~0.2 ms of regex per text saved).  Every
# set is a superset of what the item can match, never smaller, so the conditions stay necessary.

_CAP = 128  # at most this many strings per set: the tree's branches of language names fit
_REPEATS = (MAX_REPEAT, MIN_REPEAT, POSSESSIVE_REPEAT)


def _product(a: set[str] | frozenset[str], b: set[str] | frozenset[str], cap: int = _CAP) -> set[str] | None:
    return {x + y for x in a for y in b} if len(a) * len(b) <= cap else None


def _strings(op, av) -> frozenset[str] | None:
    """The folded strings one regex item can match, or None when they are not few."""
    if op is LITERAL:
        return frozenset({fold(chr(av))})
    if op is AT or op in (ASSERT, ASSERT_NOT):
        return frozenset({""})  # zero-width: matches the empty string or fails
    if op is IN:
        if all(o is LITERAL for o, _ in av) and len(av) <= _CAP:  # "[- ]"; not a range, category or NEGATE
            return frozenset(fold(chr(c)) for _, c in av)
        return None
    if op is SUBPATTERN:
        return _seq_strings(av[3].data)
    if op is ATOMIC_GROUP:
        return _seq_strings(av.data)
    if op is BRANCH:
        alts = [_seq_strings(a.data) for a in av[1]]
        if any(a is None for a in alts) or sum(map(len, alts)) > _CAP:
            return None
        return frozenset().union(*alts)
    if op in _REPEATS:
        lo, hi, body = av
        one = _seq_strings(body.data)
        if one is None or hi > 4:  # unbounded (MAXREPEAT) or long: not few
            return None
        out, power = set(), {""}
        for k in range(hi + 1):
            if k >= lo:
                out |= power
            if k < hi and (power := _product(power, one)) is None:
                return None
        return frozenset(out) if len(out) <= _CAP else None
    return None


def _seq_strings(items) -> frozenset[str] | None:
    acc: set[str] | None = {""}
    for op, av in items:
        one = _strings(op, av)
        if one is None or (acc := _product(acc, one)) is None:
            return None
    return frozenset(acc)


def _heads(items) -> frozenset[str] | None:
    """Words one of which every match of this sequence starts with, or None."""
    items = list(items)
    acc: set[str] = {""}
    for k, (op, av) in enumerate(items):
        one = _strings(op, av)
        if one is None:  # not few: what it starts with ends the words
            head = _head_of(op, av, items[k + 1:])
            # (start words may be many: "(?<!\w)(?:january|jan|...)" has ~200, found by one automaton)
            if head is not None and (longer := _product(acc, head, cap=1024)) is not None:
                acc = longer
            break
        if (longer := _product(acc, one)) is None:
            break  # the strings so far start every match
        acc = longer
    if "" in acc:
        return None
    # A word that starts with another is implied by it (not one that merely contains it).
    return frozenset(w for w in acc if not any(v != w and w.startswith(v) for v in acc))


def _head_of(op, av, rest) -> frozenset[str] | None:
    """Words every match of an item that is not few strings starts with (``rest``: what follows it)."""
    if op is SUBPATTERN:
        return _heads(av[3].data)
    if op is ATOMIC_GROUP:
        return _heads(av.data)
    if op in _REPEATS:
        if av[0] >= 1:
            return _heads(av[2].data)
        if op is POSSESSIVE_REPEAT:
            return None
        # "(?:\s+x)?interview": a match starts with the optional part or with what follows it.
        body, after = _heads(av[2].data), _heads(rest)
        return None if body is None or after is None else body | after
    if op is BRANCH:
        alts = [_heads(a.data) for a in av[1]]
        return None if any(a is None for a in alts) else frozenset().union(*alts)
    return None


def _simplify(words) -> frozenset[str] | None:
    if not words or "" in words:
        return None
    # A word that contains another is implied by it: keep the shorter.
    return frozenset(w for w in words if not any(v != w and v in w for v in words))


def _rank(words: frozenset[str]):
    """The more selective condition first: longer shortest word, then fewer words."""
    return (-min(map(len, words)), len(words))


def _clauses(items) -> list[frozenset[str]]:
    """Conditions every match of this sequence of items meets: one word of each occurs in it."""
    out: list[frozenset[str]] = []
    run: set[str] = {""}  # the strings the current run of few-strings items can match

    def close():
        if (c := _simplify(run)) is not None:
            out.append(c)

    for op, av in items:
        one = _strings(op, av)
        if one is not None:
            if (longer := _product(run, one)) is not None:
                run = longer
            else:  # too many strings: the run so far is one condition, this item starts the next
                close()
                run = set(one)
            continue
        close()
        run = {""}
        if op is SUBPATTERN:
            out += _clauses(av[3].data)
        elif op is ATOMIC_GROUP:
            out += _clauses(av.data)
        elif op in _REPEATS and av[0] >= 1:
            out += _clauses(av[2].data)
        elif op is BRANCH:
            # One word of some alternative: each alternative's best condition, together.
            best = [min(_clauses(a.data), key=_rank, default=None) for a in av[1]]
            if all(b is not None for b in best) and (c := _simplify(set().union(*best))) is not None:
                out.append(c)
    close()
    return out


def _chosen(clauses: list[frozenset[str]]) -> tuple[frozenset[str], ...]:
    """The conditions a rule is gated by: the most selective, and a second one when its words are
    long enough to be rare (each word found costs a little in every line that holds it: "from"
    is in a fifth of the bench's lines)."""
    ranked = sorted(set(clauses), key=lambda c: (_rank(c), sorted(c)))
    out = ranked[:1]
    if len(ranked) > 1 and min(map(len, ranked[1])) >= 5:
        out.append(ranked[1])
    return tuple(out)


class Gated:
    """A compiled regex with the words it needs.

    ``live(mask)`` (``mask_of`` a text's folded lines) answers the regex itself, or a stand-in
    that never matches when the text lacks its words; the per-line methods take the line and
    its folded form.  A regex whose every match starts with one of its words is tried only
    where such a word starts (``rx.match`` at each, in order: the same leftmost matches as
    ``rx.search`` and ``rx.finditer``, which otherwise try every position).
    """

    __slots__ = ("rx", "needs", "starts", "bits", "need", "finder")

    def __init__(self, rx: re.Pattern):
        self.rx = rx
        self.needs = Literals.of(rx)
        starts = _heads(_parser.parse(rx.pattern, rx.flags).data)
        self.starts = tuple(sorted(starts)) if starts else None
        self.finder = None  # an automaton of the start words, made when first needed
        # One bit per condition (a rule without any gets one bit that every line has): a line
        # may match when it has all of the rule's bits.
        first = _BITS[0]
        _BITS[0] += max(1, len(self.needs.clauses))
        self.bits = tuple(1 << b for b in range(first, _BITS[0]))
        self.need = sum(self.bits)
        GATED.append(self)
        _WORDS.clear()  # the automaton is rebuilt with this rule's words on next use,
        _VIEWS.clear()  # and no line's mask is kept from before this rule

    def live(self, mask: int) -> "Gated | _Never":
        """Itself if the text (its ``mask_of``) may match, else NEVER."""
        return self if mask & self.need == self.need else NEVER

    # The per-line methods take the line and its ``view``: (folded line, mask of conditions).
    def match(self, s: str, v: tuple[str, int]):
        return self.rx.match(s) if v[1] & self.need == self.need else None

    def _starts(self, folded: str) -> list[int]:
        if len(self.starts) > 2:
            # Several words ("by", "for", "in", "to", "with"): one automaton pass instead of a find()
            # per occurrence of each (bench: that rule ~0.084 -> ~0.06 ms per text).
            if self.finder is None:
                import ahocorasick_rs

                self.finder = ahocorasick_rs.AhoCorasick(self.starts, matchkind=ahocorasick_rs.MatchKind.Standard)
            try:
                return sorted({i for _, i, _ in self.finder.find_matches_as_indexes(folded, overlapping=True)})
            except UnicodeEncodeError:
                pass  # a lone surrogate, which the automaton cannot take: the plain way
        found = set()
        for w in self.starts:
            i = folded.find(w)
            while i >= 0:
                found.add(i)
                i = folded.find(w, i + 1)
        return sorted(found)

    def search(self, s: str, v: tuple[str, int]):
        if v[1] & self.need != self.need:
            return None
        if self.starts is None:
            return self.rx.search(s)
        for i in self._starts(v[0]):
            if m := self.rx.match(s, i):
                return m
        return None

    def finditer(self, s: str, v: tuple[str, int]):
        if v[1] & self.need != self.need:
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
_BITS = [0]  # the next free bit of the masks

# Which conditions' words a folded line holds, as a bit mask: one Aho-Corasick pass finds
# every word of every rule at once.  Testing each word with ``in`` scanned the text once per
# absent word (over 1 ms per bench text).  ahocorasick-rs's DFA on the UTF-8 bytes takes
# ~1 ns a byte; pyahocorasick's automaton took ~12 ns a character on the bench's word salad,
# where nearly every letter starts some word (a bench text's line views ~0.41 -> ~0.26 ms).
_WORDS: dict[str, object] = {}  # {"automaton": ..., "values": bits per word, "always": mask of rules without words}


def _automaton():
    if not _WORDS:
        import ahocorasick_rs

        bits: dict[str, int] = {}
        always = 0
        for g in GATED:
            if not g.needs.clauses:
                always |= g.need
            for clause, b in zip(g.needs.clauses, g.bits):
                for w in clause:
                    bits[w] = bits.get(w, 0) | b
        # Also the characters fold() maps after lower() (rare): the same pass tells whether a
        # lower-cased line needs that mapping, instead of a regex scan of every line for them.
        specials = [chr(c) for c in sorted(_CANON)]
        auto = ahocorasick_rs.BytesAhoCorasick([w.encode() for w in [*bits, *specials]],
                                               matchkind=ahocorasick_rs.MatchKind.Standard,
                                               implementation=ahocorasick_rs.Implementation.DFA)
        _WORDS.update(automaton=auto, values=[*bits.values(), *[None] * len(specials)], always=always,
                      longest=max(map(len, [*bits, *specials])))
        _VIEWS.clear()
    return _WORDS["automaton"], _WORDS["values"], _WORDS["always"]


def _scan(lowered: str) -> tuple[int, bool]:
    """(the conditions whose words occur in ``lowered``, whether it holds a character _CANON maps)."""
    auto, values, got = _automaton()
    special = False
    # Every occurrence, overlapping ones too; a word's UTF-8 bytes match only at a character's start.
    for i, _start, _end in auto.find_matches_as_indexes(lowered.encode("utf-8", "surrogatepass"), overlapping=True):
        if (b := values[i]) is None:
            special = True
        else:
            got |= b
    return got, special


def line_mask(folded: str) -> int:
    """The conditions (bits of the rules in GATED) whose words occur in ``folded``."""
    return _scan(folded)[0]


_VIEWS: dict[str, tuple[str, int]] = {}  # the rules of one text look at the same lines again and again


def view(s: str) -> tuple[str, int]:
    """(``fold(s)``, ``line_mask`` of it): what the gated rules need of a line, remembered for short lines."""
    got = _VIEWS.get(s)
    if got is None:
        # fold(s), with its check for the characters _CANON maps done by the automaton's pass
        f = s.lower() if s.isascii() else (s.translate(_PRE) if "\u0130" in s else s).lower()
        mask, special = _scan(f)
        if special:
            f = f.translate(_CANON)
            mask = line_mask(f)
        got = (f, mask)
        if len(s) <= 2000:  # bounded: at most 1024 short lines are kept
            if len(_VIEWS) >= 1024:
                _VIEWS.clear()
            _VIEWS[s] = got
    return got


def view_shortened(s: str, keep: int, mark: str) -> tuple[str, tuple[str, int]]:
    """``s[:keep] + mark + s[-keep:]``, and a view of it made from ``view(s)``.

    Its folded form is exactly the fold of it (fold maps each character alone); its mask holds
    every condition the plain view's would, maybe more, which only makes a rule try its regex:
    a word within either end is a word of ``s``, and a word across a join lies within the
    longest word's length of it.  Translation markers are looked for in long lines shortened
    so; folding and scanning them again cost ~0.02 ms per bench text.
    """
    assert keep >= 1
    folded, mask = view(s)
    short_folded = folded[:keep] + fold(mark) + folded[-keep:]
    longest = _WORDS["longest"]  # view() above built the automaton
    joins = short_folded[max(0, keep - longest + 1): keep + len(mark) + longest - 1]
    return s[:keep] + mark + s[-keep:], (short_folded, mask | line_mask(joins))


def views(lines) -> list[tuple[str, int]]:
    """``view`` of each line (one text's rules share them)."""
    return [view(s) for s in lines]


def mask_of_views(views) -> int:
    """The rules whose words occur in any of these lines' views."""
    m = 0
    for _folded, mask in views:
        m |= mask
    return m


def mask_of(lines) -> int:
    """The rules whose words occur anywhere in these lines (no word spans a line)."""
    return mask_of_views(map(view, lines))
