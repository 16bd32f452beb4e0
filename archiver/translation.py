"""Translation markers: is this text a translation, and from which language?

Only explicit statements count ("Translated from the German by ...",
"Unofficial translation", "Machine translated", "for the Polish edition of",
"with the Spanish publication X").  The outlet registry may add the source
language of a named original outlet (see extract.py); nothing else does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .language import LANGUAGE_NAMES, tag_for
from .prefilter import Gated, mask_of_views, view, view_shortened

_LANG = "|".join(sorted(map(re.escape, LANGUAGE_NAMES), key=len, reverse=True))
_NAME = r"(?P<name>[A-ZÀ-ÖØ-ÞĀ-ſА-ЯЁІЇЄЎҐ][\w'’.\-]+(?:\s+(?:de|van|von|der|la|le|da|di)?\s*[A-ZÀ-ÖØ-ÞĀ-ſА-ЯЁІЇЄЎҐ][\w'’\-]+){1,3})"


@dataclass(frozen=True)
class Marker:
    rule: str
    line: int  # 1-based
    status: str  # "translated" | "machine-translated"
    source_language: str | None = None
    translator: str | None = None
    confidence: float = 0.8


_RULES: list[tuple[str, re.Pattern, str, float]] = [
    ("translation.machine", re.compile(r"\b(?:machine[- ]translat(?:ed|ion)|automatically translated|translated automatically|auto-?translated|google translate|deepl|машинный перевод|автоматический перевод|tłumaczenie maszynowe|maschinell übersetzt|traducción automática|traduction automatique)\b", re.I), "machine-translated", 0.9),
    ("translation.translated-from", re.compile(rf"\b(?i:translated\s+(?:from\s+(?:the\s+)?(?P<lang>{_LANG})\b)?(?:\s+(?:into|to)\s+\w+)?)(?:\s+by\s+{_NAME})?"), "translated", 0.9),
    ("translation.translated-from", re.compile(rf"(?i:(?:перевод|переклад|пераклад)\s+(?:с|з)\s+(?P<lang>{_LANG}))(?:[^.\n]{{0,20}}?(?:[:—–-]|(?i:выполнил\w*|выполнила))\s*{_NAME})?"), "translated", 0.9),
    ("translation.translated-from", re.compile(rf"\b(?:tłumaczenie|przekład)\s+z\s+(?P<lang>{_LANG})", re.I), "translated", 0.9),
    ("translation.translated-from", re.compile(rf"\b(?i:aus dem\s+(?P<lang>{_LANG})(?:\s+(?:übersetzt|übertragen))?)\s+von\s+{_NAME}"), "translated", 0.9),
    ("translation.translated-from", re.compile(rf"\b(?i:aus dem\s+(?P<lang>{_LANG})\s+(?:übersetzt|übertragen))(?:\s+von\s+{_NAME})?"), "translated", 0.9),
    ("translation.translated-from", re.compile(rf"\b(?i:(?:traduit|traduction)\s+de\s+l['’]\s*(?P<lang>{_LANG}))(?:\s+par\s+{_NAME})?"), "translated", 0.9),
    ("translation.translated-from", re.compile(rf"\b(?i:(?:traducido|traducción)\s+del\s+(?P<lang>{_LANG}))(?:\s+por\s+{_NAME})?"), "translated", 0.9),
    ("translation.translator-credit", re.compile(rf"^\s*(?i:(?:(?:{_LANG})\s+)?(?:translat(?:ion|ed) by|translator:?|translation:|перевод:?|перевела?:?|переклад:?|tłumaczenie:?|tłumaczył[a]?:?|übersetzung:?|traduction:?|traducción:?))\s+{_NAME}\s*\.?\s*$"), "translated", 0.85),
    ("translation.unofficial", re.compile(r"\bunofficial translation\b|\bнеофициальный перевод\b|\bnieoficjalne tłumaczenie\b", re.I), "translated", 0.85),
    ("translation.edition-of", re.compile(rf"\bfor the (?P<lang>{_LANG}) (?:edition|version|service) of\b", re.I), "translated", 0.75),
    ("translation.foreign-publication", re.compile(rf"\b(?:with|to|for|in) (?:the |a )?(?P<lang>{_LANG}) (?:publication|newspaper|magazine|weekly|daily|outlet|news (?:site|portal|agency)|website|portal|radio|tv channel|media outlet)\b", re.I), "translated", 0.7),
    ("translation.original-language", re.compile(rf"\b(?i:original)\b[^\n]{{0,100}}?\((?i:(?:in\s+)?(?P<lang>{_LANG}))\)"), "translated", 0.8),
    ("translation.original-language", re.compile(rf"\b(?i:(?:read\s+)?(?:the\s+)?original(?:\s+(?:article|text|version|interview))?\s+(?:is\s+|was\s+)?(?:published\s+)?in\s+(?P<lang>{_LANG}))\b"), "translated", 0.8),
    ("translation.english-version", re.compile(r"\b(?:english|german|french|spanish|russian|polish) (?:version|translation) of (?:an?|the) (?:article|interview|text)\b", re.I), "translated", 0.8),
]


_FROM_LANG = re.compile(rf"\b(?i:from\s+(?:the\s+)?(?P<lang>{_LANG}))\b")


# The words each rule needs (prefilter.py): most lines hold none, and skip the rule's regex.
_GATES = [Gated(rx) for _, rx, _, _ in _RULES]


def find(lines: list[str], *, text_language: str | None, seen=None) -> list[Marker]:
    """Explicit translation markers in normalised lines.

    A "from X" language equal to the text's own language is ignored (it is not a
    translation *into* this text).  ``seen``: the lines' ``views`` when the caller has them.
    """
    # markers open or close a paragraph; bounded work on huge lines
    shown, used = [], []
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if len(line) <= 800:
            shown.append((i, line))
            used.append(view(line) if seen is None else seen[i - 1])
        else:
            short, v = view_shortened(line, 400, " … ")
            shown.append((i, short))
            used.append(v)
    mask = mask_of_views(used)
    live = [(rule, gate) for rule, gate in zip(_RULES, _GATES) if gate.live(mask) is gate]
    out: list[Marker] = []
    if not live:
        return out
    for (i, line), v in zip(shown, used):
        for (rule, rx, status, conf), gate in live:
            m = gate.search(line, v)
            if not m:
                continue
            gd = m.groupdict()
            lang = tag_for(gd["lang"]) if gd.get("lang") else None
            if status == "machine-translated" and (fm := _FROM_LANG.search(line)):  # "machine-translated from Russian"
                lang = tag_for(fm.group("lang"))
            if rule == "translation.translated-from" and not lang and not gd.get("name"):
                continue  # a bare "translated" in prose is not a marker
            if lang and text_language and lang == text_language:
                continue
            out.append(Marker(rule, i, status, lang, gd.get("name"), conf))
            break
    return out
