"""Build ``data/places/everyday_words.txt``: everyday Swedish and English words that are, or
are one typo away from, a place name in the index ("bära" ~ Bara, "sälen" ~ Sälen,
"första" ~ Farsta).

``bot.places`` asks for place evidence around such a word (a preposition, a capital letter,
a question about an area, or the word alone) and never takes it for a typo of a place. The
words come from the frequency lists of ``wordfreq`` (pinned below; its Swedish and English
"small" lists, every word at least as frequent as Zipf 3, about once per million words). The
wheel is fetched with ``pip download`` into a temporary directory at build time and read as
data; it is not a dependency of the product, which only reads the committed text file.

Names the index treats as well known (municipalities, the Stockholm list, the hand-made
districts, the police's listed areas) are left out even when they are frequent ("göteborg",
"rinkeby" are frequent because they are places); the few of them that are also everyday
words ("mark", "vara", "söder") are listed by hand in ``bot.places``.

Run it after ``bot.places_build`` (it reads the place files in ``data/places``); running it
twice on the same input gives a byte-identical file.

Usage: ``python -m bot.places_words_build [--source wordfreq-3.1.1-py3-none-any.whl] data/places``
"""

from __future__ import annotations

import argparse
import gzip
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import msgpack

from bot.places import PlaceIndex, _fold

WORDFREQ = "wordfreq==3.1.1"
LISTS = ("wordfreq/data/small_sv.msgpack.gz", "wordfreq/data/small_en.msgpack.gz")
OUTPUT = "everyday_words.txt"
# Zipf 3: once per million words; the "small" lists stop there.
MIN_ZIPF = 3.0


def fetch_wheel(workdir: Path) -> Path:
    """Download the pinned wordfreq wheel (no dependencies, nothing installed)."""
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
         "--only-binary=:all:", WORDFREQ, "-d", str(workdir)],
        check=True,
    )
    return next(workdir.glob("wordfreq-*.whl"))


def frequent_words(wheel: Path) -> Iterable[str]:
    """Words of the Swedish and English lists with Zipf >= MIN_ZIPF.

    The lists are wordfreq's "cBpack": a header, then one bucket of words per centibel of
    frequency, most frequent first (bucket i holds words of Zipf 9 - i/100).
    """
    with zipfile.ZipFile(wheel) as archive:
        for member in LISTS:
            header, *buckets = msgpack.unpackb(gzip.decompress(archive.read(member)), raw=False)
            if header.get("format") != "cB":
                raise ValueError(f"{member}: unknown format {header!r}")
            for i, bucket in enumerate(buckets):
                if 9 - i / 100 < MIN_ZIPF:
                    break
                yield from bucket


def build(wheel: Path, out: Path) -> int:
    """Write the everyday words that meet a place name in ``out``; return how many."""
    index = PlaceIndex.load(out, everyday_words=False)
    typed: set[str] = set()
    for word in frequent_words(wheel):
        if word.isalpha() and word == word.lower():
            typed.update((word, _fold(word)))  # also as typed without diacritics ("halla")
    words = sorted(w for w in typed if index.meets_place_name(w))
    (out / OUTPUT).write_text("".join(f"{w}\n" for w in words), encoding="utf-8")
    return len(words)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m bot.places_words_build")
    parser.add_argument("out", type=Path, help="data/places (built by bot.places_build)")
    parser.add_argument("--source", type=Path, help=f"a wheel of {WORDFREQ}; default: pip download")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.source or fetch_wheel(Path(tmp))
        count = build(wheel, args.out)
    print(f"{OUTPUT}: {count} words")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
