"""Identity: what a preserved text is called.

The identifier is derived from content (sha256 of the original's bytes), so the
same text always gets the same id and a changed text a new one; nothing random
is ever part of a name.  The bag name adds a readable prefix
(``{date}_{outlet}_{title}_{id[:12]}``) made of ASCII slugs of bounded length,
safe on every file system (no reserved characters, no case-only clashes that
matter: the id suffix keeps names unique).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from .record import UNKNOWN, Record

ID_CHARS = 12  # of the sha256 hex in a bag name: 48 bits, collisions need ~16M texts
TITLE_CHARS = 40
OUTLET_CHARS = 24
DATE_CHARS = 21  # "2024-05-01--2024-06-30"

_NON_SLUG = re.compile(r"[^a-z0-9]+")


def content_id(data: bytes) -> str:
    """The record id: sha256 of the original's exact bytes."""
    return hashlib.sha256(data).hexdigest()


def external_identifier(record_id: str) -> str:
    return f"sha256:{record_id}"


def slug(text: str, limit: int, empty: str = "unknown") -> str:
    """ASCII, lower-case, '-'-joined words, cut at a word boundary within ``limit``."""
    # NFKD splits accents off letters ("Kamińska" -> "kaminska"); other scripts drop out.
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    s = _NON_SLUG.sub("-", ascii_text).strip("-")
    if len(s) > limit:
        cut = s[: limit + 1]
        s = cut[: cut.rfind("-")] if "-" in cut[1:] else s[:limit]
        s = s.strip("-")
    return s or empty


def date_slug(edtf: str) -> str:
    """A published EDTF value as a name part: its digits and X's, or 'undated'."""
    if edtf == UNKNOWN:
        return "undated"
    s = re.sub(r"[^0-9X]+", "-", edtf).strip("-")[:DATE_CHARS].strip("-")
    return s or "undated"


def bag_name(record: Record) -> str:
    """``{date}_{outlet-slug}_{title-slug}_{id[:12]}``; for a listing item, ``-item{n}`` before the id."""
    outlet = record.source.outlet.name.value
    if outlet == UNKNOWN:
        outlet = record.source.outlet.domain.value
    title = record.title.value
    parts = [
        date_slug(record.dates.published.value),
        slug(outlet, OUTLET_CHARS),
        slug(title, TITLE_CHARS, empty="untitled") if title != UNKNOWN else "untitled",
    ]
    if record.listing is not None:
        parts[-1] += f"-item{record.listing.item}"
    return "_".join(parts) + "_" + record.id[:ID_CHARS]


# Characters that are unsafe in a file name on some file system (Windows, macOS, URLs in manifests).
_UNPORTABLE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*%]')
# Bag name (<= ~100) + "data/objects/manualNormalization/access/" (40) + this stays under
# Windows' 260-character path limit with room for the folder the bag is unpacked in.
MAX_NAME_BYTES = 100


def payload_name(filename: str) -> str:
    """The name under data/objects/ for an original: its own name when portable, else a slug.

    The original name is kept in the record (``original.filename``) either way.
    """
    return _portable_stem(_payload_name(filename))


def _payload_name(filename: str) -> str:
    if (
        filename
        and not _UNPORTABLE.search(filename)
        and filename not in (".", "..")
        and not filename.startswith((".", "-"))
        and not filename.endswith(".")
        # any whitespace at either end (U+00A0 too): tools strip it when they read a manifest line
        # (bagit-python does), and then the name they look for is not the file's
        and not filename[0].isspace() and not filename[-1].isspace()
        and len(filename.encode("utf-8", "surrogateescape")) <= MAX_NAME_BYTES
        # Printable ASCII is NFC and has none of the categories below: the per-character look-up
        # is skipped for it (most names; payload_name ~9 -> ~3 us).
        and (filename.isascii() and filename.isprintable() or (
            filename == unicodedata.normalize("NFC", filename)
            # control, format, line/paragraph separators (U+0085, U+2028 break manifest lines), surrogates, unassigned
            and not any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn") for c in filename)))
    ):
        return filename
    stem, dot, ext = filename.rpartition(".")
    if not dot:
        stem, ext = filename, "txt"
    ext = slug(ext, 8, empty="txt")
    return f"{slug(stem, 80, empty='text')}.{ext}"  # <= 89 characters


# Names Windows refuses whatever the extension ("con.txt" is the console).
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}


def _portable_stem(name: str) -> str:
    stem = name.split(".", 1)[0]
    return f"text-{name}" if stem.lower().rstrip(" ") in _RESERVED else name
