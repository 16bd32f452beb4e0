"""The cleaned derivative, and the normalised view of lines the rules read.

The preserved original is never touched.  The derivative (and the rules) see
the text with BOM removed, CRLF/CR as LF, non-breaking and zero-width
characters normalised, mojibake repaired (ftfy) and NFC composition; the
derivative also drops the lines judged boilerplate.
"""

from __future__ import annotations

import re
import unicodedata

import ftfy
from ftfy import badness as _badness

_NEWLINE = re.compile(r"\r\n|\r|\n")
# Invisible characters a scraper leaves behind: zero-width space/joiners, word joiner, BOM, soft hyphen.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
# Non-breaking and other fixed-width spaces become a plain space; the non-breaking hyphen a hyphen.
_SPACES = dict.fromkeys(map(ord, "\u00a0\u202f\u2007\u2009\u200a\u2002\u2003\u2004\u2005\u2006\u2008\u205f\u3000"), " ")
_SPACES[0x2011] = "-"
MAX_LINE = 20_000  # rules read at most this much of one line: bounded regex work

_FTFY = ftfy.TextFixerConfig(
    unescape_html=False,  # "&amp;" in a text may be content; not ours to change
    fix_line_breaks=False,
    uncurl_quotes=False,
    fix_latin_ligatures=False,
    fix_character_width=False,
    normalization="NFC",
    explain=False,
)


def split_lines(text: str) -> list[str]:
    """The text's lines, numbered from 1 like an editor (a final newline ends, not starts, a line)."""
    if text.startswith("\ufeff"):
        text = text[1:]
    # Without a CR the only line end is LF: str.split does the same as the regex, ~7x faster
    # (bench: ~85 -> ~12 us per text; tests/test_clean.py compares them).
    lines = text.split("\n") if "\r" not in text else _NEWLINE.split(text)
    if len(lines) > 1 and lines[-1] == "":
        lines.pop()
    return lines


_ODD_SPACE = re.compile("[" + "".join(map(chr, {**_INVISIBLE, **_SPACES})) + "]")
_FTFY_CANDIDATE = re.compile("[\u0080-\u00ff\ud800-\udfff\u206a-\u206f\ufff9-\ufffc\U000e0000-\U000e007f]")


# What ftfy (with _FTFY) changes besides NFC composition: mojibake, which its badness test
# (ftfy.badness.BADNESS_RE) must find first, and the characters its other fixers remove or
# replace (C1 controls, surrogates, terminal escapes, control characters).  _MOJIBAKE_HINT is
# a necessary condition of BADNESS_RE, derived from it alternative by alternative: every
# alternative needs one of the rare characters in the first class, or is one of the few
# sequences of common characters listed after it (tests/test_clean.py checks the claim).
# The benchmark found ftfy's badness regex alone at ~3.5 ms per text; the hint ~0.2 ms.
_M = _badness.MOJIBAKE_CATEGORIES
_MOJIBAKE_HINT = re.compile(
    # One character class first, so the engine skips ahead to candidates at C speed; the
    # alternatives then look behind at that character.
    "[{rare}{upper_accented}{lower_accented}{end_punctuation}‚ВГРСΒΓΞΟ](?:"
    "(?<=[{rare}])"
    "|(?<=[{lower_accented}{lower_common}{end_punctuation}][{upper_accented}])"
    # The other alternatives each go on with a character of this class: one look at it first
    # spares most candidates (an accented letter before a plain one) eight failing tries
    # (the hint ~85 -> ~52 us per bench text; tests/test_clean.py compares with the plain form).
    "|(?=[{numeric}{law}{currency}°{start_punctuation}{end_punctuation}{lower_accented}Äâó])(?:"
    "(?<=[{upper_accented}])[{numeric}{law}{currency}°]"
    "|(?<=[a-z][{upper_accented}])[{start_punctuation}]"
    "|(?<=[{upper_accented}{lower_accented}])[{end_punctuation}][{start_punctuation}]"
    "|(?<=[{upper_accented}{lower_accented}])[{start_punctuation}{end_punctuation}]\\w"
    "|(?<=[{end_punctuation}])[{lower_accented}]"
    "|(?<=‚)(?:Ä|[âó][àä°ê])"
    "|(?<=[ВГРС])[{start_punctuation}{end_punctuation}][ВГРС]"
    "|(?<=[ΒΓΞΟ])[{start_punctuation}{end_punctuation}][ΒΓΞΟ]"
    "))".format(rare="{c1}{bad}{box}{currency}{numeric}{law}°ŒœØÙЂÂÃÎÐ".format(**_M), **_M)
)
_FTFY_OTHER = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\u206a-\u206f\ufeff\ufff9-\ufffc\ud800-\udfff]")


