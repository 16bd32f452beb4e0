"""Progress bars: drawn on a terminal's stderr only, never in pipes or logs."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archiver import progress as prog


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture(autouse=True)
def _no_override(monkeypatch):
    monkeypatch.delenv("ARCHIVER_PROGRESS", raising=False)
    monkeypatch.setenv("TERM", "xterm")


def test_silent_when_not_a_terminal():
    out = io.StringIO()
    assert list(prog.progress(range(5), label="x", stream=out)) == [0, 1, 2, 3, 4]
    assert out.getvalue() == ""


def test_draws_on_a_terminal_and_erases_itself():
    out = Terminal()
    assert list(prog.progress(["a", "b", "c"], label="validate", stream=out)) == ["a", "b", "c"]
    text = out.getvalue()
    assert "validate [" in text and "3/3" in text
    assert text.endswith("\r\x1b[2K")  # the last thing written clears the line


def test_erases_the_bar_when_the_loop_fails():
    out = Terminal()
    with pytest.raises(ZeroDivisionError):
        for i in prog.progress([1, 0], stream=out):
            1 / i
    assert out.getvalue().endswith("\r\x1b[2K")


def test_environment_override(monkeypatch):
    monkeypatch.setenv("ARCHIVER_PROGRESS", "0")
    out = Terminal()
    list(prog.progress(range(3), stream=out))
    assert out.getvalue() == ""
    monkeypatch.setenv("ARCHIVER_PROGRESS", "1")
    out = io.StringIO()
    list(prog.progress(range(3), stream=out))
    assert "3/3" in out.getvalue()


def test_unknown_total_counts():
    out = Terminal()
    list(prog.progress((i for i in range(2)), label="n", stream=out))
    assert "n 0" in out.getvalue()


@given(st.integers(0, 500), st.integers(1, 500))
@settings(max_examples=100)
def test_render_has_fixed_width_and_never_overflows(done, total):
    line = prog.render(done, total, "x")
    bar = line[line.index("[") + 1 : line.index("]")]
    assert len(bar) == 28 and set(bar) <= {"#", "."}
    assert bar.count("#") == min(done, total) * 28 // total
