"""analyze(paths) -> AnalysisResult: sources -> parsers -> HostFacts -> rules.

STUB: signature fixed; to be written.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from lostbeat.analyzer.result import AnalysisResult
from lostbeat.analyzer.sources import Progress


def analyze(
    paths: Sequence[str | os.PathLike[str]],
    *,
    strict: bool = False,
    kind: str | None = None,
    progress: Progress | None = None,
) -> AnalysisResult:
    """Analyse the inputs of one host and one incident.

    Raises:
        InputError: when no input could be read at all.
        LostbeatError: any parse or rule error, when ``strict``.
    """
    raise NotImplementedError
