"""Manifest parsing: the shortcut for plain manifests gives exactly what the full parser gives."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archiver import tagfiles

SHA256 = "0123456789abcdef" * 4

paths = st.one_of(
    st.sampled_from(["data/a.txt", "data/b c.txt", "data/x/y.txt", "bagit.txt", "data/%41.txt", "data/./a", "./data/a",
                     "*data/a", "data/../a", "data//a", "/data/a", "data/a\\b", "data/é", "data/a ", "data/\x0bq", "data/a%"]),
    st.text(st.sampled_from("da/t.%* \\é"), min_size=1, max_size=8).map(lambda s: "data/" + s),
)
digests = st.one_of(st.just(SHA256), st.just(SHA256.upper()), st.just(SHA256[:-1]), st.just("f" * 128), st.just("zz"))
lines = st.one_of(
    st.builds(lambda d, sep, p: f"{d}{sep}{p}", digests, st.sampled_from([" ", "  ", "\t", " \t"]), paths),
    st.sampled_from(["", "   ", SHA256, "x" * 10]),
)
ends = st.sampled_from(["\n", "\r\n", "\r"])


@given(st.lists(st.tuples(lines, ends), max_size=6), st.booleans(), st.booleans(), st.sampled_from([(1, 0), (0, 97)]))
def test_the_shortcut_is_the_full_parser(items, last_newline, payload, version):
    text = "".join(line + end for line, end in items)
    if items and not last_newline:
        text = text[: -len(items[-1][1])]
    fast_findings: list = []
    full_findings: list = []
    fast = tagfiles.parse_manifest(text, "manifest-sha256.txt", "sha256", version, payload=payload, findings=fast_findings)
    full = tagfiles._parse_manifest(text, "manifest-sha256.txt", "sha256", version, payload=payload, findings=full_findings)
    assert (fast, fast_findings) == (full, full_findings)


def test_a_manifest_we_write_takes_the_shortcut():
    text = f"{SHA256}  data/objects/a text.txt\n{SHA256}  data/metadata/mets.xml\n"
    got = tagfiles._plain_manifest(text, "sha256", True)
    assert got == [tagfiles.Line("data/objects/a text.txt", SHA256, 1), tagfiles.Line("data/metadata/mets.xml", SHA256, 2)]
    assert tagfiles._plain_manifest(text.replace("\n", "\r\n"), "sha256", True) is None  # not plain: the full parser
    assert tagfiles._plain_manifest(text + text, "sha256", True) is None  # a path twice: reported by the full parser


GOOD = f"{SHA256}  data/a.txt\n"


@pytest.mark.parametrize("odd", [
    f"{SHA256}  bagit.txt\n",  # a payload manifest listing a tag file
    f"{SHA256}  data/{'x' * tagfiles.MAX_LINE}\n",  # a line past the cap
    f"{SHA256} *data/b.txt\n", f"{SHA256}  data/%62.txt\n", f"{SHA256}  ./data/b.txt\n", f"{SHA256}  data/../b\n",
    f"{SHA256.upper()}  data/b.txt\n", f"{SHA256[:-2]}  data/b.txt\n", GOOD, "\n", f"{SHA256}  data/b.txt\r\n",
    f"{SHA256}  data/b.txt",  # no line end
])
@pytest.mark.parametrize("payload", [True, False])
def test_anything_to_report_goes_to_the_full_parser(odd, payload):
    text = GOOD + odd
    fast_findings: list = []
    full_findings: list = []
    fast = tagfiles.parse_manifest(text, "m", "sha256", (1, 0), payload=payload, findings=fast_findings)
    full = tagfiles._parse_manifest(text, "m", "sha256", (1, 0), payload=payload, findings=full_findings)
    assert (fast, fast_findings) == (full, full_findings)
    if odd != f"{SHA256}  bagit.txt\n" or payload:
        assert tagfiles._plain_manifest(text, "sha256", payload) is None
