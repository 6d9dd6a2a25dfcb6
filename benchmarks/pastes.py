"""How the analysis stands up to what a paste does to a log: every real case that is right as
published, given again as a web page, a mail, a word processor or a Windows editor would
hand it on, must stay right.

Each transformation below is applied to every file of every case of the real corpora
(``tests/corpus/real``, ``tests/corpus/real-linux``), the files written under a generic name
(``paste0.txt``) where ``rename`` says so, and the case scored as ``benchmarks/real.py`` does.
The table gives, per transformation, how many of the cases right as published are still
right, and names the ones that are not. ``tests/corpus/test_pastes.py`` holds the suite to
the same figures.

Usage::

    .venv/bin/python benchmarks/pastes.py [--only NAME,NAME] [--jobs N] [CORPUS ...]
"""

from __future__ import annotations

import argparse
import html
import re
import shutil
import sys
import tempfile
import textwrap
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import real  # noqa: E402

ROOT = Path(__file__).parents[1]
CORPORA = (ROOT / "tests/corpus/real", ROOT / "tests/corpus/real-linux")


def _each_line(f: Callable[[str], str]) -> Callable[[str], str]:
    return lambda text: "".join(f(line) for line in text.splitlines(True))


def _wrapped(line: str, width: int = 76) -> str:
    """A mail client's wrap: at blanks, a word longer than the width on a line of its own."""
    body = line.rstrip("\r\n")
    end = line[len(body) :]
    if len(body) <= width:
        return line
    parts = textwrap.wrap(body, width, break_long_words=False, break_on_hyphens=False)
    return "\n".join(parts) + end


def _trailing(line: str) -> str:
    body = line.rstrip("\n")
    return body + "   " + line[len(body) :]


TRANSFORMS: dict[str, Callable[[str], str] | None] = {
    "crlf": lambda s: s.replace("\r\n", "\n").replace("\n", "\r\n"),  # a Windows editor
    "bom": lambda s: "\ufeff" + s,  # Notepad's UTF-8
    "html": lambda s: html.escape(s, quote=False),  # a page's source
    "nbsp": lambda s: s.replace("  ", "\u00a0 "),  # copied from a rendered page
    "smart-quotes": lambda s: s.replace("'", "\u2019"),  # a word processor
    "indent": _each_line(lambda line: "    " + line),  # Markdown's code block
    "quote": _each_line(lambda line: "> " + line),  # a mail's quote
    "tabs": _each_line(lambda line: re.sub(r"^ {2,}", "\t", line)),
    "trailing": _each_line(_trailing),
    "double-spaced": _each_line(lambda line: line + "\n" if line.endswith("\n") else line),
    "numbered": lambda s: "".join(
        f"{i:3d}. {line}" for i, line in enumerate(s.splitlines(True), 1)
    ),
    "wrapped-76": _each_line(_wrapped),  # a mail client
    "utf-16": lambda s: s,  # PowerShell's ">": encoded below
    "rename": None,  # the same text under a generic name: only its content tells its kind
}
ENCODINGS = {"utf-16": "utf-16"}
"""The transformations that save the text in another encoding than UTF-8."""


def pasted(folder: Path, into: Path, name: str) -> Path:
    """A copy of the case ``folder`` under ``into``, its files passed through ``name``."""
    transform = TRANSFORMS[name]
    dst = into / folder.name
    dst.mkdir(parents=True)
    shutil.copy(folder / "case.json", dst / "case.json")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.name != "case.json")
    for i, f in enumerate(files):
        text = f.read_bytes().decode("utf-8", "surrogateescape")
        target = dst / (f"paste{i}.txt" if transform is None else f.name)
        out = text if transform is None else transform(text)
        codec = ENCODINGS.get(name, "utf-8")
        errors = "surrogateescape" if codec == "utf-8" else "replace"
        target.write_bytes(out.encode(codec, errors))
    return dst


def _score(task: tuple[str, str]) -> tuple[str, str, bool, str]:
    case, name = task
    folder = Path(case)
    with tempfile.TemporaryDirectory(prefix="lostbeat-paste-") as tmp:
        got = real.run_case(pasted(folder, Path(tmp), name))
    return case, name, got.right, " | ".join(real.misses([got]))


def score(
    corpora: Sequence[Path], names: Sequence[str], *, jobs: int = 1
) -> tuple[list[Path], dict[str, list[tuple[str, str]]]]:
    """The cases right as published, and per transformation the ones it made wrong (name,
    what was wrong)."""
    cases = [f for c in corpora for f in sorted(c.iterdir()) if (f / "case.json").is_file()]
    right = [f for f in cases if real.run_case(f).right]
    tasks = [(str(f), n) for n in names for f in right]
    broken: dict[str, list[tuple[str, str]]] = {n: [] for n in names}
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as pool:
            results = list(pool.map(_score, tasks, chunksize=8))
    else:
        results = [_score(t) for t in tasks]
    for case, name, ok, why in results:
        if not ok:
            broken[name].append((Path(case).name, why))
    return right, broken


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpora", nargs="*", type=Path, default=list(CORPORA))
    parser.add_argument("--only", help="comma-separated transformations (default: all)")
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args(argv)
    names = args.only.split(",") if args.only else list(TRANSFORMS)
    right, broken = score(args.corpora, names, jobs=args.jobs)
    print(f"cases right as published: {len(right)}")
    print(f"{'transformation':16} {'still right':>12} {'share':>7}")
    for name in names:
        ok = len(right) - len(broken[name])
        print(f"{name:16} {ok:>6} of {len(right):<3} {ok / len(right):7.1%}")
    for name in names:
        for _, why in broken[name]:
            print(f"  {name}: {why[:220]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
