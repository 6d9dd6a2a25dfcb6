"""What copying a log through a web page, a word processor or a Windows editor does to its
text, undone before any sniffer or reader sees it (:func:`unpasted`).

A log that a host wrote is ASCII or plain UTF-8; the same log pasted into a forum, a mail or
a ticket, or saved by Notepad, comes back with a byte-order mark before its first line (or
as UTF-16, when PowerShell wrote it: :func:`codec_of`),
no-break and thin spaces between words, zero-width characters, typographic quotes and
dashes, and, scraped from a page's source, HTML entities (``&gt;`` for ``>``). None of
those is in any form a reader knows, so a screen or a kernel log pasted that way would not
be recognised at all. Each is mapped back to the character the host wrote. Text that is
ASCII and holds no ``&`` (a host's own log) is returned as it is, at no cost; the
ellipsis (``…``) is kept, being journalctl's own mark of a cut line.

Examples:
    >>> unpasted("\\ufeff[ 13.957383] mem invoked oom-killer")
    '[ 13.957383] mem invoked oom-killer'
    >>> unpasted("Killed\\u00a0process 4242 (java) \\u2018x\\u2019 &gt; 1")
    "Killed process 4242 (java) 'x' > 1"
    >>> unpasted("---[ end trace ]---"), unpasted("a &amp;param=1 &copy")
    ('---[ end trace ]---', 'a &param=1 &copy')
"""

from __future__ import annotations

import re

from lostbeat.analyzer._unwrap import unwrapped

__all__ = ["UTF16_BOMS", "codec_of", "head_text", "lf_ends", "unpasted"]

UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
"""A text saved as UTF-16 starts with one of these (PowerShell's ``>`` and ``Out-File``
write UTF-16LE with it, Notepad's "Unicode" too)."""

_MAPPED = {
    # no-break, figure, narrow, thin, hair, en and em spaces, ideographic space
    **dict.fromkeys("\u00a0\u2007\u202f\u2009\u200a\u2002\u2003\u3000", " "),
    # byte-order mark (zero-width no-break space), zero-width space and joiners, word joiner,
    # soft hyphen
    **dict.fromkeys("\ufeff\u200b\u200c\u200d\u2060\u00ad", ""),
    **dict.fromkeys("\u2018\u2019\u201a\u2032", "'"),
    **dict.fromkeys("\u201c\u201d\u201e\u2033", '"'),
    # hyphens and the minus sign; a word processor's en dash stands for "-", its em dash for
    # the "--" it was typed as
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2212", "-"),
    "\u2014": "--",
}
_ODD = re.compile("[" + "".join(_MAPPED) + "]")
# only the entities a page's source gives a log's text; never a bare "&name" (a URL's
# "&param=1" is not "¶m=1")
_ENTITIES = {
    "&lt;": "<",
    "&gt;": ">",
    "&amp;": "&",
    "&quot;": '"',
    "&apos;": "'",
    "&#39;": "'",
    "&#x27;": "'",
    "&#34;": '"',
    "&nbsp;": " ",
}
_ENTITY = re.compile("|".join(re.escape(e) for e in _ENTITIES))


def codec_of(start: bytes) -> str:
    """The codec of a text that starts with ``start``: UTF-16 after its byte-order mark,
    else UTF-8 (a host's logs are UTF-8 or ASCII)."""
    return "utf-16" if start[:2] in UTF16_BOMS else "utf-8"


def head_text(head: bytes) -> str:
    """The start of a file as the sniffers see it, as its reader will: decoded (a bad byte,
    or a code unit cut at the end, becomes U+FFFD), :func:`unpasted`, and a mail's wrap
    joined back (:func:`~lostbeat.analyzer._unwrap.unwrapped`).

    >>> head_text("\\ufeffMemTotal: 1 kB".encode("utf-16"))
    'MemTotal: 1 kB'
    """
    text = unpasted(head.decode(codec_of(head), "replace"))
    return unwrapped(lf_ends(text))


def lf_ends(text: str) -> str:
    """``text`` with ``\\r\\n`` and ``\\r`` line ends read as ``\\n``, as ``open()`` does."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def unpasted(text: str) -> str:
    """``text`` with what a paste adds mapped back to what the host wrote."""
    if not text.isascii():
        text = _ODD.sub(lambda m: _MAPPED[m[0]], text)
    if "&" in text:
        text = _ENTITY.sub(lambda m: _ENTITIES[m[0]], text)
    return text
