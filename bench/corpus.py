"""A deterministic synthetic corpus shaped like scraped articles.

Same seed => same bytes, so runs on different machines measure the same work.
Texts are 4-20 KB of UTF-8 with non-ASCII (curly quotes, dashes, accented and
Cyrillic names); about a third carry site boilerplate ("top of page",
"6 min read", "bottom of page") as real scrapes do.  The large file is
pseudo-random bytes (hash speed does not depend on content) generated from the
seed in 1 MiB blocks, so it costs no memory to write.
"""

from __future__ import annotations

import hashlib
import os
import random
from pathlib import Path

WORDS = (
    "the of and to in that is for on with as was it by at from this be are have has an not "
    "government minister election reform society sanctions parliament opposition economy war "
    "president regime interview article policy country people years exiles repression press "
    "freedom media outlet source report statement international support public opinion "
    "Lukashenko Tsikhanouskaya Latushko Minsk Vilnius Warsaw Brussels Kyiv Kraków Zürich "
    "Łukasz Hanna Paŭliuk José Müller François Đorđe naïve café résumé coöperation "
    "Беларусь свобода выборы Мінск"
).split()
OUTLETS = ("Reform.news", "Descifrando la Guerra", "NAM-media", "Gazeta Wyborcza", "Le Monde", "Nasha Niva")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December")


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 28))]
    s = " ".join(words)
    if rng.random() < 0.2:
        s = f"“{s}”"
    if rng.random() < 0.15:
        s = s.replace(" ", " — ", 1)
    return s[0].upper() + s[1:] + rng.choice(".....?!")


def article(rng: random.Random, index: int) -> str:
    target = rng.randint(4 * 1024, 20 * 1024)
    boilerplate = rng.random() < 0.35
    outlet = rng.choice(OUTLETS)
    title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 12))).capitalize()
    lines = []
    if boilerplate:
        lines += ["top of page", ""]
    lines += [title, "", f"By {rng.choice(WORDS).capitalize()} {rng.choice(WORDS).capitalize()}"]
    lines.append(f"{rng.randint(1, 28)} {rng.choice(MONTHS)} {rng.randint(2015, 2025)}")
    if boilerplate:
        lines.append(f"{rng.randint(2, 15)} min read")
    lines += ["", f"Original article in {outlet}", ""]
    body = "\n".join(lines)
    while len(body.encode()) < target:
        para = " ".join(_sentence(rng) for _ in range(rng.randint(2, 7)))
        if rng.random() < 0.25:
            para = "— " + para
        body += "\n" + para + "\n"
    if boilerplate:
        body += "\nShare this article\n\nbottom of page\n"
    return body


def write_texts(folder: Path, count: int, seed: int = 8493) -> list[Path]:
    """Write ``count`` articles named article-00001.txt ...; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    paths = []
    for i in range(1, count + 1):
        p = folder / f"article-{i:05d}.txt"
        p.write_text(article(rng, i), encoding="utf-8", newline="\n")
        paths.append(p)
    return paths


def write_large(path: Path, size: int, seed: int = 8493) -> Path:
    """Write ``size`` pseudo-random bytes, deterministic for the seed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    block = random.Random(seed).randbytes(1 << 20)
    with open(path, "wb") as f:
        written = 0
        i = 0
        while written < size:
            # Vary each block cheaply so the file is not periodic.
            chunk = hashlib.sha256(i.to_bytes(8, "big")).digest() + block[32:]
            chunk = chunk[: size - written]
            f.write(chunk)
            written += len(chunk)
            i += 1
    return path


if __name__ == "__main__":  # a quick look: python bench/corpus.py OUTDIR [N]
    import sys

    out = Path(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    for p in write_texts(out, n):
        print(p, os.path.getsize(p))
