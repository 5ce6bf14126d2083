"""Cutting long unchanged text to its ends at word boundaries, in any script.

The diff views keep a little unchanged context around each edit and elide the rest ("[… 1,204
unchanged characters …]"). A cut at a fixed character count splits words ("priv[…]acy"), and in
scripts written with combining marks (Devanagari, Thai, decomposed accents) or emoji sequences it
can split one visible character. So a cut moves to the nearest whitespace within ``WINDOW``
characters inside the limit; with none there (a long URL, Chinese or Japanese text written
without spaces) it stays at the limit, moved off any combining mark so no character is split.
"""

import unicodedata

# How far inside the limit a cut may move to reach whitespace: longer than almost any word.
WINDOW = 40
# Characters that join the one before them into one visible character.
_JOINERS = frozenset("\u200d\u200c\ufe0e\ufe0f")


def _joins_previous(char: str) -> bool:
    return (char in _JOINERS or unicodedata.category(char).startswith("M")
            or 0x1F3FB <= ord(char) <= 0x1F3FF)  # emoji skin-tone modifiers


def head(text: str, limit: int, window: int = WINDOW) -> str:
    """The start of ``text`` in at most ``limit`` characters, ending after a whitespace
    character when one lies within ``window`` of the limit."""
    if len(text) <= limit:
        return text
    if limit <= 0:
        return ""
    for position in range(limit - 1, max(-1, limit - 1 - window), -1):
        if text[position].isspace():
            return text[:position + 1]
    cut = limit
    while cut > 0 and (_joins_previous(text[cut]) or text[cut - 1] in _JOINERS):
        cut -= 1
    return text[:cut]


def tail(text: str, limit: int, window: int = WINDOW) -> str:
    """The end of ``text`` in at most ``limit`` characters, starting at a whitespace character
    when one lies within ``window`` of the limit."""
    if len(text) <= limit:
        return text
    if limit <= 0:
        return ""
    start = len(text) - limit
    for position in range(start, min(len(text), start + window + 1)):
        if text[position].isspace():
            return text[position:]
    while start < len(text) and (_joins_previous(text[start]) or text[start - 1] in _JOINERS):
        start += 1
    return text[start:]
