"""clean.normalize skips ftfy where ftfy would only compose (NFC): that shortcut must be exact.

The reference below is the plain rule (every candidate line through ftfy); the fast
path must give the same string for every input, and its mojibake hint must be a
necessary condition of ftfy's own badness test.  If a new ftfy release changes its
heuristic, these tests say so.
"""

from __future__ import annotations

import itertools
import re
import unicodedata

import ftfy
from ftfy import badness
from hypothesis import given, settings
from hypothesis import strategies as st

from archiver import clean


def _expand(cls: str) -> str:
    """The characters a regex character-class body matches."""
    rx = re.compile(f"[{cls}]")
    return "".join(c for c in map(chr, range(0x30000)) if not 0xD800 <= ord(c) <= 0xDFFF and rx.fullmatch(c))


CATEGORY_CHARS = "".join(sorted(set("".join(_expand(v) for v in badness.MOJIBAKE_CATEGORIES.values()))))
# Every character class BADNESS_RE names, plus what surrounds mojibake in real text.
ALPHABET = CATEGORY_CHARS + "aezAEZ019 .,?!\t‚ÄâóàäêВГРСΒΓΞΟЂΞ°µ×ŒœØÙ" + "\u0301\u0308\u0327"  # + combining marks


def reference(s: str) -> str:
    """clean.normalize as it was before the shortcut: ftfy on every candidate line."""
    if not s.isascii() and clean._FTFY_CANDIDATE.search(s):
        s = ftfy.fix_text(s, clean._FTFY)
    if s.isascii():
        return s
    if clean._ODD_SPACE.search(s):
        s = s.translate(clean._INVISIBLE).translate(clean._SPACES)
    return unicodedata.normalize("NFC", s)


def test_hint_is_necessary_for_every_pair_of_characters():
    # BADNESS_RE's alternatives are two or three characters long (four for one, which needs a
    # rare character): every bad pair must be hinted, and so must every bad line seen below.
    alphabet = sorted(set(ALPHABET))
    missed = [a + b for a, b in itertools.product(alphabet, repeat=2) if badness.is_bad(a + b) and not clean._MOJIBAKE_HINT.search(a + b)]
    assert not missed, missed[:20]


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=ALPHABET, min_size=1, max_size=8))
def test_hint_is_necessary_for_short_strings(s):
    if badness.is_bad(s):
        assert clean._MOJIBAKE_HINT.search(s), s


def test_hint_is_necessary_for_every_triple_of_the_three_character_rules():
    # The three-character alternatives whose characters are all common ones.
    classes = [badness.MOJIBAKE_CATEGORIES[k] for k in ("lower_accented", "upper_accented", "end_punctuation", "start_punctuation")]
    pool = sorted(set("".join(_expand(c) for c in classes)) | set("ВГРСΒΓΞΟ‚aZ1 "))
    missed = [a + b + c for a in pool for b in pool for c in "aZ1 «“‘„¡¿•‹©΄΅\uf8ffВГРСΒΓΞΟàäê°"
              if badness.is_bad(a + b + c) and not clean._MOJIBAKE_HINT.search(a + b + c)]
    assert not missed, missed[:20]


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(list(ALPHABET) + ["\x01", "\x1b[1m", "\x85", "\ufeff", "\u00a0", "\u2000", "\u200b", "\ud83d", "Ã©", "Ã\xa0", "â€™", "Ð¿Ñ€Ð¸"]), max_size=40).map("".join))
def test_normalize_equals_the_plain_rule(s):
    assert clean.normalize(s) == reference(s)


def test_normalize_still_repairs_mojibake():
    assert clean.normalize("CafÃ© â€œquotedâ€\x9d") == "Café “quoted”"
    assert clean.normalize("voilÃ\xa0 le travail") == "voilà le travail"
    # Composition alone makes no mojibake: the shortcut composes, as ftfy would.
    assert clean.normalize("Cafe\u0301 “x”") == "Café “x”"
