"""CLI commands for operators: ``crawl`` (one pass), ``run`` (the daemon), ``status``, ``maintain``."""

import json
import sys

import click
from rich.console import Console

from monitor.cli import common
from monitor.cli.options import PolicywatchCommand, SettingOption
from monitor.errors import PolicywatchError

err = Console(stderr=True, highlight=False)


@click.command("run", cls=PolicywatchCommand)
@click.option("--tick", default=60.0, show_default=True, help="Longest sleep between ticks, seconds.")
@click.option("--batch", default=500, show_default=True, help="Most targets claimed per tick.")
@click.option("--lease", default=900, show_default=True,
              help="Seconds a claimed target stays claimed if this process dies.")
@click.option("--no-notify", is_flag=True, help="Do not send the outbox after each tick.")
@click.option("--ticks", "max_ticks", type=int, default=None, help="Stop after this many ticks.")
@click.option("--timeout", default=30.0, show_default=True, help="Download timeout in seconds.")
@click.option("--redis", "redis_url", cls=SettingOption, setting="redis", default=None,
              help="Distribute fetching: push claimed targets to this Redis for `policywatch worker`s "
                   "and record what they send back (env POLICYWATCH_REDIS; see docs/scale-out.md).")
@click.option("--redis-prefix", default="policywatch", show_default=True,
              help="Redis key prefix (one per store; the workers' --prefix).")
@click.pass_context
def run_command(ctx, tick, batch, lease, no_notify, max_ticks, timeout, redis_url, redis_prefix):
    """Run as a daemon: crawl due targets, record, send alerts; stop with SIGTERM/SIGINT."""
    # this command's own imports, loaded when it runs: the CLI starts fast (docs/cli.md)
    import notify
    from crawler.daemon import run_daemon

    common.database_path(ctx)  # a missing database is an error here, not a new empty one to watch
    notify.install()
    if redis_url:
        # this command's own imports, loaded when it runs: the CLI starts fast (docs/cli.md)
        from crawler.redis import require_extra
        require_extra("run --redis")
        from crawler.redis.distributed import run_distributed  # needs the redis extra
        err.print(f"policywatch daemon on {ctx.obj['db']}, fetching through workers on {redis_url}; "
                  "SIGTERM to stop", markup=False)
        counts = run_distributed(ctx.obj["db"], redis_url, prefix=redis_prefix, tick_seconds=tick,
                                 batch=batch, lease_seconds=lease, notify=not no_notify, max_ticks=max_ticks)
        err.print(f"stopped after {counts['ticks']} tick(s): {counts['captures']} capture(s), "
                  f"{counts['requeued']} re-queued, {counts['stale']} stale, {counts['rejected']} rejected, "
                  f"{counts['released']} claim(s) released")
        click.echo(json.dumps(counts))
        return
    err.print(f"policywatch daemon on {ctx.obj['db']} (pid file {ctx.obj['db']}.lock); SIGTERM to stop",
              markup=False)
    counts = run_daemon(ctx.obj["db"], tick_seconds=tick, batch=batch, lease_seconds=lease,
                        notify=not no_notify, max_ticks=max_ticks, overrides={"DOWNLOAD_TIMEOUT": timeout})
    err.print(f"stopped after {counts['ticks']} tick(s): {counts['captures']} capture(s), "
              f"{counts['released']} claim(s) released")


@click.command("status", cls=PolicywatchCommand)
@click.option("--json", "as_json", is_flag=True,
              help="Print the report as one JSON object (database, targets, failing, captures_last_24h, "
                   "outbox, healthy) instead of the tables.")
@click.pass_context
def status_command(ctx, as_json):
    """Targets by state, failing targets and why, outbox backlog, database size."""
    # this command's own imports, loaded when it runs: the CLI starts fast (docs/cli.md)
    from monitor.cli.views_ops import status_renderables
    from monitor.store import status_report
    report = status_report(common.open_cli_store(ctx))
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    # Rich assumes 80 columns when output is not a terminal; reasons and paths need more.
    out = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    for renderable in status_renderables(report):
        out.print(renderable)


class IntegrityFailed(PolicywatchError):
    """SQLite's integrity check found a problem in the database."""


@click.command("maintain", cls=PolicywatchCommand)
@click.option("--prune-unchanged-days", type=click.IntRange(0), default=None,
              help="Delete raw bodies only unchanged/failed captures older than this many days need.")
@click.option("--vacuum", is_flag=True, help="Checkpoint the WAL and VACUUM the database.")
@click.option("--json", "as_json", is_flag=True,
              help="Also print what was done as one JSON object (snapshots_deleted, bytes_freed, "
                   "bytes_before, bytes_after, integrity).")
@click.pass_context
def maintain_command(ctx, prune_unchanged_days, vacuum, as_json):
    """Storage upkeep under the writer lock (refuses while a daemon runs); one sentence per action.

    Exits 1 if SQLite's integrity check finds a problem.
    """
    # this command's own imports, loaded when it runs: the CLI starts fast (docs/cli.md)
    from monitor.cli.views_ops import maintenance_sentences
    from monitor.store import maintain
    result = maintain(common.open_cli_store(ctx), keep_unchanged_days=prune_unchanged_days, run_vacuum=vacuum)
    if as_json:
        click.echo(json.dumps(result))
    for sentence in maintenance_sentences(result, prune_unchanged_days):
        click.echo(sentence, err=True)
    if result["integrity"] != "ok":
        raise IntegrityFailed(f"the integrity check of {ctx.obj['db']} failed: {result['integrity']}")


@click.command("crawl", cls=PolicywatchCommand)
@click.option("--all", "include_all", is_flag=True, help="Fetch every target, due or not.")
@click.option("--company", multiple=True, help="Only this company's targets (repeatable: "
              "--company A --company B crawls both).")
@click.option("--timeout", default=30.0, show_default=True, help="Download timeout in seconds.")
@click.option("--no-notify", is_flag=True, help="Do not send the outbox after crawling.")
@click.option("--json", "as_json", is_flag=True,
              help="At the end, print a JSON list with one object per capture (target_id, url, status, "
                   "outcome, capture_id, version_id, change_id, error).")
@click.pass_context
def crawl_command(ctx, include_all, company, timeout, no_notify, as_json):
    """One pass over due targets, then name the targets that changed and how (on stderr).

    Exits 3 if any fetch failed.
    """
    # this command's own imports, loaded when it runs: the CLI starts fast (docs/cli.md)
    from crawler.passes import crawl_due

    # Imported here: views (rich tables, diff, summaries) adds ~0.2 s to `status` and the
    # other commands of this module that never print changes (measured with -X importtime).
    from monitor.cli import views
    report = crawl_due(common.open_cli_store(ctx), include_all=include_all, companies=company,
                       timeout=timeout, notify=not no_notify, console=common.err,
                       show_changes=views.print_crawl_changes)
    if as_json:
        common.emit_json(report["captures"])
    sys.exit(common.EXIT_SOME_FETCHES_FAILED if report["failed"] else 0)
