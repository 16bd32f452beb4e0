"""Shared test fixtures.

``shared`` is ../shared beside the checkout (seeds, conformance suite, official
XSDs).  When it is absent, tests that need it skip with a clear reason, except
under ARCHIVER_REQUIRE_SHARED=1 (as .ci/run sets), where they fail instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# CI runs the same examples every time (a landing must not hinge on a lucky draw);
# developers' runs stay random so new counterexamples keep being found.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("ARCHIVER_SHARED", ROOT.parent / "shared"))


def need_shared(*parts: str) -> Path:
    """Return SHARED/parts, or skip (fail under ARCHIVER_REQUIRE_SHARED=1) when missing."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        reason = f"needs {path} (the shared folder beside the checkout)"
        if os.environ.get("ARCHIVER_REQUIRE_SHARED") == "1":
            pytest.fail(f"ARCHIVER_REQUIRE_SHARED=1 but {reason} is missing")
        pytest.skip(reason)
    return path


@pytest.fixture
def shared() -> Path:
    return need_shared()


@pytest.fixture
def seeds_dir() -> Path:
    return need_shared("corpus", "seeds")


@pytest.fixture
def xsd_dir() -> Path:
    return need_shared("xsd")


@pytest.fixture
def conformance_dir() -> Path:
    return need_shared("bagit-conformance")


@pytest.fixture
def root() -> Path:
    return ROOT
