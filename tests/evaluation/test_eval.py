"""``policywatch eval``: the library figures and the command, on the bundled corpus pairs.

tests/fixtures/corpus_pairs holds 15 real pairs copied from the developers' corpus (with its
ATTRIBUTION.md): material, editorial and noise changes of the kinds the classifier must tell
apart. The thresholds are the issue's targets.
"""

import json
import shutil
from pathlib import Path

import pytest

from monitor.errors import InputError
from monitor.evaluation import evaluate

CORPUS = Path(__file__).parents[1] / "fixtures"


@pytest.fixture(scope="module")
def corpus_root(tmp_path_factory):
    """A CORPUS_DIR whose pairs/ is a copy of tests/fixtures/corpus_pairs."""
    root = tmp_path_factory.mktemp("corpus")
    shutil.copytree(CORPUS / "corpus_pairs", root / "pairs")
    return root


def test_figures_meet_the_targets_on_the_bundled_pairs(corpus_root):
    figures = evaluate(corpus_root).figures()
    assert figures["pairs"] == 15
    assert figures["material_recall"] >= 0.90
    assert figures["material_precision"] >= 0.85
    assert figures["noise_false_alert_rate"] <= 0.02
    assert figures["topic_f1"] >= 0.75
    assert sum(sum(row.values()) for row in figures["confusion"].values()) == 15


def test_mistakes_list_every_pair_that_disagrees(corpus_root):
    evaluation = evaluate(corpus_root)
    # Relabel one material pair as noise: it must show up as a class mistake and cost precision.
    pair = next(p for p in evaluation.pairs if p.gold["class"] == "material")
    pair.gold = {**pair.gold, "class": "noise", "topics": []}
    mistakes = evaluation.mistakes()
    assert any(m["pair"] == pair.name and m["kind"] == "class" for m in mistakes)
    assert evaluation.figures()["noise_false_alert_rate"] > 0


def test_an_empty_corpus_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no labelled pairs"):
        evaluate(tmp_path)


def test_eval_command_json(cli, corpus_root):
    result = cli("eval", corpus_root, "--json", check=0)
    data = result.json()
    assert {"material_precision", "material_recall", "noise_false_alert_rate", "topic_f1",
            "confusion", "mistakes"} <= set(data)
    assert data["pairs"] == 15


def test_eval_command_text(cli, corpus_root):
    result = cli("eval", corpus_root, check=0)
    assert "confusion (rows: label, columns: predicted)" in result.stdout
    assert "material_precision" in result.stdout
    assert cli("eval", corpus_root, "--classifier", "nope").returncode != 0


def test_labels_in_the_fixture_are_real_labels():
    labels = [json.loads(p.read_text()) for p in (CORPUS / "corpus_pairs").glob("*/label.json")]
    assert {label["class"] for label in labels} == {"noise", "editorial", "material"}
