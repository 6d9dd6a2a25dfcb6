"""The caps of one ``collect()`` run (:class:`Limits`), re-exported by
:mod:`lostbeat.analyzer._collect` and :mod:`lostbeat.analyzer.sources`.

A module of its own, importing nothing of the analyzer, so that the command line can start
inflating an archive (:func:`lostbeat.analyzer._inflater.inflate_early`) before the analysis
is imported.
"""

from __future__ import annotations

from dataclasses import dataclass

from lostbeat.analyzer._gunzip import GiB, MiB

__all__ = ["Limits"]


@dataclass(frozen=True, slots=True)
class Limits:
    """Caps that keep memory and time bounded whatever the input; each counts what is kept
    (bytes, lines, members, names, records), not what is read past."""

    member_bytes: int = 16 * MiB
    """Bytes of one member kept: a log keeps its newest 16 MiB, a larger other file is
    skipped."""
    member_lines: int = 1_000_000
    """Lines of one log kept (its newest); the line-by-line parsers are cheap on a log."""
    file_lines: int = 20_000
    """Lines of any other file (esx.conf, ps, top, a screen); over it the file is skipped."""
    kept_bytes: int = 32 * MiB
    """Bytes of all the members a run keeps whole: recording shards (as on disk, gzip
    and all), or every member when no consumer parses them as they are read."""
    members: int = 1000
    """Wanted members read from one source; later ones are listed as not read."""
    parsed_bytes: int = 128 * MiB
    """Bytes of members handed to the consumer from one source, a bound on the time spent
    parsing: later members are listed as not read."""
    inflated_bytes: int = 64 * GiB
    max_ratio: int = 500
    ratio_after: int = 1 * GiB
    listed: int = 100_000
    """Member names kept (for the core dump inventory)..."""
    listed_chars: int = 8 * MiB
    """...and their characters in all."""
    recorded: int = 1000
    """``inputs[]`` records kept per source; the rest are counted in one "and N more"."""
    depth: int = 32
    """Folder levels walked below a folder given; deeper ones are listed, not read."""
    entries: int = 200_000
    """Folder entries looked at per folder given; the walk stops there, saying so."""
