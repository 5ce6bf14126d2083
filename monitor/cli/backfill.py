"""``policywatch backfill wayback|ota``: a target's history from before we watched it.

Thin, as every command: parse arguments, call one library function (``monitor.record.backfill``), print.
"""

import json
import sys
from pathlib import Path

import click

from monitor.cli.common import open_cli_store
from monitor.cli.options import PolicywatchCommandGroup, SettingOption, one_line
from monitor.record.backfill import (
    DEFAULT_BASE_URL,
    DEFAULT_DELAY_SECONDS,
    PERIODS,
    RETRIES,
    SOURCES,
    BackfillReport,
    WaybackClient,
    backfill_ota,
    backfill_wayback,
    resolve_target,
)

EXIT_STOPPED = 3  # the archive failed or a document was refused: a re-run resumes
EXIT_NOTHING_IMPORTED = 1


def _store(ctx):
    # Backfill may start a database: its history is what the user asked for.
    return open_cli_store(ctx, create=True)


def _progress(message: str) -> None:
    click.echo(message, err=True)


def nothing_imported(reports: list[BackfillReport]) -> str | None:
    """Why a run added no version, as one line; None when it added one, or when everything
    the archive holds was already recorded by an earlier run (a re-run is up to date)."""
    if any(r.versions for r in reports):
        return None
    tracked = [r for r in reports if r.target_id]
    if not tracked:
        return "nothing imported: no target tracks these documents (see the warnings above)"
    if any(r.already_recorded for r in tracked):
        return None
    recorded = [item for r in tracked for item in r.recorded]
    if recorded:
        problems = sorted({one_line(item.get("error") or item["outcome"]) for item in recorded})
        return (f"nothing imported: {len(recorded)} archived copies were recorded but none gave a "
                f"version ({'; '.join(problems)[:300]})")
    if any(r.older_than_history for r in tracked):
        return "nothing imported: every archived copy is older than the history already recorded"
    source = SOURCES.get(tracked[0].source, tracked[0].source)
    return f"nothing imported: {source} holds no copy of the target in the range asked for"


def _finish(reports: list[BackfillReport], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps([r.as_json() for r in reports], indent=2, ensure_ascii=False))
    for report in reports:
        for warning in report.warnings:
            click.echo(f"warning: {warning}", err=True)
        if report.target_id:
            skipped = f", {report.already_recorded} already recorded" if report.already_recorded else ""
            click.echo(f"target {report.target_id}: {report.versions} version(s) added from "
                       f"{report.source} ({len(report.recorded)} copies recorded{skipped})", err=True)
        if report.stopped:
            click.echo(f"target {report.target_id}: stopped: {report.stopped}", err=True)
    if any(r.failed for r in reports):
        sys.exit(EXIT_STOPPED)
    reason = nothing_imported(reports)
    if reason:
        click.echo(f"policywatch: error: {reason}", err=True)
        sys.exit(EXIT_NOTHING_IMPORTED)


@click.group(cls=PolicywatchCommandGroup)
def backfill_group():
    """Import a target's past versions from web archives (history, never alerts)."""


@backfill_group.command("wayback")
@click.argument("target")
@click.option("--from", "from_year", type=click.IntRange(1996, 2999), default=None, metavar="YEAR",
              help="First year to look at.")
@click.option("--to", "to_year", type=click.IntRange(1996, 2999), default=None, metavar="YEAR",
              help="Last year to look at.")
@click.option("--max", "max_fetches", type=click.IntRange(1), default=None, metavar="N",
              help="Fetch at most N archived pages in this run (run again to continue).")
@click.option("--period", type=click.Choice(list(PERIODS)), default="month", show_default=True,
              help="Keep the first capture of each period (none: every distinct capture).")
@click.option("--base-url", cls=SettingOption, setting="wayback_url", default=DEFAULT_BASE_URL,
              show_default=True, help="Wayback Machine (env POLICYWATCH_WAYBACK_URL).")
@click.option("--delay", cls=SettingOption, setting="wayback_delay", type=click.FloatRange(0),
              default=DEFAULT_DELAY_SECONDS, show_default=True,
              help="Seconds between requests to the archive (env POLICYWATCH_WAYBACK_DELAY).")
@click.option("--retries", cls=SettingOption, setting="wayback_retries", type=click.IntRange(0), default=RETRIES,
              show_default=True, help="Retries (with backoff) of a request the archive fails.")
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON list with one report per target: what was recorded, skipped and why.")
@click.pass_context
def wayback_command(ctx, target, from_year, to_year, max_fetches, period, base_url, delay, retries,
                    as_json):
    """Backfill TARGET (an id or its URL) from the Wayback Machine, oldest first.

    Runs before the target's first live capture; a killed or --max-limited run resumes where
    it stopped. Backfilled changes never alert.
    """
    store = _store(ctx)
    client = WaybackClient(base_url, delay=delay, retries=retries)
    try:
        report = backfill_wayback(store, resolve_target(store, target), client, from_year=from_year,
                                  to_year=to_year, period=period, max_fetches=max_fetches,
                                  progress=_progress)
    finally:
        client.close()
    _finish([report], as_json)


@backfill_group.command("ota")
@click.argument("repo", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--service", default=None, help="Only this service (its directory in the repository).")
@click.option("--type", "terms_type", default=None, help='Only this terms type, e.g. "Privacy Policy".')
@click.option("--url", default=None, help="Create the target with this URL if none tracks the "
              "document (needs --service and --type).")
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON list with one report per document: what was recorded, skipped and why.")
@click.pass_context
def ota_command(ctx, repo, service, terms_type, url, as_json):
    """Import REPO, a local clone of an Open Terms Archive *-versions repository.

    <Service>/<Terms type>.md goes to the target whose company is the service and whose type is
    the terms type. Technical-upgrade commits are skipped. Backfilled changes never alert.
    """
    reports = backfill_ota(_store(ctx), repo, service=service, terms_type=terms_type, url=url,
                           progress=_progress)
    _finish(reports, as_json)
