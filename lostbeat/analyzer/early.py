"""The first archive of a run, inflated while the analysis is being imported.

Importing the analyzer (its parsers, profiles, rules and result types) takes about as long
as isal takes to inflate 100 MiB. :func:`start`, which imports only the gunzip and the
caps, sets the first path's inflation going on the second core before that import, up to
48 MiB ahead; the archive reader that opens the same file takes it over. :func:`stop` ends
one that no reader took.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from lostbeat.analyzer._inflater import drop_early, inflate_early, one_arena
from lostbeat.analyzer._limits import Limits

__all__ = ["one_arena", "start", "stop"]


def start(paths: Sequence[str | os.PathLike[str]]) -> None:
    """Start inflating ``paths[0]`` if it is a gzip file (read under the default caps)."""
    if paths:
        inflate_early(paths[0], Limits())


def stop() -> None:
    """Stop the inflation :func:`start` began, if no reader took it over."""
    drop_early()
