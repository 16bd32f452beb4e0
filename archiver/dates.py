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
import functools
import datetime as _dt
import re
from dataclasses import dataclass

from .prefilter import Gated, view

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


# --- dates found in text (extraction) ----------------------------------------
#
# ``find_dates`` locates calendar dates written in a line of text, in the forms
# scraped pages use: ISO (2023-11-05, 2023-11-05T14:20), day-first numeric
# (09.07.2025), and month names in English, German, French, Spanish, Italian,
# Portuguese, Dutch, Polish, Czech, Russian, Ukrainian and Belarusian
# ("July 9, 2025", "9 July 2025", "Jul 9", "12 апреля 2024", "9 lipca 2025").
# Which found date is a publication date is decided by the extraction rules,
# not here.

_MONTH_NAMES: dict[str, int] = {}


def _months(month_lists: str) -> None:
    for lang_line in month_lists.strip().splitlines():
        for i, group in enumerate(lang_line.split(";"), 1):
            for name in group.split(","):
                if name.strip():
                    _MONTH_NAMES[name.strip().lower()] = i


_months("""
january,jan;february,feb;march,mar;april,apr;may;june,jun;july,jul;august,aug;september,sep,sept;october,oct;november,nov;december,dec
januar,jänner;februar;märz,maerz,mär;april;mai;juni;juli;august;september;oktober,okt;november;dezember,dez
janvier,janv;février,fevrier,févr;mars;avril,avr;mai;juin;juillet,juil;août,aout;septembre;octobre;novembre;décembre,decembre,déc
enero,ene;febrero;marzo;abril,abr;mayo;junio;julio;agosto,ago;septiembre,setiembre;octubre;noviembre;diciembre,dic
gennaio,gen;febbraio;marzo;aprile;maggio,mag;giugno,giu;luglio,lug;agosto;settembre,set;ottobre,ott;novembre;dicembre
janeiro;fevereiro;março;abril;maio;junho;julho;agosto;setembro;outubro;novembro;dezembro
januari;februari;maart;april;mei;juni;juli;augustus;september;oktober;november;december
stycznia,styczeń,sty;lutego,luty,lut;marca,marzec;kwietnia,kwiecień,kwi;maja,maj;czerwca,czerwiec,cze;lipca,lipiec,lip;sierpnia,sierpień,sie;września,wrzesień,wrz;października,październik,paź;listopada,listopad,lis;grudnia,grudzień,gru
ledna,leden;února,únor;března,březen;dubna,duben;května,květen;června,červen;července,červenec;srpna,srpen;září;října,říjen;listopadu;prosince,prosinec
января,январь,янв;февраля,февраль,фев;марта,март,мар;апреля,апрель,апр;мая,май;июня,июнь,июн;июля,июль,июл;августа,август,авг;сентября,сентябрь,сен,сент;октября,октябрь,окт;ноября,ноябрь,ноя;декабря,декабрь,дек
січня,січень;лютого,лютий;березня,березень;квітня,квітень;травня,травень;червня,червень;липня,липень;серпня,серпень;вересня,вересень;жовтня,жовтень;листопада,листопад;грудня,грудень
студзеня,студзень;лютага,люты;сакавіка,сакавік;красавіка,красавік;мая,май;чэрвеня,чэрвень;ліпеня,ліпень;жніўня,жнівень;верасня,верасень;кастрычніка,кастрычнік;лістапада,лістапад;снежня,снежань
""")

