"""The structure-aware diff: sections, sentences, alignment, and the word diff inside."""

import pytest

from monitor.compare.align import align
from monitor.compare.diff import DELETE, INSERT, sentence_hunks, stats, word_diff
from monitor.compare.sections import parse, split_sentences


def test_sentences_split_at_ends_but_not_at_abbreviations():
    text = "We use vendors, e.g. Google Inc. and others. Legal basis is Art. 6 (1) (f) GDPR. Done!"
    assert split_sentences(text) == [
        "We use vendors, e.g. Google Inc. and others.", "Legal basis is Art. 6 (1) (f) GDPR.", "Done!"]


def test_headings_open_sections_and_toc_entries_are_marked():
    text = ("Privacy Policy\n==============\n\n1. [Sharing](#sharing)\n\n## 1. Sharing\n\n"
            "We share data. We never sell it.\n\n**Retention**\n\nWe keep data for 30 days.\n")
    sentences = parse(text)
    assert [(s.key, s.heading, s.toc) for s in sentences] == [
        ("privacy policy", True, False), ("sharing", False, True), ("sharing", True, False),
        ("we share data", False, False), ("we never sell it", False, False),
        ("retention", True, False), ("we keep data for 30 days", False, False)]
    assert sentences[4].section == "1. sharing"
    assert sentences[6].section == "retention"


def test_date_stamps_are_not_sentences():
    assert [s.key for s in parse("Last updated: March 3, 2024\n\nWe collect data.\n")] == ["we collect data"]


def test_an_edited_sentence_is_one_replace_not_a_delete_and_an_insert():
    old = parse("We collect your name.\n\nWe share it with service providers.\n\nWe keep it for 30 days.\n")
    new = parse("We collect your name.\n\nWe share it with service providers and advertisers.\n\n"
                "We keep it for 30 days.\n")
    (change,) = align(old, new).changes
    assert change.op == "replace"
    assert change.old.key == "we share it with service providers"
    assert change.new.key == "we share it with service providers and advertisers"


def test_moved_sections_and_split_paragraphs_are_not_changes():
    old = "## A\n\nFirst sentence here. Second sentence here.\n\n## B\n\nThird sentence here.\n"
    new = "## B\n\nThird sentence here.\n\n## A\n\nFirst sentence here.\n\nSecond sentence here.\n"
    result = align(parse(old), parse(new))
    assert result.changes == []
    assert result.moved >= 2


def test_a_sentence_split_in_two_is_not_a_change():
    result = align(parse("We collect your name and we share it with partners.\n"),
                   parse("We collect your name. And we share it with partners.\n"))
    assert result.changes == []
    assert result.reflowed == 1


def test_inserted_and_deleted_sentences():
    old = parse("Alpha sentence one.\n\nBravo sentence two.\n")
    new = parse("Alpha sentence one.\n\nCompletely different words appear now.\n")
    ops = sorted(change.op for change in align(old, new).changes)
    assert ops == ["delete", "insert"]


def test_sentence_hunks_carry_the_word_diff_and_the_section():
    hunks, noise = sentence_hunks("## Sale\n\nWe do not sell your data.\n", "## Sale\n\nWe may sell your data.\n")
    (hunk,) = hunks
    assert hunk["op"] == "replace" and hunk["section"] == "sale" and not hunk["heading"]
    assert hunk["old"] == "do not" and hunk["new"] == "may"
    assert [op for op, _ in hunk["edits"]] == [0, DELETE, INSERT, 0]
    assert noise == {"moved": 0, "reflowed": 0}


def test_link_targets_do_not_make_a_sentence_change():
    hunks, _ = sentence_hunks("See [our policy](https://a.example/x?utm=1).\n",
                              "See [our policy](https://a.example/y).\n")
    assert hunks == []


@pytest.mark.parametrize("size", [10, 3000])
def test_word_diff_reconstructs_both_texts_small_and_large(size):
    # Large texts take the line-first path; both paths must give a lossless diff.
    old = "".join(f"Line {i}: we collect item {i}.\n" for i in range(size))
    new = old.replace("item 5.", "item five and more.").replace("Line 7:", "Row 7:") + "A new last line.\n"
    diffs = word_diff(old, new)
    assert "".join(t for op, t in diffs if op != INSERT) == old
    assert "".join(t for op, t in diffs if op != DELETE) == new
    assert stats(diffs)["chars_added"] == len("fiveandmore") + len("Row") + len("Anewlastline.")


def test_a_repeated_sentence_is_not_new_text():
    old = parse("## A\n\nWe collect your name.\n\n## B\n\nWe keep it safe.\n")
    new = parse("## A\n\nWe collect your name.\n\n## B\n\nWe keep it safe.\n\nWe collect your name.\n")
    result = align(old, new)
    assert result.changes == [] and result.moved == 1
