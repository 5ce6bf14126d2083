"""Commands for extraction upkeep: ``reextract``, ``summaries rebuild`` and ``target import``.

Thin, as every command: parse arguments, call one library function, print.
"""

import sys
from pathlib import Path

import click

from monitor.cli.common import emit_json, open_cli_store
from monitor.cli.options import PolicywatchCommand, PolicywatchCommandGroup
from monitor.cli.views_ops import rebuild_sentence
from monitor.record import DEFAULT_BATCH, rebuild_summaries, reextract
from monitor.targets import add_planned, plan_import


@click.command(cls=PolicywatchCommand)
@click.option("--target", "target_id", type=int, default=None, help="Only this target id.")
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON list with one object per target (target_id, outcome, error, …).")
@click.pass_context
def reextract_command(ctx, target_id, as_json):
    """Rebuild versions from stored snapshots after an extractor or selector change.

    A changed text is recorded as a technical upgrade (class noise): it never alerts.
    """
    results = reextract(open_cli_store(ctx), target_id)
    if as_json:
        emit_json([r.as_json() for r in results])
    for result in results:
        detail = f" ({result.error})" if result.error else ""
        click.echo(f"target {result.target_id}: {result.outcome}{detail}", err=True)
    failed = [r for r in results if r.outcome == "error"]
    sys.exit(1 if failed else 0)


@click.group(cls=PolicywatchCommandGroup)
def summaries_group():
    """Bring the plain-language summaries stored with each change up to date."""


@summaries_group.command("rebuild")
@click.option("--missing-only", is_flag=True, help="Only changes with no stored summary (recorded before "
              "summaries existed); by default every change, so stale phrasing is rewritten too.")
@click.option("--dry-run", is_flag=True, help="Count what would be rewritten; write nothing.")
@click.option("--batch", type=click.IntRange(1), default=DEFAULT_BATCH, show_default=True,
              help="Changes per transaction.")
@click.option("--json", "as_json", is_flag=True,
              help="Also print the counts as one JSON object (checked, missing, rebuilt, dry_run, missing_only).")
@click.pass_context
def summaries_rebuild_command(ctx, missing_only, dry_run, batch, as_json):
    """Re-derive each change's summary from its stored evidence; write those that differ.

    Idempotent (a second run writes nothing); one transaction a batch, each waiting for the
    writer lock like any write, so it may run beside the daemon.
    """
    report = rebuild_summaries(open_cli_store(ctx), missing_only=missing_only, dry_run=dry_run, batch=batch)
    if as_json:
        emit_json(report.as_json())
    click.echo(rebuild_sentence(report), err=True)


@click.command(cls=PolicywatchCommand)
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--every", default=None, help="Fetch interval for targets that give none (default 1d).")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object: added (the new targets), skipped and warnings.")
@click.pass_context
def import_command(ctx, file, every, as_json):
    """Add targets from a YAML catalogue or Open Terms Archive declarations (a file or a folder).

    YAML: a list (top level or under `targets:`) of {company, url, type, select, remove, every,
    render}. OTA: declarations/<Service>.json, every document type. Tracked URLs are skipped.
    """
    planned = plan_import(file, every)  # checked before a database is opened or created
    report = add_planned(open_cli_store(ctx, create=True), planned)
    if as_json:
        emit_json(report.as_json())
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"imported {len(report.added)} target(s), skipped {len(report.skipped)} already tracked",
               err=True)