_MON = "|".join(sorted((re.escape(m) for m in _MONTH_NAMES), key=len, reverse=True))
_YEAR = r"(?P<y>(?:19|20)\d{2})"
_FOUND = [
    # 2023-11-05, 2023-11-05T14:20, 2023-11-05 14:20:00
    ("iso", re.compile(r"(?<![\d.])(?P<y>(?:19|20)\d{2})-(?P<m>0[1-9]|1[0-2])-(?P<d>0[1-9]|[12]\d|3[01])(?:[T ](?P<h>[01]\d|2[0-3]):(?P<mi>[0-5]\d)(?::[0-5]\d)?)?(?![\d])")),
    # 09.07.2025 (day first, as in Europe); 09/07/2025 only when unambiguous
    ("dmy-dots", re.compile(r"(?<![\d.])(?P<d>0?[1-9]|[12]\d|3[01])\.(?P<m>0?[1-9]|1[0-2])\.(?P<y>(?:19|20)\d{2})(?![\d])")),
    ("slashes", re.compile(r"(?<![\d/])(?P<a>\d{1,2})/(?P<b>\d{1,2})/(?P<y>(?:19|20)\d{2})(?![\d/])")),
    # July 9, 2025 / Jul 9 / July 9th 2025
    ("mdy-name", re.compile(rf"(?<![\w])(?P<mn>{_MON})\.?\s+(?P<d>[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?(?![\d\w])(?:,?\s+{_YEAR}(?!\d))?", re.I)),
    # 9 July 2025 / 9. Juli 2025 / 9 de julio de 2025 / 12 апреля 2024 г.
    ("dmy-name", re.compile(rf"(?<![\w\d])(?P<d>[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th|\.|-?го|-?е)?\s+(?:de\s+)?(?P<mn>{_MON})\.?(?![\w])(?:,?\s+(?:de\s+|del\s+)?{_YEAR}(?!\d))?", re.I)),
    # July 2025 / lipiec 2025
    ("my-name", re.compile(rf"(?<![\w\d])(?P<mn>{_MON})\.?\s+{_YEAR}(?!\d)", re.I)),
]


@dataclass(frozen=True)
class FoundDate:
    start: int
    end: int
    year: int | None
    month: int
    day: int | None
    form: str  # which pattern matched ("iso", "dmy-dots", ...)

    def edtf(self, year_guess: int | None = None) -> str:
        """The EDTF value: yearless -> XXXX-MM-DD, or YYYY-MM-DD? with a guessed year."""
        if self.year is None:
            y, q = (f"{year_guess:04d}", "?") if year_guess else ("XXXX", "")
        else:
            y, q = f"{self.year:04d}", ""
        s = f"{y}-{self.month:02d}" + (f"-{self.day:02d}" if self.day else "")
        return s + q


_ASCII_DIGIT = re.compile("[0-9]")


def find_dates(line: str) -> list[FoundDate]:
    """Calendar dates written in one line, left to right, never overlapping; only real days."""
    if not _ASCII_DIGIT.search(line, 0, 5000):
        return []  # every form above needs an ASCII digit (a day or a year): most lines have none
    # Extraction asks about the same header lines three times (title, dates, bylines), and the
    # month-name patterns cost up to ~25 us a line: short lines' answers are remembered (bench:
    # find_dates ~0.037 -> ~0.02 ms per text, with the gated month names below).  A new list each
    # time: callers may keep or change theirs.
    return list(_remembered(line)) if len(line) <= 300 else _find(line)


@functools.lru_cache(maxsize=256)
def _remembered(line: str) -> tuple[FoundDate, ...]:
    return tuple(_find(line))


# The month-name forms, gated by the month names they need (prefilter.py): run plainly they try
# some 200 names at every position of the line (~1 us a character: ~25 us a header line).
_BY_NAME = {form: Gated(rx) for form, rx in _FOUND if form.endswith("-name")}


def _find(line: str) -> list[FoundDate]:
    found: list[FoundDate] = []
    taken: list[tuple[int, int]] = []
    head = line[:5000]
    v = view(head)
    for form, rx in _FOUND:
        gate = _BY_NAME.get(form)
        for m in (gate.finditer(head, v) if gate else rx.finditer(head)):
            if any(m.start() < b and a < m.end() for a, b in taken):
                continue
            g = m.groupdict()
            y = int(g["y"]) if g.get("y") else None
            if form == "slashes":
                a, b = int(g["a"]), int(g["b"])
                if a > 12 and 1 <= b <= 12:
                    d, mo = a, b
                elif b > 12 and 1 <= a <= 12:
                    d, mo = b, a
                else:
                    continue  # 07/09/2025: July 9 or 7 September? not ours to guess
            elif form in ("mdy-name", "dmy-name", "my-name"):
                mo = _MONTH_NAMES.get(g["mn"].lower())
                d = int(g["d"]) if g.get("d") else None
                if mo is None:
                    continue
            else:
                mo, d = int(g["m"]), int(g["d"])
            if d is not None:
                yy = y if y is not None else 2000  # 2000 is a leap year: 29 February stays possible
                if d > calendar.monthrange(yy, mo)[1]:
                    taken.append((m.start(), m.end()))  # "30 February 2024" is not February 2024 either
                    continue
            found.append(FoundDate(m.start(), m.end(), y, mo, d, form))
            taken.append((m.start(), m.end()))
    return sorted(found, key=lambda f: f.start)
