"""Argument types shared by the subcommands: a bad value is argparse's one-line usage error."""

from __future__ import annotations

import argparse
from collections.abc import Callable

__all__ = ["seconds_between"]


def seconds_between(low: float, high: float, *, example: str = "5") -> Callable[[str], float]:
    """A ``type=`` for a number of seconds from ``low`` to ``high``.

    >>> seconds_between(1, 600)("2.5")
    2.5
    >>> seconds_between(1, 600)("0")
    Traceback (most recent call last):
    argparse.ArgumentTypeError: expected 1-600 seconds, got '0'
    """

    def convert(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected seconds such as {example}, got {text!r}"
            ) from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"expected {low:g}-{high:g} seconds, got {text!r}")
        return value

    return convert