def _ftfy_may_change(s: str, nfc: str) -> bool:
    """False only when ftfy.fix_text(s, _FTFY) is exactly ``nfc`` (= NFC of s)."""
    if len(s) > _FTFY.max_decode_length or _FTFY_OTHER.search(s) or _MOJIBAKE_HINT.search(s):
        return True
    # ftfy repeats its fixes until nothing changes: NFC composition can make a new sequence.
    return nfc != s and bool(_MOJIBAKE_HINT.search(nfc))


def normalize(s: str) -> str:
    """One line or paragraph as the rules and the derivative see it."""
    # ftfy is the slowest step of extraction; only lines holding a character that mojibake,
    # C1 controls or the other things ftfy fixes are made of can change, so only those go in.
    if not s.isascii() and _FTFY_CANDIDATE.search(s):
        nfc = unicodedata.normalize("NFC", s)
        # first: mojibake of a non-breaking space is "Â\xa0"; otherwise ftfy's own answer, cheaply
        s = ftfy.fix_text(s, _FTFY) if _ftfy_may_change(s, nfc) else nfc
    if s.isascii():  # nothing below can change plain ASCII (most lines): skip the copies
        return s
    if _ODD_SPACE.search(s):
        s = s.translate(_INVISIBLE).translate(_SPACES)
    return unicodedata.normalize("NFC", s)


def norm_line(s: str) -> str:
    """A line for rule matching: normalised, capped, trailing white space removed."""
    return normalize(s[:MAX_LINE]).rstrip()


_ODD_OR_OTHER = re.compile(_ODD_SPACE.pattern[:-1] + _FTFY_OTHER.pattern[1:])  # either class, in one scan
assert MAX_LINE <= _FTFY.max_decode_length  # a capped line is never too long for ftfy


def norm_lines(raw: list[str]) -> list[str]:
    """``[norm_line(s) for s in raw]`` (lines without newlines), checked once for the whole text.

    Most texts need neither ftfy nor the space and invisible-character mapping: then every
    line becomes its NFC composition, and NFC of the lines joined by newlines is the lines'
    NFC joined (a newline composes with nothing).  Each check below over the joined text
    fails only if it fails for every line (no check reads across a newline; a line's match is
    one in the joined text), so the text goes through the per-line path whenever any line
    might need more.  Bench: ~0.32 -> ~0.21 ms per text; tests/test_clean.py compares the two.
    """
    text = "\n".join(raw)
    if text.isascii():
        return [s[:MAX_LINE].rstrip() for s in raw]  # normalize() leaves ASCII as it is
    if (text.count("\n") == len(raw) - 1 and max(map(len, raw)) <= MAX_LINE and not _ODD_OR_OTHER.search(text)
            and not (_FTFY_CANDIDATE.search(text) and _MOJIBAKE_HINT.search(text))):
        nfc = unicodedata.normalize("NFC", text)
        # As _ftfy_may_change: composition can make mojibake, or a space to map (U+2000 -> U+2002).
        if nfc == text or not (_MOJIBAKE_HINT.search(nfc) or _ODD_SPACE.search(nfc)):
            return [s.rstrip() for s in nfc.split("\n")]
    return [norm_line(s) for s in raw]


def derivative(lines: list[str], boilerplate: set[int], normalized: list[str] | None = None) -> str | None:
    """The cleaned text: boilerplate lines dropped, blank runs collapsed, LF, NFC; None when empty.

    ``normalized``: the same lines already through ``norm_line`` (reused where not capped).
    """
    out: list[str] = []
    for n, line in enumerate(lines, 1):
        if n in boilerplate:
            continue
        s = normalized[n - 1] if normalized is not None and len(line) <= MAX_LINE else normalize(line).rstrip()
        if not s.strip():
            if out and out[-1] != "":
                out.append("")
            continue
        out.append(s)
    while out and out[-1] == "":
        out.pop()
    if not out:
        return None
    return "\n".join(out) + "\n"
