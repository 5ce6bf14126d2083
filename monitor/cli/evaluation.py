"""``policywatch eval``: measure the classifier on labelled pairs (``monitor.evaluation.pairs``)
and the recording pipeline on judged histories (``monitor.evaluation.histories``).

A click command that ``monitor.cli.main`` loads lazily (``COMMANDS``); it prints with click
directly.
"""

import json
from pathlib import Path

import click

from monitor.cli.options import PolicywatchCommand
from monitor.compare import DEFAULT_CLASSIFIER
from monitor.compare import history as history_settings
from monitor.compare.classify import CLASSES, CLASSIFIERS
from monitor.evaluation import evaluate, folds, replay

DIR = click.Path(exists=True, file_okay=False, path_type=Path)


@click.command("eval", cls=PolicywatchCommand)
@click.argument("corpus_dir", type=DIR, required=False)
@click.option("--histories", "histories_dir", type=DIR,
              help="Replay the history sets in DIR (DIR/<set>/{histories.bundle,judgments.jsonl}, or "
                   "DIR being one set) through the recording pipeline and score its alerts.")
@click.option("--folds", "fold_by", type=click.Choice(["service"]),
              help="With --histories: leave-one-service-out figures for the settings tuned from data.")
@click.option("--json", "as_json", is_flag=True, help="Print the figures and mistakes as one JSON object.")
@click.option("--classifier", default=DEFAULT_CLASSIFIER, show_default=True,
              help=f"Classifier to measure on pairs (registered: {', '.join(sorted(CLASSIFIERS))}); "
                   f"histories always use the recording pipeline's.")
def eval_command(corpus_dir, histories_dir, fold_by, as_json, classifier):
    """Score CORPUS_DIR/pairs/*/{old.md,new.md,label.json} (confusion matrix over class,
    precision/recall/F1 of material, share of noise pairs flagged material, topic F1, the per-pair
    mistakes) and/or the histories of --histories DIR (alerts per service-year, alert precision
    and recall per service and overall, each false alert and miss with its evidence)."""
    if not corpus_dir and not histories_dir:
        raise click.UsageError("give CORPUS_DIR (labelled pairs) and/or --histories DIR")
    if fold_by and not histories_dir:
        raise click.UsageError("--folds needs --histories: only the history replay has tuned settings")
    if histories_dir and classifier != DEFAULT_CLASSIFIER:
        raise click.UsageError("--classifier applies to pairs only: histories are recorded by the pipeline")
    output: dict = {}
    if corpus_dir:
        result = evaluate(corpus_dir, classifier)
        output["pairs"] = result.to_dict()
        if not as_json:
            _print_pairs(result, corpus_dir, classifier)
    if histories_dir:
        # The folds judge every change under each tuned setting; the first is the one in force.
        grid = history_settings.tuning_grid() if fold_by else [{}]
        runs = replay(histories_dir, grid)
        output["histories"] = runs[0].to_dict()
        if fold_by:
            output["folds"] = folds(histories_dir, grid, runs)
        if not as_json:
            _print_histories(output["histories"], histories_dir)
            if fold_by:
                _print_folds(output["folds"])
    if as_json:
        # Pairs alone print as before (scripts read its top-level figures).
        data = output["pairs"] if list(output) == ["pairs"] else output
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _print_pairs(result, corpus_dir, classifier):
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
        _print_evidence(item["evidence"])


def _print_evidence(evidence, limit=3):
    for item in evidence[:limit]:
        sentence = (item.get("sentence") or "").replace("\n", " ")[:160]
        click.echo(f"    {item['rule']} {item.get('topics') or ''} ({item.get('side')}): {sentence}")


ROW = "{:<12}{:<14}{:>6}{:>8}{:>8}{:>7}{:>7}{:>7}{:>7}{:>7}{:>10}"


def _print_table(rows):
    click.echo(ROW.format("set", "service", "pairs", "years", "alerts", "/year", "false", "missed",
                          "P", "R", "P/R -bl"))
    for row in rows:
        bl = row.get("without_borderline") or {}
        click.echo(ROW.format(
            row.get("set", ""), row.get("service", "")[:13], row["pairs"], f"{row['service_years']:.2f}",
            row["alerts"], f"{row['alerts_per_service_year']:.1f}", row["false_alerts"], row["misses"],
            f"{row['precision']:.2f}", f"{row['recall']:.2f}",
            f"{bl['precision']:.2f}/{bl['recall']:.2f}" if bl else ""))


def _print_histories(data, directory):
    click.echo(f"\nhistories from {directory} (replayed through backfill ota)\n")
    _print_table([*data["services"], {**data["overall"], "set": "overall", "service": ""}])
    for title, items in (("false alerts", data["false_alerts"]), ("misses", data["misses"])):
        click.echo(f"\n{title} ({len(items)})")
        for item in items:
            judged = item["judged"] or {}
            recorded = item["recorded"] or {}
            click.echo(f"- {item['service']} pair {item['pair']} {(item.get('date') or '')[:10]} "
                       f"{item['outcome']} | judged {judged.get('my_class')}"
                       f"{' (borderline)' if judged.get('borderline') else ''} | recorded "
                       f"{recorded.get('class')} {sorted(recorded.get('topics') or [])}")
            if judged.get("rationale"):
                click.echo(f"    reviewer: {judged['rationale'][:200]}")
            _print_evidence(item["evidence"])


def _print_folds(data):
    click.echo(f"\nleave-one-service-out ({data['note']})\n")
    _print_table([*data["services"], {**data["overall"], "set": "overall", "service": ""}])
