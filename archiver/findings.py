"""Findings: what a check says about a bag, an archive or an input file.

Every finding carries a stable code tied to the rule it enforces, a severity,
the file it is about and a one-line message.  Codes are registered once, in
``RULES``, with the rule they enforce; ``docs/validation.md`` is generated from
this table (a test keeps it current), so the code, its meaning and its
documentation have one source of truth.

Code shape: ``AREA-SNNN``: AREA names the rule set, S is E (error) or W
(warning) or I (information), NNN is a number never reused.

Areas:
  BAG     RFC 8493 (BagIt 1.0) and the older BagIt drafts 0.93-0.97
  SAFE    hostile-input defences (paths, special files, sizes, XML)
  METS    our own METS rules (schemas/mets-rules.json)
  XSD     the official METS/MODS/PREMIS schemas
  REC     our metadata rules (the record)
  PROF    BagIt profiles (bagit-profiles 1.4 and our extension)
  ARC     serialized archives and deliveries
  IN      input files handed to ``archiver package``
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Rule:
    code: str
    severity: Severity
    reference: str  # the clause enforced, e.g. "RFC 8493 §2.1.1"
    summary: str


RULES: dict[str, Rule] = {}


def rule(code: str, reference: str, summary: str) -> Rule:
    """Register a finding code.  Modules call this at import time."""
    sev = {"E": Severity.ERROR, "W": Severity.WARNING, "I": Severity.INFO}[code.split("-")[1][0]]
    existing = RULES.get(code)
    if existing is not None:
        if (existing.reference, existing.summary) != (reference, summary):
            raise ValueError(f"finding code {code} registered twice with different meanings")
        return existing
    r = Rule(code, sev, reference, summary)
    RULES[code] = r
    return r


@dataclass(frozen=True)
class Finding:
    code: str
    path: str  # the file the finding is about (relative to the bag, or as given)
    message: str
    field: str | None = None  # a metadata field path, when the finding is about one
    severity: Severity = Severity.ERROR

    @classmethod
    def of(cls, code: str, path: str, message: str, field: str | None = None) -> "Finding":
        r = RULES.get(code)
        if r is None:
            raise KeyError(f"unregistered finding code {code}")
        return cls(code=code, path=path, message=message, field=field, severity=r.severity)

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def line(self) -> str:
        """The one-line form: ``CODE severity path: [field: ]message``."""
        where = f"{self.path}: " if self.path else ""
        fld = f"{self.field}: " if self.field else ""
        return f"{self.code} {self.severity.value} {where}{fld}{self.message}"

    def to_json(self) -> dict:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "path": self.path,
            "field": self.field,
            "message": self.message,
        }


def has_errors(findings) -> bool:
    return any(f.is_error for f in findings)


def one_line(text: str, limit: int = 300) -> str:
    """Make untrusted text safe for a one-line message: no newlines or control characters."""
    # Most text is printable already: then the per-character rewrite below would return it unchanged.
    cleaned = str(text) if text.isprintable() else "".join(ch if ch.isprintable() else "\\x%02x" % ord(ch) if ord(ch) < 256 else "?" for ch in text)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"
