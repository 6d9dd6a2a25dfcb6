"""Coverage-guided fuzzing of one parser (or the archive reader) with atheris (libFuzzer).

Run by test_atheris.py, one process per target; or by hand for a long run::

    .venv/bin/python tests/fuzz/atheris_harness.py TARGET CORPUS_DIR -runs=1000000

``TARGET`` is a parser's artifact name, ``sniffers`` or ``archive``. Any exception other
than the documented errors is a crash: libFuzzer prints it, writes the input to
``crash-<sha1>`` and exits non-zero. Lines are cut at 1 KiB, as in the mutation fuzzer
(very long lines have test_long_lines.py).
"""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
from collections.abc import Callable
from typing import Any

MAX_LINE = 1024


def _import_instrumented() -> Any:
    """Import atheris, then lostbeat under its coverage instrumentation (lostbeat must not
    be imported before). Kept out of the module's top: pytest imports every module of
    tests/ for doctests, where atheris may be missing."""
    atheris = importlib.import_module("atheris")
    with atheris.instrument_imports(include=["lostbeat"]):
        importlib.import_module("lostbeat.analyzer.parsers")
        importlib.import_module("lostbeat.analyzer.sources")
    return atheris


def _text(data: bytes) -> str:
    lines = data.decode("utf-8", "replace").split("\n")
    return "\n".join(line[:MAX_LINE] for line in lines)


def target(name: str) -> Callable[[bytes], object]:
    from lostbeat.analyzer.parsers import PARSERS, ParserInput
    from lostbeat.analyzer.sources import Limits, open_source
    from lostbeat.errors import ArtifactMissing, InputError, ParseError, RecordingCorrupt

    documented = (ParseError, ArtifactMissing, InputError, RecordingCorrupt)
    limits = Limits(member_bytes=64 << 10, kept_bytes=256 << 10, ratio_after=1 << 20, listed=400)
    if name == "sniffers":
        sniffers = [p.looks_like for p in PARSERS if p.looks_like is not None]

        def sniff(data: bytes) -> object:
            text = _text(data)
            answers = [looks_like(text) for looks_like in sniffers]
            if not all(isinstance(a, bool) for a in answers):
                raise AssertionError(answers)
            return answers

        return sniff
    if name == "archive":
        folder = tempfile.mkdtemp(prefix="lostbeat-atheris-")
        path = os.path.join(folder, "bundle.tgz")

        def archive(data: bytes) -> object:
            with open(path, "wb") as out:
                out.write(data)
            try:
                return open_source(path, limits=limits).collect()
            except documented:
                return None

        return archive
    (parser,) = [p for p in PARSERS if p.artifact == name and p.takes is ParserInput.LINES]
    # a /proc file says what it is about by its path (tests/fuzz/targets.py fuzz_path)
    path = "atheris/proc/4300/cmdline" if name == "proc_file" else f"atheris/{name}"

    def parse(data: bytes) -> object:
        try:
            return parser.parse(_text(data).splitlines(), path=path)
        except documented:
            return None

    return parse


def main() -> None:
    atheris = _import_instrumented()
    call = target(sys.argv[1])
    atheris.Setup([sys.argv[0], *sys.argv[2:]], call)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
