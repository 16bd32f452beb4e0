"""Listing pages: a site-search or archive page of item summaries, not one text.

Recognised by a results count ("703 items found") or by a run of bulleted
titles each followed by a summary paragraph.  Each item spans from its bullet
line to the line before the next bullet (page furniture excluded).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_BULLET = re.compile(r"^\s*[•·▪◦*]\s+(?P<title>\S.{0,300})$")
MIN_ITEMS = 5


@dataclass(frozen=True)
class Listing:
    rule: str
    evidence: tuple[int, ...]
    confidence: float
    items: tuple[tuple[int, int], ...]  # (first_line, last_line), 1-based inclusive


def _items(lines: list[str], boilerplate: dict[int, str]) -> list[tuple[int, int]]:
    starts = []
    for i, s in enumerate(lines, 1):
        if i in boilerplate or not _BULLET.match(s):
            continue
        # a bullet title followed (after blank lines) by a summary that is not itself a bullet
        j = i + 1
        while j <= len(lines) and not lines[j - 1].strip():
            j += 1
        if j <= len(lines) and j not in boilerplate and not _BULLET.match(lines[j - 1]) and len(lines[j - 1].strip()) >= 40:
            starts.append(i)
    spans = []
    for k, a in enumerate(starts):
        b = (starts[k + 1] - 1) if k + 1 < len(starts) else len(lines)
        while b > a and (not lines[b - 1].strip() or b in boilerplate):
            b -= 1
        spans.append((a, b))
    return spans


def detect(lines: list[str], boilerplate: dict[int, str]) -> Listing | None:
    counts = [n for n, r in boilerplate.items() if r == "bp.results-count"]
    items = _items(lines, boilerplate)
    if counts and len(items) >= 2:
        return Listing("genre.listing-results", tuple(counts), 0.9, tuple(items))
    more = [n for n, r in boilerplate.items() if r == "bp.navigation" and re.fullmatch(r"(?i)\W*(?:read more|continue reading|читать далее|czytaj dalej|weiterlesen|lire la suite|leer más)\W*", lines[n - 1].strip())]
    if counts and len(more) >= 2 or len(more) >= 4:
        return Listing("genre.listing-read-more", tuple((counts + more)[:4]), 0.7, tuple(items) if len(items) >= 2 else ())
    if len(items) >= MIN_ITEMS:
        content = sum(1 for i, s in enumerate(lines, 1) if s.strip() and i not in boilerplate)
        inside = sum(1 for a, b in items for i in range(a, b + 1) if lines[i - 1].strip())
        if content and inside / content >= 0.8:
            return Listing("genre.listing-bullets", tuple(a for a, _ in items[:3]), 0.7, tuple(items))
    return None


def item_title(line: str) -> str | None:
    m = _BULLET.match(line)
    return m.group("title").strip() if m else None
