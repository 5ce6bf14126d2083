"""``policywatch eval CORPUS_DIR``: measure a classifier on a labelled corpus (see evaluate.py).

A standalone click command, registered in ``cli.py``; it does not import ``cli`` (which imports
it), so it prints with click directly.
"""

import json
from pathlib import Path

import click

from .classify import CLASSES, CLASSIFIERS
from .cli_options import PolicywatchCommand
from .compare import DEFAULT_CLASSIFIER
from .evaluate import evaluate


@click.command("eval", cls=PolicywatchCommand)
@click.argument("corpus_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the figures and mistakes as one JSON object.")
@click.option("--classifier", default=DEFAULT_CLASSIFIER, show_default=True,
              help=f"Classifier to measure (registered: {', '.join(sorted(CLASSIFIERS))}).")
def eval_command(corpus_dir, as_json, classifier):
    """Classify every pair of CORPUS_DIR/pairs/*/{old.md,new.md,label.json} and score it:
    confusion matrix over class, precision/recall/F1 of material, share of noise pairs flagged
    material, topic F1, and the per-pair mistakes."""
    result = evaluate(corpus_dir, classifier)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        return
    figures = result.figures()
    click.echo(f"classifier {classifier} on {figures['pairs']} pairs from {corpus_dir}\n")
    click.echo("confusion (rows: label, columns: predicted)")
    click.echo("".ljust(12) + "".join(name.rjust(11) for name in CLASSES))
    for gold, row in figures["confusion"].items():
        click.echo(gold.ljust(12) + "".join(str(row[pred]).rjust(11) for pred in CLASSES))
    click.echo()
    for key in ("accuracy", "material_precision", "material_recall", "material_f1",
                "noise_false_alert_rate", "topic_f1", "topic_f1_material_pairs",
                "direction_accuracy_material", "median_seconds_per_pair"):
        click.echo(f"{key:30} {figures[key]:.3f}")
    mistakes = result.mistakes()
    click.echo(f"\nmistakes ({len(mistakes)})")
    for item in mistakes:
        gold, pred = item["gold"], item["predicted"]
        click.echo(f"- {item['pair']} [{item['kind']}] label {gold['class']} {sorted(gold['topics'] or [])} "
                   f"{gold['direction']} | predicted {pred['class']} {sorted(pred['topics'])} {pred['direction']}")
        for evidence in item["evidence"][:3]:
            sentence = (evidence.get("sentence") or "").replace("\n", " ")[:160]
            click.echo(f"    {evidence['rule']} {evidence.get('topics') or ''} ({evidence.get('side')}): {sentence}")
