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
import pytest
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


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.sampled_from(["a", "é", " ", "\n", "\r", "\r\n", "\n\r", "\ufeff", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\u2029"]),
                max_size=30).map("".join))
def test_split_lines_equals_the_regex_split(text):
    # split_lines takes str.split("\n") when the text has no CR; the plain rule is the regex.
    body = text[1:] if text.startswith("\ufeff") else text
    plain = clean._NEWLINE.split(body)
    if len(plain) > 1 and plain[-1] == "":
        plain.pop()
    assert clean.split_lines(text) == plain


_LINE_PIECES = list(ALPHABET) + ["\x01", "\x85", "\ufeff", "\u00a0", "\u2000", "\u2001", "\u200b", "Ã©", "Ã\xa0", "â€™", "Ð¿Ñ€Ð¸",
                                 "e\u0301", "\u0301", "\u0308a", "Å", "\u212b", "\u2126", "ſ", " ", "  ", "abc", "Σ"]


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_LINE_PIECES), max_size=12).map("".join), max_size=8), st.sampled_from([20_000, 5]))
def test_norm_lines_equals_norm_line_per_line(lines, cap):
    # norm_lines checks the whole text once and composes it in one call when no line needs
    # more; the plain rule is norm_line on each line (also with lines over the cap).
    old = clean.MAX_LINE
    clean.MAX_LINE = cap
    try:
        assert clean.norm_lines(lines) == [clean.norm_line(s) for s in lines]
    finally:
        clean.MAX_LINE = old


@pytest.mark.parametrize("line", [
    "à\u2000x", "x\u2000y", "à\u2001 b", "Ã©", "CafÃ© x", "A\u030a\u00c3", "e\u0301\u2019", "\u0301start", "à\x85", "à\ufeffb",
    "naïve\u00a0x", "tab\tà", "ſà", "\u212b x", "x" * 30 + "é",
    "CafA\u0303\u00a9 x",  # mojibake only once composed ("Ã©"): ftfy repairs it
])
def test_norm_lines_equals_norm_line_on_lines_that_need_more_than_composition(line):
    for lines in ([line], ["café", line, ""], [line, line + " "]):
        assert clean.norm_lines(lines) == [clean.norm_line(s) for s in lines]


def test_norm_lines_takes_the_whole_text_path_on_plain_and_accented_text():
    # The fast path must be taken where it can be (else the test above proves little).
    lines = ["Café “Zürich” — naïve", "", "e\u0301 Łukasz", "plain"]
    assert clean.norm_lines(lines) == ["Café “Zürich” — naïve", "", "é Łukasz", "plain"]
    import unittest.mock

    with unittest.mock.patch.object(clean, "norm_line", side_effect=AssertionError("per-line path")):
        clean.norm_lines(lines)
        clean.norm_lines(["ascii only", "x  "])


# The hint as first written, without the look-ahead that spares most candidates its last eight
# alternatives: the two must agree on every string (only whether they match is used).
_M = badness.MOJIBAKE_CATEGORIES
_PLAIN_HINT = re.compile(
    "[{rare}{upper_accented}{lower_accented}{end_punctuation}‚ВГРСΒΓΞΟ](?:"
    "(?<=[{rare}])"
    "|(?<=[{lower_accented}{lower_common}{end_punctuation}][{upper_accented}])"
    "|(?<=[{upper_accented}])[{numeric}{law}{currency}°]"
    "|(?<=[a-z][{upper_accented}])[{start_punctuation}]"
    "|(?<=[{upper_accented}{lower_accented}])[{end_punctuation}][{start_punctuation}]"
    "|(?<=[{upper_accented}{lower_accented}])[{start_punctuation}{end_punctuation}]\\w"
    "|(?<=[{end_punctuation}])[{lower_accented}]"
    "|(?<=‚)(?:Ä|[âó][àä°ê])"
    "|(?<=[ВГРС])[{start_punctuation}{end_punctuation}][ВГРС]"
    "|(?<=[ΒΓΞΟ])[{start_punctuation}{end_punctuation}][ΒΓΞΟ]"
    ")".format(rare="{c1}{bad}{box}{currency}{numeric}{law}°ŒœØÙЂÂÃÎÐ".format(**_M), **_M)
)


def test_hint_agrees_with_its_plain_form_on_every_pair_and_the_three_character_rules():
    alphabet = sorted(set(ALPHABET)) + ["a", "Z", " ", "1"]
    for a, b in itertools.product(alphabet, repeat=2):
        assert bool(clean._MOJIBAKE_HINT.search(a + b)) == bool(_PLAIN_HINT.search(a + b)), a + b
    pool = sorted(set("".join(_expand(badness.MOJIBAKE_CATEGORIES[k]) for k in ("lower_accented", "upper_accented", "end_punctuation", "start_punctuation")))
                  | set("ВГРСΒΓΞΟ‚aZ1 "))
    for a in pool:
        for b in pool:
            for c in "aZ1 «“‘„¡¿•‹©΄΅\uf8ffВГРСΒΓΞΟàäê°":
                assert bool(clean._MOJIBAKE_HINT.search(a + b + c)) == bool(_PLAIN_HINT.search(a + b + c)), a + b + c


@settings(max_examples=1500, deadline=None)
@given(st.text(alphabet=ALPHABET + "abcXYZ ", max_size=12))
def test_hint_agrees_with_its_plain_form(s):
    assert bool(clean._MOJIBAKE_HINT.search(s)) == bool(_PLAIN_HINT.search(s))
