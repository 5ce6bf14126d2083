"""Word-level diffs with diff-match-patch, as data and as coloured terminal text.

diff-match-patch diffs characters; to diff words we map each word, space run or punctuation
mark to one private character (the trick ``diff_linesToChars`` uses for lines), diff those,
clean up semantically at word granularity, and map back.
"""

import re
from dataclasses import asdict, dataclass

from diff_match_patch import diff_match_patch
from rich.text import Text

DELETE, EQUAL, INSERT = -1, 0, 1
_TOKEN = re.compile(r"\w+|\s+|[^\w\s]", re.UNICODE)
_SENTENCE_END = re.compile(r"[.!?](?=\s)|\n")


@dataclass
class Hunk:
    """One run of edits between unchanged text, with the sentences around it on each side."""

    op: str  # insert | delete | replace
    old: str
    new: str
    old_sentence: str
    new_sentence: str

    def to_dict(self) -> dict:
        """The JSON form used by ``policywatch diff --json`` and the ``changes.hunks`` column."""
        return asdict(self)


def _encode(tokens: list[str], table: dict[str, str]) -> str:
    chars = []
    for token in tokens:
        char = table.get(token)
        if char is None:
            # Skip the surrogate block: those code points cannot round-trip through UTF-8.
            code = len(table) + 0x100
            if code >= 0xD800:
                code += 0x800
            char = table[token] = chr(code)
        chars.append(char)
    return "".join(chars)


def word_diff(old: str, new: str, timeout: float = 5.0) -> list[tuple[int, str]]:
    """The word-level diff of two texts as diff-match-patch ``(op, text)`` tuples."""
    table: dict[str, str] = {}
    old_chars = _encode(_TOKEN.findall(old), table)
    new_chars = _encode(_TOKEN.findall(new), table)
    engine = diff_match_patch()
    engine.Diff_Timeout = timeout
    diffs = engine.diff_main(old_chars, new_chars, checklines=False)
    engine.diff_cleanupSemantic(diffs)
    reverse = {char: token for token, char in table.items()}
    return [(op, "".join(reverse[char] for char in chars)) for op, chars in diffs]


def _sentence_around(text: str, start: int, end: int) -> str:
    left = 0
    for match in _SENTENCE_END.finditer(text, 0, start):
        left = match.end()
    found = _SENTENCE_END.search(text, max(end, left))
    right = found.end() if found else len(text)
    return text[left:right].strip()


def hunks(old: str, new: str, diffs: list[tuple[int, str]]) -> list[Hunk]:
    """Group a diff into hunks (runs of edits), each with its surrounding sentences."""
    result: list[Hunk] = []
    old_pos = new_pos = 0
    pending: dict | None = None

    def flush():
        if pending is None:
            return
        removed, added = "".join(pending["old"]), "".join(pending["new"])
        if not removed.strip() and not added.strip():
            return  # whitespace-only edit: not a hunk
        op = "replace" if removed and added else ("delete" if removed else "insert")
        result.append(Hunk(op, removed.strip(), added.strip(),
                           _sentence_around(old, pending["o"], old_pos),
                           _sentence_around(new, pending["n"], new_pos)))

    for op, text in diffs:
        if op == EQUAL:
            flush()
            pending = None
            old_pos += len(text)
            new_pos += len(text)
            continue
        if pending is None:
            pending = {"o": old_pos, "n": new_pos, "old": [], "new": []}
        if op == DELETE:
            pending["old"].append(text)
            old_pos += len(text)
        else:
            pending["new"].append(text)
            new_pos += len(text)
    flush()
    return result


def stats(diffs: list[tuple[int, str]]) -> dict:
    """Characters added and removed (whitespace excluded)."""
    added = sum(len("".join(text.split())) for op, text in diffs if op == INSERT)
    removed = sum(len("".join(text.split())) for op, text in diffs if op == DELETE)
    return {"chars_added": added, "chars_removed": removed}


def render_terminal(diffs: list[tuple[int, str]], context: int = 160) -> Text:
    """A rich ``Text``: deletions red struck through, insertions green underlined.

    Unchanged runs longer than ``2 * context`` characters are elided to their ends.
    """
    out = Text()
    for index, (op, text) in enumerate(diffs):
        if op == DELETE:
            out.append(text, style="bold red strike")
        elif op == INSERT:
            out.append(text, style="bold green underline")
        else:
            first, last = index == 0, index == len(diffs) - 1
            keep_head = 0 if first else context
            keep_tail = 0 if last else context
            if len(text) > keep_head + keep_tail + 20:
                head = text[:keep_head]
                tail = text[len(text) - keep_tail:] if keep_tail else ""
                out.append(head, style="dim")
                out.append("\n  […]\n" if head or tail else "[…]\n", style="dim italic")
                out.append(tail, style="dim")
            else:
                out.append(text, style="dim")
    return out
