"""Dates: EDTF (Extended Date/Time Format, ISO 8601-2) values and their bounds.

We validate EDTF ourselves rather than depend on a parser: the subset a record
uses is small and a strict, explicit grammar gives better one-line errors.

Supported (level in brackets):
  2024, 2024-05, 2024-05-01                       [0] dates
  2024-05-01T12:30:00Z, ...T12:30:00+02:00        [0] date and time
  2024-05/2024-06, 2024/..,  ../2024, 2024/       [0-1] intervals, open or unknown ends
  2024?, 2024-05~, 2024-05-01%                    [1] uncertain / approximate
  201X, 2024-XX, 2024-05-XX                       [1] unspecified digits
  XXXX-07-09, 20X4-0X                             [2] unspecified digits anywhere
  2024-21 .. 2024-24                              [1] seasons

``bounds()`` gives the earliest and latest day a value can denote, so rules such
as "captured is not before published" can be checked without inventing
precision: a check fails only when every reading of the dates breaks the rule.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import re
from dataclasses import dataclass

UNKNOWN = "unknown"

_DATE = re.compile(
    r"^(?P<y>-?[0-9X]{4})(?:-(?P<m>[0-9X]{2})(?:-(?P<d>[0-9X]{2}))?)?(?P<q>[?~%])?$"
)
_DATETIME = re.compile(
    r"^(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})T(?P<h>[0-9]{2}):(?P<mi>[0-9]{2}):(?P<s>[0-9]{2})"
    r"(?P<tz>Z|[+-][0-9]{2}(?::?[0-9]{2})?)?$"
)


class EDTFError(ValueError):
    """An EDTF string that does not parse; the message says why, in one line."""


@dataclass(frozen=True)
class Bounds:
    lower: _dt.date | None  # None: open / unknown
    upper: _dt.date | None


def _digits_range(s: str, lo: int, hi: int) -> tuple[int, int]:
    """Smallest and largest integers an X-masked digit string can be, clipped to [lo, hi]."""
    a = int(s.replace("X", "0"))
    b = int(s.replace("X", "9"))
    return max(a, lo), min(b, hi)


def _check_date(s: str) -> Bounds:
    m = _DATE.match(s)
    if not m:
        raise EDTFError(f"{s!r} is not an EDTF date (expected forms like 2024, 2024-05, 2024-05-01, XXXX-07-09, 2024?)")
    y, mo, d = m.group("y"), m.group("m"), m.group("d")
    neg = y.startswith("-")
    y = y.lstrip("-")
    if mo is not None and "X" not in mo:
        mv = int(mo)
        if not (1 <= mv <= 12 or (21 <= mv <= 24 and d is None)):
            raise EDTFError(f"{s!r}: month {mo} is out of range")
    if d is not None and "X" not in d:
        dv = int(d)
        if not 1 <= dv <= 31:
            raise EDTFError(f"{s!r}: day {d} is out of range")
        if mo is not None and "X" not in mo and "X" not in y and not neg:
            if dv > calendar.monthrange(max(int(y), 1), int(mo))[1]:
                raise EDTFError(f"{s!r}: day {d} does not exist in that month")
    if neg or y == "0000" and "X" not in y:
        return Bounds(None, None) if neg else Bounds(_dt.date(1, 1, 1), _dt.date(1, 12, 31))
    ylo, yhi = _digits_range(y, 1, 9999)
    if mo is None:
        return Bounds(_dt.date(ylo, 1, 1), _dt.date(yhi, 12, 31))
    mv_lo, mv_hi = _digits_range(mo, 1, 12) if int(mo.replace("X", "0")) <= 12 else (1, 12)
    if d is None:
        last = calendar.monthrange(yhi, mv_hi)[1]
        return Bounds(_dt.date(ylo, mv_lo, 1), _dt.date(yhi, mv_hi, last))
    dlo, dhi = _digits_range(d, 1, 31)
    dlo = min(dlo, calendar.monthrange(ylo, mv_lo)[1])
    dhi = min(dhi, calendar.monthrange(yhi, mv_hi)[1])
    return Bounds(_dt.date(ylo, mv_lo, dlo), _dt.date(yhi, mv_hi, dhi))


def _check_datetime(s: str) -> Bounds:
    m = _DATETIME.match(s)
    if not m:
        raise EDTFError(f"{s!r} is not an EDTF date and time")
    try:
        dt = _dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError as e:
        raise EDTFError(f"{s!r}: {e}") from None
    return Bounds(dt.date(), dt.date())


def bounds(value: str) -> Bounds:
    """Parse an EDTF string and return the days it can denote; raise EDTFError if invalid."""
    if not isinstance(value, str) or not value or value != value.strip():
        raise EDTFError(f"{value!r} is not an EDTF string")
    if "/" in value:
        start, _, end = value.partition("/")
        if "/" in end:
            raise EDTFError(f"{value!r}: an interval has exactly one '/'")
        if start in ("", "..") and end in ("", ".."):
            raise EDTFError(f"{value!r}: an interval needs at least one known end")
        lo = None if start in ("", "..") else _check_date(start).lower
        hi = None if end in ("", "..") else _check_date(end).upper
        if lo and hi and lo > hi:
            raise EDTFError(f"{value!r}: the interval ends before it starts")
        return Bounds(lo, hi)
    if "T" in value:
        return _check_datetime(value)
    return _check_date(value)


def is_edtf(value: str) -> bool:
    try:
        bounds(value)
        return True
    except EDTFError:
        return False


def parse_timestamp(value: str) -> _dt.datetime:
    """A full timestamp with a time zone (the capture date).  Raise EDTFError otherwise."""
    m = _DATETIME.match(value) if isinstance(value, str) else None
    if not m or not m.group("tz"):
        raise EDTFError(f"{value!r} is not a full timestamp with a time zone (e.g. 2024-05-01T12:30:00Z)")
    try:
        return _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as e:
        raise EDTFError(f"{value!r}: {e}") from None


def is_uncertain(value: str) -> bool:
    """True when the value carries EDTF uncertainty or approximation."""
    return any(q in value for q in "?~%")
