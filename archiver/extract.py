"""Extraction: what a scraped text says about its own provenance.

``decode`` turns the preserved bytes into text (strict UTF-8, never re-encoded);
``infer`` reads title, outlet, language, translation, dates, persons, genre and
boilerplate out of the text, each value with the rule and lines it came from.
Both are pure.  ``inspect`` is the command (I/O at the edge).

Rules are documented in docs/extraction.md (one section per rule id).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from . import findings
from .outcome import EXIT_FAILED, EXIT_OK
from .record import FIELD_PATHS, ROLE_TERMS, UNKNOWN, Fact, Origin, Person

findings.rule("IN-E101", "docs/extraction.md#encoding", "the input text is not UTF-8 (archiver refuses to re-encode a preserved original)")
findings.rule("IN-E102", "docs/extraction.md#inspect", "the input file cannot be read as a regular file")
findings.rule("IN-E103", "docs/extraction.md#sidecar", "a sidecar already exists; inspect never overwrites it")
findings.rule("IN-W101", "docs/extraction.md#outlets", "an outlet named in the text is not in the outlet registry; recorded as given")

MAX_TEXT_BYTES = 64 * 1024 * 1024  # inspect refuses larger inputs: memory stays bounded


# --- decoding ---------------------------------------------------------------


class NotUTF8(ValueError):
    """The bytes are not UTF-8; the message names the detected encoding in one line."""


@dataclass(frozen=True)
class Decoded:
    text: str  # decoded, BOM removed, newlines as in the file
    encoding: str  # "utf-8" or "utf-8-sig"
    newlines: str  # "lf" | "crlf" | "cr" | "mixed" | "none"


def _newline_style(text: str) -> str:
    crlf = text.count("\r\n")
    cr = text.count("\r") - crlf
    lf = text.count("\n") - crlf
    kinds = [k for k, n in (("crlf", crlf), ("cr", cr), ("lf", lf)) if n]
    if not kinds:
        return "none"
    return kinds[0] if len(kinds) == 1 else "mixed"


def decode(data: bytes) -> Decoded:
    """Strict UTF-8 (with or without a byte-order mark); raise NotUTF8 otherwise.

    We refuse rather than re-encode: the preserved original must stay byte-exact,
    and a guessed encoding would be invented metadata.
    """
    bom = data.startswith(b"\xef\xbb\xbf")
    body = data[3:] if bom else data
    try:
        text = body.decode("utf-8", errors="strict")
    except UnicodeDecodeError as e:
        raise NotUTF8(f"not UTF-8 (byte {e.start}: {e.reason}); detected encoding: {_detect(data)}") from None
    return Decoded(text=text, encoding="utf-8-sig" if bom else "utf-8", newlines=_newline_style(text))


def _detect(data: bytes) -> str:
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data[: 1 << 20]).best()
    except Exception:  # noqa: BLE001 - detection is only a hint in an error message
        best = None
    return best.encoding if best is not None else "unknown"


# --- inference --------------------------------------------------------------


@dataclass(frozen=True)
class ListingItem:
    index: int  # 1-based
    first_line: int  # 1-based, inclusive, in the listing's text
    last_line: int
    inference: "Inference"  # inference on the item's text alone (+ listing context)


@dataclass(frozen=True)
class Inference:
    facts: dict[str, Fact]  # keyed by record.FIELD_PATHS; only fields found
    persons: tuple[Person, ...] = ()
    boilerplate: tuple[int, ...] = ()  # 1-based line numbers
    cleaned: str | None = None  # the cleaned derivative, None if the text is empty
    items: tuple[ListingItem, ...] = ()
    warnings: tuple[findings.Finding, ...] = ()
    boilerplate_rules: dict[int, str] = field(default_factory=dict)  # line -> rule id (for --json)


def inferred(value: Any, rule: str, lines=(), confidence: float = 0.5) -> Fact:
    """A Fact found by a rule, with its evidence lines and confidence."""
    lines = tuple(sorted({int(n) for n in lines if n >= 1}))
    return Fact[Any](value=value, origin=Origin(by="inferred", rule=rule, lines=lines, confidence=round(confidence, 2)))


def infer(text: str, *, registry=None) -> Inference:
    """Everything the text says about itself.  Pure: no I/O (the registry is passed in)."""
    from .inference import run  # the rules, kept apart from the API surface

    return run(text, registry=registry)
