"""A regex searched only in a text that holds one of its words.

A log reader tries several regexes on every line that may matter; each search costs a
microsecond or more, a substring test tens of nanoseconds. Each :class:`Gated` regex names
words it cannot match without (for a regex without a word of its own, its reader tests them
itself), so a line without any of them is passed over unsearched. The tests read every real
text with the gates open (:data:`OPEN`) and shut, and compare.

Examples:
    >>> hb = Gated(re.compile(r"HB: [0-9]+: Lost heartbeat"), ("Lost heartbeat",))
    >>> hb.search("HB: 365: Lost heartbeat") is not None, hb.search("HB: 365: ok")
    (True, None)
    >>> Gated(re.compile("RAMDISK", re.I), ("ramdisk",), fold=True).search("ramdisk") is None
    False
"""

from __future__ import annotations

import re

__all__ = ["OPEN", "Gated", "has_any"]

OPEN = False
"""True: every gate is open (the tests compare what a reader finds with and without them)."""


def has_any(text: str, words: tuple[str, ...]) -> bool:
    """Whether ``text`` holds one of ``words`` (always, while :data:`OPEN`)."""
    return OPEN or any(w in text for w in words)


class Gated:
    """``rx``, searched only in a text that holds one of ``words`` (in lower case with
    ``fold``, for a regex that ignores case)."""

    __slots__ = ("fold", "rx", "words")

    def __init__(self, rx: re.Pattern[str], words: tuple[str, ...], *, fold: bool = False) -> None:
        self.rx, self.words, self.fold = rx, words, fold

    def search(self, text: str) -> re.Match[str] | None:
        if has_any(text.lower() if self.fold else text, self.words):
            return self.rx.search(text)
        return None
