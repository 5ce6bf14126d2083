"""Unchanged context is cut at word boundaries, never inside a word or a visible character."""

import unicodedata

import pytest

from monitor.compare import DELETE, EQUAL, INSERT, elide, render_terminal

SENTENCE = "We collect your precise location to personalise advertising and we keep it for two years."


def _words(text: str) -> set[str]:
    return set(text.split())


# Longer than any word: a shorter limit cannot keep a whole word and falls back to the limit.
@pytest.mark.parametrize("limit", range(13, len(SENTENCE)))
def test_a_head_or_tail_never_ends_inside_a_word(limit):
    head, tail = elide.head(SENTENCE, limit), elide.tail(SENTENCE, limit)
    assert len(head) <= limit and len(tail) <= limit
    assert SENTENCE.startswith(head) and SENTENCE.endswith(tail)
    # Every word kept is a whole word of the sentence.
    assert _words(head) <= _words(SENTENCE) and _words(tail) <= _words(SENTENCE)
    assert head.endswith(" ") and tail.startswith(" ")


def test_short_text_is_kept_whole():
    assert elide.head("short", 10) == "short" and elide.tail("short", 10) == "short"
    assert elide.head("anything", 0) == "" and elide.tail("anything", 0) == ""


def test_other_scripts_with_spaces_cut_at_spaces():
    french = "Nous conservons vos données personnelles pendant la durée nécessaire à la finalité."
    russian = "Мы храним ваши персональные данные столько, сколько необходимо для этой цели."
    for text in (french, russian):
        for limit in range(max(map(len, text.split())) + 1, len(text)):
            assert _words(elide.head(text, limit)) <= _words(text)
            assert _words(elide.tail(text, limit)) <= _words(text)


def test_without_whitespace_nearby_the_cut_falls_back_to_the_limit():
    url = "https://example.com/" + "a" * 200
    assert elide.head(url, 60) == url[:60]
    assert elide.tail(url, 60) == url[-60:]
    chinese = "我们收集您的位置信息以提供个性化广告服务并将其保存两年。" * 4
    assert elide.head(chinese, 30) == chinese[:30]


def test_the_fallback_never_splits_a_visible_character():
    # Devanagari vowel signs and a decomposed "é" are combining marks: part of the letter before.
    hindi = "हमआपकीजानकारीसुरक्षितरखतेहैं" * 6
    decomposed = unicodedata.normalize("NFD", "é" * 120)
    for text in (hindi, decomposed):
        for limit in range(3, 80):
            head, tail = elide.head(text, limit, window=0), elide.tail(text, limit, window=0)
            assert text.startswith(head) and text.endswith(tail)
            rest_after_head = text[len(head):]
            assert not unicodedata.category(rest_after_head[0]).startswith("M")
            assert not unicodedata.category(tail[0]).startswith("M")


def test_the_terminal_diff_elides_at_word_boundaries():
    context = " ".join(f"word{n}" for n in range(200))
    diffs = [(EQUAL, context + " "), (DELETE, "not"), (INSERT, "now"), (EQUAL, " " + context)]
    plain = render_terminal(diffs, context=50).plain
    kept = plain.replace("[…]", " ").split()
    assert set(kept) <= set(context.split()) | {"notnow"}  # the edit itself, struck and inserted
    assert "word199" in kept and "word0" in kept
