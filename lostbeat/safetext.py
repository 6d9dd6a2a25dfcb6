"""Text from a host made safe to show: the one sanitiser of everything lostbeat prints.

A command line, a process name, a host name, a file name or a line of a bundle is data
written by whoever ran or named it. Shown raw on a terminal, ``\\x1b[2J`` clears the
screen, ``\\x9b`` (C1 CSI) starts the same sequences on terminals that read 8-bit
controls, and ``\\u202e`` (right-to-left override) makes ``evil\\u202etxt.exe`` read as
``evilexe.txt``. :func:`clean` shows every such character as its escape instead:

* C0 controls, DEL and C1 controls (``Cc``): ``\\x0a``, ``\\x1b``, ``\\x7f``, ``\\x9b``;
* format characters (``Cf``): bidi embeddings, overrides and isolates (U+202A-U+202E,
  U+2066-U+2069), marks (U+200E, U+200F, U+061C), zero-width characters, U+FEFF;
* line and paragraph separators (U+2028, U+2029), lone surrogates (bytes that were not
  UTF-8, decoded with ``surrogateescape``), private-use and unassigned code points.

A tab becomes one space. Everything else, letters of any script included, is kept.
Standard library only: the agent may use it.

Examples:
    >>> clean("VMap\\x1b[2J")
    'VMap\\\\x1b[2J'
    >>> clean("python3 \\x9b31m-c")
    'python3 \\\\x9b31m-c'
    >>> clean("invoice\\u202etxt.exe")
    'invoice\\\\u202etxt.exe'
    >>> clean("a\\tb\\nc"), clean("naïve ☃"), clean("x" * 10, limit=4)
    ('a b\\\\x0ac', 'naïve ☃', 'xxx…')
"""

from __future__ import annotations

import unicodedata

__all__ = ["clean"]

_ESCAPED = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def _escape(ch: str) -> str:
    if ch == "\t":
        return " "
    if unicodedata.category(ch) not in _ESCAPED:
        return ch
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def clean(text: str, *, limit: int | None = None) -> str:
    """Make control and format characters visible, and cap the length.

    Args:
        text: any string, usually from a host or a bundle.
        limit: the longest result, in characters; longer text ends with an ellipsis.
    """
    # isprintable() is False for every category escaped here (and for spaces other than
    # " ", which the slow path keeps): most text takes the fast path.
    cleaned = text if text.isprintable() else "".join(map(_escape, text))
    if limit is not None and len(cleaned) > limit:
        cleaned = cleaned[: max(limit - 1, 0)] + "…"
    return cleaned
