"""EDTF validation and bounds (archiver/dates.py)."""

import datetime as dt

import pytest
from hypothesis import given, strategies as st

from archiver import dates

VALID = [
    "2024", "2024-05", "2024-05-01", "2024?", "2024-05~", "2024-05-01%", "201X", "20XX",
    "2024-XX", "2024-05-XX", "XXXX-07-09", "XXXX", "2024-21", "2024-24", "2024-05-01T12:30:00Z",
    "2024-05-01T12:30:00+02:00", "2024/2025", "2024-05/..", "../2024", "2024/", "/2024", "2024-02-29",
    "2025-07-09?",
]
INVALID = [
    "", " 2024", "2024 ", "July 9", "2024-13", "2024-00", "2024-02-30", "2023-02-29", "2024-21-01",
    "24", "2024-5-1", "2024/2023", "../..", "2024/2025/2026", "2024-05-01T25:00:00Z", "2024??", "unknown",
    "2024-05-32",
]


@pytest.mark.parametrize("value", VALID)
def test_valid(value):
    assert dates.is_edtf(value)


@pytest.mark.parametrize("value", INVALID)
def test_invalid(value):
    assert not dates.is_edtf(value)
    with pytest.raises(dates.EDTFError):
        dates.bounds(value)


def test_bounds_of_unspecified_and_partial():
    assert dates.bounds("2024-05") == dates.Bounds(dt.date(2024, 5, 1), dt.date(2024, 5, 31))
    assert dates.bounds("201X") == dates.Bounds(dt.date(2010, 1, 1), dt.date(2019, 12, 31))
    b = dates.bounds("XXXX-07-09")
    assert b.lower.month == 7 and b.lower.day == 9 and b.lower.year == 1
    assert dates.bounds("2024/..") == dates.Bounds(dt.date(2024, 1, 1), None)
    assert dates.bounds("2024-02-XX").upper == dt.date(2024, 2, 29)


def test_timestamp_needs_time_zone():
    assert dates.parse_timestamp("2024-05-01T12:30:00Z").tzinfo is not None
    for bad in ["2024-05-01T12:30:00", "2024-05-01", "2024-05-01 12:30:00Z"]:
        with pytest.raises(dates.EDTFError):
            dates.parse_timestamp(bad)


@given(st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)))
def test_every_calendar_day_is_edtf_and_bounds_to_itself(day):
    s = day.isoformat()
    assert dates.bounds(s) == dates.Bounds(day, day)
    assert dates.bounds(s[:7]).lower <= day <= dates.bounds(s[:7]).upper
    assert dates.bounds(s[:4] + "?").lower <= day


_NO_ASCII_DIGIT = st.lists(st.one_of(st.sampled_from(sorted(dates._MONTH_NAMES)), st.sampled_from([" ", ", ", ". ", "/", "-", "de ", "г.", "th", "٣", "１", "۲۰۲۴", "²"]),
                                     st.text(alphabet=st.characters(blacklist_characters="0123456789"), max_size=4)), max_size=12).map("".join)


@given(_NO_ASCII_DIGIT)
def test_no_date_form_matches_without_an_ascii_digit(s):
    # find_dates returns early on such lines: each of its patterns must agree.
    assert all(rx.search(s) is None for _, rx in dates._FOUND)
    assert dates.find_dates(s) == []



def test_find_dates_remembers_short_lines_and_answers_as_the_plain_rule():
    # Short lines' dates are remembered (extraction asks about header lines three times); the
    # answer is the plain rule's, and a fresh list each time.
    for line in ["12 April 2024", "Posted on July 9, 2025 at 10:00", "09.07.2025 | 2023-11-05T14:20", "no digits here",
                 "30 February 2024 and 29 February 2024", "x" * 400 + " 9 lipca 2025"]:
        first, again = dates.find_dates(line), dates.find_dates(line)
        assert first == again == dates._find(line) if dates._ASCII_DIGIT.search(line, 0, 5000) else first == again == []
        assert first is not again
        first.clear()
        assert dates.find_dates(line) == again
