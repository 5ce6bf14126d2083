"""Word-level diffs with diff-match-patch, as data and as coloured terminal text; and the
structure-aware diff (``sentence_hunks``): one hunk per changed sentence, found by aligning the
sections and sentences of both versions (see ``align.py``), with the word diff inside it.

diff-match-patch diffs characters; to diff words we map each word, space run or punctuation
mark to one private character (the trick ``diff_linesToChars`` uses for lines), diff those,
clean up semantically at word granularity, and map back.
"""

import re

from diff_match_patch import diff_match_patch
from rich.text import Text

from monitor.compare import elide
from monitor.compare.align import align
from monitor.compare.sections import parse, plain_text

DELETE, EQUAL, INSERT = -1, 0, 1
_TOKEN = re.compile(r"\w+|\s+|[^\w\s]", re.UNICODE)


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


def _token_diff(old: str, new: str, timeout: float) -> list[tuple[int, str]]:
    table: dict[str, str] = {}
    old_chars = _encode(_TOKEN.findall(old), table)
    new_chars = _encode(_TOKEN.findall(new), table)
    engine = diff_match_patch()
    engine.Diff_Timeout = timeout
    diffs = engine.diff_main(old_chars, new_chars, checklines=False)
    engine.diff_cleanupSemantic(diffs)
    reverse = {char: token for token, char in table.items()}
    return [(op, "".join(reverse[char] for char in chars)) for op, chars in diffs]


# Above this many characters, texts are first diffed line by line and only the changed runs of
# lines word by word: the pure-Python bisection is quadratic in the edit distance.
_LINE_PASS_OVER = 4000


def word_diff(old: str, new: str, timeout: float = 5.0) -> list[tuple[int, str]]:
    """The word-level diff of two texts as diff-match-patch ``(op, text)`` tuples."""
    if len(old) + len(new) < _LINE_PASS_OVER:
        return _token_diff(old, new, timeout)
    table: dict[str, str] = {}
    old_lines, new_lines = old.splitlines(keepends=True), new.splitlines(keepends=True)
    engine = diff_match_patch()
    engine.Diff_Timeout = timeout
    line_diffs = engine.diff_main(_encode(old_lines, table), _encode(new_lines, table), checklines=False)
    result: list[tuple[int, str]] = []
    old_pos = new_pos = 0
    pending_old, pending_new = [], []

    def flush():
        removed, added = "".join(pending_old), "".join(pending_new)
        if removed and added:
            result.extend(_token_diff(removed, added, timeout))
        elif removed:
            result.append((DELETE, removed))
        elif added:
            result.append((INSERT, added))
        pending_old.clear()
        pending_new.clear()

    for op, chars in line_diffs:
        if op == EQUAL:
            flush()
            result.append((EQUAL, "".join(old_lines[old_pos:old_pos + len(chars)])))
            old_pos += len(chars)
            new_pos += len(chars)
        elif op == DELETE:
            pending_old.extend(old_lines[old_pos:old_pos + len(chars)])
            old_pos += len(chars)
        else:
            pending_new.extend(new_lines[new_pos:new_pos + len(chars)])
            new_pos += len(chars)
    flush()
    merged: list[tuple[int, str]] = []
    for op, text in result:
        if not text:
            continue
        if merged and merged[-1][0] == op:
            merged[-1] = (op, merged[-1][1] + text)
        else:
            merged.append((op, text))
    return merged


def sentence_hunks(old_text: str, new_text: str) -> tuple[list[dict], dict]:
    """One hunk per changed sentence of two stored texts, and what was recognised as noise.

    Each hunk has ``op`` (insert | delete | replace), ``old`` / ``new`` (the removed and added
    words, runs joined by `` … ``), ``old_sentence`` / ``new_sentence`` (as a reader sees them:
    no markup or link URLs), ``section`` (the heading it sits under), ``heading`` (true for a
    heading or table-of-contents entry) and, for a replace, ``edits``: the word diff inside the
    sentence as ``[op, text]`` runs. The second value counts ``moved`` sentences and
    ``reflowed`` regions, which are noise and produce no hunk.
    """
    alignment = align(parse(old_text), parse(new_text))
    found = []
    for change in alignment.changes:
        old = plain_text(change.old.text) if change.old else ""
        new = plain_text(change.new.text) if change.new else ""
        sentence = change.new or change.old
        hunk = {"op": change.op, "old": old, "new": new, "old_sentence": old, "new_sentence": new,
                "section": sentence.section, "heading": sentence.heading or sentence.toc}
        if change.op == "replace":
            edits = word_diff(old, new)
            hunk["old"] = " … ".join(t.strip() for op, t in edits if op == DELETE and t.strip())
            hunk["new"] = " … ".join(t.strip() for op, t in edits if op == INSERT and t.strip())
            hunk["edits"] = [[op, text] for op, text in edits]
        found.append(hunk)
    return found, {"moved": alignment.moved, "reflowed": alignment.reflowed}


def stats(diffs: list[tuple[int, str]]) -> dict:
    """Characters added and removed (whitespace excluded)."""
    added = sum(len("".join(text.split())) for op, text in diffs if op == INSERT)
    removed = sum(len("".join(text.split())) for op, text in diffs if op == DELETE)
    return {"chars_added": added, "chars_removed": removed}


def render_terminal(diffs: list[tuple[int, str]], context: int = 160) -> Text:
    """A rich ``Text``: deletions red struck through, insertions green underlined.

    Unchanged runs longer than ``2 * context`` characters are elided to their ends, cut at word
    boundaries (``monitor.compare.elide``).
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
                # Cut at word boundaries, never inside a word or a character.
                head = elide.head(text, keep_head)
                tail = elide.tail(text, keep_tail) if keep_tail else ""
                out.append(head, style="dim")
                out.append("\n  […]\n" if head or tail else "[…]\n", style="dim italic")
                out.append(tail, style="dim")
            else:
                out.append(text, style="dim")
    return out
