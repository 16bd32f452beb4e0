"""The collection config: ``archiver.toml`` in the working directory.

It holds what is true of a whole collection rather than of one text: who
packages it (organization, contact), the default rights statement, the fixity
algorithms and where texts come in and bags go out.  A missing file is fine:
every setting then keeps its neutral default (rights stays "unknown").  Every
setting is also a keyword of ``archiver.package.package`` so the library never
needs the file.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

from . import layout
from .findings import one_line
from .hashing import ALGORITHMS

FILENAME = "archiver.toml"
MAX_BYTES = 1 << 20  # a config is a few lines; refuse anything absurd before parsing


class ConfigError(ValueError):
    """The config file is unreadable or wrong; the message names the file and the key."""


@dataclass(frozen=True)
class Config:
    organization: str | None = None
    contact_name: str | None = None
    contact_email: str | None = None
    rights: str | None = None  # a rightsstatements.org URI, applied as a default
    algorithms: tuple[str, ...] = layout.DEFAULT_ALGORITHMS
    incoming: str = "incoming"
    bags: str = "bags"
    catalog: str | None = None  # the SQLite catalog (default: BAGS/.archiver-catalog.sqlite)
    report: str = "report"  # where `archiver report` writes the finding aid
    source: str = FILENAME  # the file the settings came from (the Origin of defaults)
    loaded: bool = False  # whether a file was actually read

    def __post_init__(self) -> None:
        # bag-info.txt carries these on one line with single spaces (bag.tag_value), the METS as
        # given: "  Example  Library" would make our own bags disagree with themselves (METS-E509).
        for name in _ONE_LINE:
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, " ".join(value.split()) or None)

    def with_overrides(self, **kw) -> "Config":
        """This config with every non-None keyword replacing the file's value."""
        given = {k: v for k, v in kw.items() if v is not None}
        if "algorithms" in given:
            given["algorithms"] = check_algorithms(given["algorithms"], "algorithms")
        return replace(self, **given)


_ONE_LINE = ("organization", "contact_name", "contact_email")
_KEYS = {
    "organization": str,
    "contact_name": str,
    "contact_email": str,
    "rights": str,
    "algorithms": list,
    "incoming": str,
    "bags": str,
    "catalog": str,
    "report": str,
}


def check_algorithms(value, where: str) -> tuple[str, ...]:
    algs = tuple(value)
    if not algs:
        raise ConfigError(f"{where}: at least one algorithm is needed")
    for a in algs:
        if a not in ALGORITHMS:
            raise ConfigError(f"{where}: unknown algorithm {one_line(str(a))!r} (one of {', '.join(ALGORITHMS)})")
    if len(set(algs)) != len(algs):
        raise ConfigError(f"{where}: an algorithm is listed twice")
    # sha512 and sha256 are what RFC 8493 §2.4 recommends; md5/sha1 are only read, never the only ones.
    if not set(algs) & {"sha256", "sha384", "sha512"}:
        raise ConfigError(f"{where}: include sha256 or sha512 (md5 and sha1 alone are too weak)")
    return algs


def parse(text: str, source: str = FILENAME) -> Config:
    """Parse config text (pure).  Unknown keys are errors naming the key."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{source}: not valid TOML: {one_line(str(e))}") from None
    kw: dict = {}
    for key, value in data.items():
        if key not in _KEYS:
            raise ConfigError(f"{source}: {one_line(key)}: unknown setting (known: {', '.join(_KEYS)})")
        if not isinstance(value, _KEYS[key]):
            raise ConfigError(f"{source}: {key}: expected a {_KEYS[key].__name__}")
        if isinstance(value, str) and not value.strip():
            raise ConfigError(f"{source}: {key}: must not be empty (leave the setting out instead)")
        kw[key] = value
    if "algorithms" in kw:
        kw["algorithms"] = check_algorithms(kw["algorithms"], f"{source}: algorithms")
    if "rights" in kw:
        # Checked by the record's own rule, so the message is the same everywhere.
        from .record import _rights

        try:
            _rights(kw["rights"])
        except ValueError as e:
            raise ConfigError(f"{source}: rights: {e}") from None
    return Config(**kw, source=source, loaded=True)


def load(path: str | os.PathLike | None = None) -> Config:
    """Read ``archiver.toml`` (default: in the working directory); missing is fine."""
    p = Path(path) if path is not None else Path(FILENAME)
    try:
        from .hashing import open_regular

        fd = open_regular(p)
    except FileNotFoundError:
        if path is not None:
            raise ConfigError(f"{p}: no such config file") from None
        return Config()
    except OSError as e:
        raise ConfigError(f"{p}: cannot read: {e.strerror or e}") from None
    with os.fdopen(fd, "rb") as f:
        data = f.read(MAX_BYTES + 1)  # bounded, as in files.read_regular; the open above gives the messages
    if len(data) > MAX_BYTES:
        raise ConfigError(f"{p}: larger than {MAX_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: not UTF-8") from None
    # The file name, not its path: it is recorded as the Origin of defaults, and
    # bags must not depend on where the collection happens to live.
    return parse(text, source=p.name)


__all__ = ["Config", "ConfigError", "FILENAME", "load", "parse"]
