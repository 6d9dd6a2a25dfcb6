"""What happens to text between a host and a support case: the damage real pastes carry.

Seen in the real corpora (tests/corpus/real*/README.md): indentation and bullets from a web
page (``  • ``), Markdown or mail quote marks (``>\\t``, ``> ``), pastebin and editor line
numbers, CRLF line ends, long lines wrapped by the paste, redactions (``0x####``,
``YYYY-MM-DD``), and a sentence of prose before the first line. Each function takes lines and
returns lines (or the final text), and draws only from the incident's random source.

Examples:
    >>> import random
    >>> numbered(["a", "b"], random.Random(1))
    ['  1. a', '  2. b']
    >>> wrapped(["x" * 30 + " " + "y" * 30], 40)
    ['xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', 'yyyyyyyyyyyyyyyyyyyyyyyyyyyyyy']
    >>> redact_hex("ip=0x4200a1 addr 0x0")
    'ip=0x###### addr 0x#'
"""

from __future__ import annotations

import random
import re

__all__ = ["decorate", "numbered", "redact_hex", "text_of", "wrapped"]

_HEX = re.compile(r"0x[0-9a-fA-F]+")


def numbered(lines: list[str], rng: random.Random) -> list[str]:
    """Pastebin's ``  1. `` numbers, or an editor's bare numbers from anywhere in a file."""
    if rng.random() < 0.6:
        width = len(str(len(lines)))
        return [f"  {i:>{width}}. {ln}" for i, ln in enumerate(lines, 1)]
    first = rng.randint(20, 40000)
    return [f"{first + i} {ln}" for i, ln in enumerate(lines)]


def wrapped(lines: list[str], width: int) -> list[str]:
    """Lines longer than ``width`` broken at a space before it, as a narrow paste does."""
    out: list[str] = []
    for ln in lines:
        while len(ln) > width and " " in ln[:width]:
            cut = ln.rindex(" ", 0, width)
            out.append(ln[:cut])
            ln = ln[cut + 1 :]
        out.append(ln)
    return out


def redact_hex(text: str) -> str:
    """Every hexadecimal number's digits replaced by ``#``, as KB pages redact addresses."""
    return _HEX.sub(lambda m: "0x" + "#" * (len(m.group()) - 2), text)


_PROSE = (
    "The host showed this purple screen:",
    "PSOD below, typed from the console photo:",
    "The system displays a message similar to:",
    "Here is what we got from the server before it rebooted",
    "log excerpt:",
)


def decorate(lines: list[str], rng: random.Random, *, allow: str = "ibqnpc") -> list[str]:
    """One paste's damage, each kind drawn (``allow`` names the kinds that may be drawn:
    ``i`` indentation, ``b`` a bullet, ``q`` quote marks, ``n`` line numbers, ``p`` a line
    of prose before, ``c`` a prose prefix glued to the first line)."""
    out = list(lines)
    if "n" in allow and rng.random() < 0.12:
        out = numbered(out, rng)
    roll = rng.random()
    if "q" in allow and roll < 0.12:
        mark = rng.choice((">\t", "> ", ">"))
        out = [f"{mark}{ln}" for ln in out]
    elif "b" in allow and roll < 0.24:
        out = [("  • " if i == 0 else "    ") + ln for i, ln in enumerate(out)]
    elif "i" in allow and roll < 0.45:
        pad = rng.choice(("    ", "\t", "  "))
        out = [pad + ln for ln in out]
    if "c" in allow and out and rng.random() < 0.08:
        out[0] = f"{rng.choice(_PROSE)} {out[0]}"
    elif "p" in allow and rng.random() < 0.15:
        out = [rng.choice(_PROSE), "", *out]
    return out


def text_of(lines: list[str], rng: random.Random, *, crlf: float = 0.15) -> str:
    """The file's text: one newline at the end, CRLF sometimes (a Windows support desk)."""
    end = "\r\n" if rng.random() < crlf else "\n"
    return "".join(f"{ln}{end}" for ln in lines)
