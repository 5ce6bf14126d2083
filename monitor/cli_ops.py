"""CLI commands for operators: ``run`` (the daemon), ``status``, ``maintain``."""

import json

import click
from rich.console import Console
from rich.table import Table

from .cli_options import PolicywatchCommand

err = Console(stderr=True, highlight=False)


@click.command("run", cls=PolicywatchCommand)
@click.option("--tick", default=60.0, show_default=True, help="Longest sleep between ticks, seconds.")
@click.option("--batch", default=500, show_default=True, help="Most targets claimed per tick.")
@click.option("--lease", default=900, show_default=True,
              help="Seconds a claimed target stays claimed if this process dies.")
@click.option("--no-notify", is_flag=True, help="Do not send the outbox after each tick.")
@click.option("--ticks", "max_ticks", type=int, default=None, help="Stop after this many ticks.")
@click.option("--timeout", default=30.0, show_default=True, help="Download timeout in seconds.")
@click.option("--redis", "redis_url", envvar="POLICYWATCH_REDIS", default=None,
              help="Distribute fetching: push claimed targets to this Redis for `policywatch worker`s "
                   "and record what they send back (env POLICYWATCH_REDIS; see docs/scale-out.md).")
@click.option("--redis-prefix", default="policywatch", show_default=True,
              help="Redis key prefix (one per store; the workers' --prefix).")
@click.pass_context
def run_command(ctx, tick, batch, lease, no_notify, max_ticks, timeout, redis_url, redis_prefix):
    """Run as a daemon: crawl due targets, record, send alerts; stop with SIGTERM/SIGINT."""
    import notify
    from crawler.daemon import run_daemon
    notify.install()
    if redis_url:
        from crawler.distributed import run_distributed
        err.print(f"policywatch daemon on {ctx.obj['db']}, fetching through workers on {redis_url}; "
                  "SIGTERM to stop")
        counts = run_distributed(ctx.obj["db"], redis_url, prefix=redis_prefix, tick_seconds=tick,
                                 batch=batch, lease_seconds=lease, notify=not no_notify, max_ticks=max_ticks)
        err.print(f"stopped after {counts['ticks']} tick(s): {counts['captures']} capture(s), "
                  f"{counts['requeued']} re-queued, {counts['stale']} stale, {counts['rejected']} rejected, "
                  f"{counts['released']} claim(s) released")
        click.echo(json.dumps(counts))
        return
    err.print(f"policywatch daemon on {ctx.obj['db']} (pid file {ctx.obj['db']}.lock); SIGTERM to stop")
    counts = run_daemon(ctx.obj["db"], tick_seconds=tick, batch=batch, lease_seconds=lease,
                        notify=not no_notify, max_ticks=max_ticks, overrides={"DOWNLOAD_TIMEOUT": timeout})
    err.print(f"stopped after {counts['ticks']} tick(s): {counts['captures']} capture(s), "
              f"{counts['released']} claim(s) released")


@click.command("status", cls=PolicywatchCommand)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def status_command(ctx, as_json):
    """Targets by state, failing targets and why, outbox backlog, database size."""
    from .health import status_report
    from .store import open_store
    report = status_report(open_store(ctx.obj["db"]))
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    out = Console(highlight=False)
    targets = report["targets"]
    out.print(f"database {report['database']['path']}: {report['database']['bytes'] / 1e6:.1f} MB, "
              f"{report['database']['versions']} versions, {report['database']['snapshots']} raw snapshots")
    out.print(f"targets: {targets['total']} ({', '.join(f'{n} {s}' for s, n in sorted(targets['by_state'].items()))}); "
              f"due now: {targets['due_now']}; last success: {targets['last_success_at'] or 'never'}")
    out.print(f"captures in the last 24 h: {report['captures_last_24h'] or 'none'}")
    outbox = report["outbox"]
    out.print(f"outbox backlog: {outbox['backlog']} ({outbox['by_status'] or 'empty'}); "
              f"oldest pending: {outbox['oldest_pending_at'] or '-'}")
    if report["failing"]:
        table = Table(title="Failing targets", title_justify="left")
        for column in ("id", "company", "type", "state", "failures", "reason", "last success"):
            table.add_column(column, overflow="fold")
        for t in report["failing"]:
            table.add_row(str(t["id"]), t["company"], t["doc_type"], t["state"], str(t["consecutive_failures"]),
                          t["last_error"] or "", t["last_success_at"] or "never")
        out.print(table)
    out.print("healthy" if report["healthy"] else "NOT healthy: broken targets or dead alerts",
              style="green" if report["healthy"] else "bold red")


@click.command("maintain", cls=PolicywatchCommand)
@click.option("--prune-unchanged-days", type=click.IntRange(0), default=None,
              help="Delete raw bodies only unchanged/failed captures older than this many days need.")
@click.option("--vacuum", is_flag=True, help="Checkpoint the WAL and VACUUM the database.")
@click.pass_context
def maintain_command(ctx, prune_unchanged_days, vacuum):
    """Storage upkeep under the writer lock (refuses while a daemon runs)."""
    from .maintenance import maintain
    from .store import open_store
    result = maintain(open_store(ctx.obj["db"]), keep_unchanged_days=prune_unchanged_days, run_vacuum=vacuum)
    click.echo(json.dumps(result))
