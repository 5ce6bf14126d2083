"""How a classified change is shown: material sentences first, highlighted, with topics and rule."""

from rich.console import Console

from monitor.cli.views import print_evidence
from monitor.compare import diff_report

OLD = ("## Contact\n\nWrite to privacy@example.com.\n\n## Sharing\n\nWe do not sell your personal data.\n\n"
       "We use cookies for analytics purposes on our websites.\n")
NEW = ("## Contact\n\nWrite to dpo@example.com.\n\n## Sharing\n\nWe may sell your personal data to data brokers.\n\n"
       "We use cookies for analytics purposes on all of our websites.\n")


def _shown(color: bool) -> str:
    report = diff_report(OLD, NEW)
    console = Console(record=True, width=200, color_system="standard" if color else None,
                      force_terminal=color)
    print_evidence(console, report["evidence"], report["changes"])
    return console.export_text(styles=False)


def test_material_sentences_come_first_with_rule_topics_and_word_markers():
    text = _shown(color=False)
    lines = text.splitlines()
    assert lines[0] == "Material sentences (1)"
    assert "[negation-removed]" in lines[1] and "sale" in lines[1] and "§ sharing" in lines[1]
    assert "We [-do not-]{+may+} sell your personal data{+ to data brokers+}." in lines[2]
    editorial_header = next(i for i, line in enumerate(lines) if line.startswith("Other changed sentences"))
    assert editorial_header > 2
    assert "{+all of +}" in text and "[-privacy-]{+dpo+}" in text


def test_on_a_colour_terminal_the_edit_is_styled_not_marked():
    report = diff_report(OLD, NEW)
    console = Console(record=True, width=200, color_system="standard", force_terminal=True)
    print_evidence(console, report["evidence"], report["changes"])
    styled = console.export_text(styles=True)
    assert "[-" not in styled
    assert "\x1b[" in styled  # ANSI styles carry the highlighting
