"""A log that a mail or a forum wrapped at its width, joined back into its records
(:func:`unwrapped`).

Kernel logs and ESX logs posted to mailing lists and forums often come wrapped at 72-80
columns: ``... kernel: Out of memory: Killed process 4242 (java) total-vm:8123456kB,`` then
``anon-rss:7890123kB, file-rss:0kB`` on a line of its own, without the time stamp every
record of the log starts with; a headline cut that way (``watchdog: BUG: soft`` /
``lockup - CPU#3 stuck for 23s!``) is no longer any reader's form. A text is taken as
wrapped when none of its lines that have a blank is longer than :data:`WIDEST` characters
(the longest is the wrap width; a word longer than that stands alone, however long) and
:data:`MIN_STAMPED` of them start with a log's time stamp. Then a line without a stamp or
indentation (a program's own continuation lines are indented; a wrap drops the blank it
broke at) whose first word would not have fitted on the line before is the rest of that
line, as a wrap leaves it, and is joined to it with a blank. The line it stood on is left
empty, so every record keeps its line number (blank lines are passed over by every
reader). A log as a host wrote it always has longer lines (an OOM report's ``oom-kill:``
line, a call trace's module list), and is returned as it is.

Examples:
    >>> text = (
    ...     "[ 7.1] systemd[1]: Started Journal Service and some other things here.\\n"
    ...     "[ 9.5] watchdog: BUG: soft lockup - CPU#3 stuck for 23s! [kswapd1:123] and\\n"
    ...     "more words\\n"
    ...     "[ 9.6] Modules linked in: a b c d e f g h i j k l m n o p q r s t u v w x\\n"
    ...     "[ 9.7] CPU: 3 PID: 123 Comm: kswapd1 Not tainted 5.4.0 #1 Ubuntu 5.4.0-42\\n"
    ... )
    >>> unwrapped(text).splitlines()[1:3]
    ['[ 9.5] watchdog: BUG: soft lockup - CPU#3 stuck for 23s! [kswapd1:123] and more words', '']
"""

from __future__ import annotations

import re
from itertools import islice, pairwise

__all__ = ["MIN_STAMPED", "WIDEST", "unwrapped"]

WIDEST = 100
"""The longest line a wrapped text has: mail and forum widths are 72-80 columns."""
MIN_STAMPED = 2
"""Lines with a time stamp a text needs before its unstamped lines are read as wrapped."""

# The stamps a log's records start with (docs/reference/linux-logs.md §1, esxi-bundles.md),
# after any mail quote: dmesg's "[ 123.456789]", dmesg -T's "[Mon Jun  3 10:11:12 2024]",
# ISO-8601 (journalctl's short-iso, ESXi's logs; redacted as "YYYY-MM-DDTHH:MM:SS" in KB
# pages), syslog's "Jun  3 10:11:12", the VMkernel's "D:HH:MM:SS.mmm cpuN" and "cpuN:W)", a
# console's "<6>" level, hostd 4.x's "[2012-10-04 08:02:36.167", a backtrace's frame
# "0x4122...:[0x4180...]".
_STAMP = re.compile(
    r"[\s>]*(?:\[\s*[0-9]+\.[0-9]+\]"
    r"|\[[A-Z][a-z]{2} [A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} [0-9]{4}\]"
    r"|\[?[0-9Y]{4}-[0-9M]{2}-[0-9D]{2}[T ][0-9H]{2}:[0-9M]{2}"
    r"|[A-Z][a-z]{2} {1,2}[0-9]{1,2} [0-9]{2}:[0-9]{2}:[0-9]{2}"
    r"|[0-9]+:[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} cpu"
    r"|cpu[0-9]+:[0-9]*\)"
    r"|0x[0-9a-f#]+:\[0x"
    r"|<[0-7]>)",
    re.ASCII,
)
_STAMPS = re.compile(r"^" + _STAMP.pattern, re.ASCII | re.MULTILINE)
_NUMBERED_STAMPS = re.compile(r"^[ \t]*[0-9]{1,9}[ \t]" + _STAMP.pattern, re.ASCII | re.MULTILINE)


def unwrapped(text: str) -> str:
    """``text`` with the lines a mail or forum wrapped joined back, each record on its first
    line and the lines it ran on to left empty; ``text`` itself when it was not wrapped. A
    text whose lines an editor numbered (``cat -n``, a pastebin) is read by what follows
    each number, and a line a wrap ran on to loses its number with its text."""
    if not any(
        sum(1 for _ in islice(stamps.finditer(text), MIN_STAMPED)) == MIN_STAMPED
        for stamps in (_STAMPS, _NUMBERED_STAMPS)
    ):
        return text  # the cheap test first: a text without stamped lines is no log
    lines = text.split("\n")
    numbers = _numbers(lines)
    bodies = [line[len(number) :] for line, number in zip(lines, numbers, strict=True)]
    stamped = [_STAMP.match(body) is not None for body in bodies]
    if sum(stamped) < MIN_STAMPED:
        return text
    widths = [len(body) for body in bodies]
    # the wrap width: the longest line that could have been broken (a word longer than the
    # width stands on a line of its own, however long)
    if any(" " in body.strip() for body in bodies if len(body) > WIDEST):
        return text
    width = max((w for w in widths if w <= WIDEST), default=0)
    if width == 0:
        return text
    record = -1  # the line the current record starts on; -1 before the first stamp
    for i, body in enumerate(bodies):
        if stamped[i]:
            record = i
        elif not body.strip() or body[0].isspace() or record < 0:
            record = -1  # a blank or indented line is no wrap's: the record ends there
        elif widths[i - 1] + 1 + len(body.split(" ", 1)[0]) > width:
            # the line's first word did not fit on the line before: a wrap
            lines[record] = f"{lines[record].rstrip()} {body.strip()}"
            lines[i] = ""
        else:
            record = -1
    return "\n".join(lines)


_NUMBER = re.compile(r"[ \t]*[0-9]{1,9}[ \t]", re.ASCII)
"""An editor's line number before a line's text, with the blank after it."""


def _numbers(lines: list[str]) -> list[str]:
    """Each line's editor number (with the blanks around it), when the text's lines are
    numbered one after another; else all "". A numbered text has a number on every line
    that is not empty, each one more than the last (a log's own first field, a pid or a
    count, does not count up so)."""
    found = [_NUMBER.match(line) for line in lines]
    numbers = [int(m[0]) for m in found if m]
    if len(numbers) < MIN_STAMPED or any(
        not m for m, line in zip(found, lines, strict=True) if line
    ):
        return [""] * len(lines)
    if any(b != a + 1 for a, b in pairwise(numbers)):
        return [""] * len(lines)
    return [m[0] if m else "" for m in found]
