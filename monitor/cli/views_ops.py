"""What ``policywatch status``, ``maintain`` and ``summaries rebuild`` print for a person (their ``--json`` prints the
dicts these read). Names and errors come from crawled pages and users: they go into rich
``Text``, never into markup, so ``[/]`` in a company name prints as it is."""

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from monitor.cli.options import one_line
from monitor.record import SummaryRebuild


def human_size(count: int) -> str:
    """A byte count as people write it: ``512 B``, ``12.3 kB``, ``1.2 MB``."""
    size = float(count)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{int(size)} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def _counts(by_key: dict[str, int], empty: str) -> str:
    """``{"ok": 2, "failing": 1}`` as ``2 ok, 1 failing`` (largest first)."""
    if not by_key:
        return empty
    return ", ".join(f"{n} {key}" for key, n in sorted(by_key.items(), key=lambda item: (-item[1], item[0])))


def _day(stamp: str | None, never: str = "never") -> str:
    return (stamp or "")[:16].replace("T", " ") or never


def status_renderables(report: dict) -> list[RenderableType]:
    """The ``status`` report as an overview table, a table of failing targets (if any) and a
    last line that says whether all is well."""
    database, targets, outbox = report["database"], report["targets"], report["outbox"]
    overview = Table(title="Status", title_justify="left", show_header=False)
    overview.add_column("what", style="bold")
    overview.add_column("value", overflow="fold")
    rows = [
        ("database", f"{database['path']}"),
        ("size", f"{human_size(database['bytes'])}: {database['versions']} versions, "
                 f"{database['snapshots']} raw snapshots"),
        ("targets", f"{targets['total']} ({_counts(targets['by_state'], 'none yet')})"),
        ("due now", str(targets["due_now"])),
        ("last success", _day(targets["last_success_at"])),
        ("captures, last 24 h", _counts(report["captures_last_24h"], "none")),
        ("outbox backlog", f"{outbox['backlog']} ({_counts(outbox['by_status'], 'empty')})"),
        ("oldest pending alert", _day(outbox["oldest_pending_at"], "-")),
    ]
    for label, value in rows:
        overview.add_row(label, Text(value))
    shown: list[RenderableType] = [overview]
    if report["failing"]:
        failing = Table(title="Failing targets", title_justify="left")
        for column in ("id", "company", "type", "state", "failures", "reason", "last success"):
            failing.add_column(column, overflow="fold")
        for t in report["failing"]:
            failing.add_row(str(t["id"]), Text(t["company"]), Text(t["doc_type"]),
                            Text(t["state"], style="red"), str(t["consecutive_failures"]),
                            Text(one_line(t["last_error"] or "")), _day(t["last_success_at"]))
        shown.append(failing)
    shown.append(Text("healthy", style="green") if report["healthy"]
                 else Text("NOT healthy: broken targets or dead alerts", style="bold red"))
    return shown


def maintenance_sentences(result: dict, keep_days: int | None) -> list[str]:
    """One sentence per thing ``maintain`` did (see ``monitor.store.maintenance.maintain``), the
    integrity check's last when it passed."""
    sentences = []
    if keep_days is not None:
        deleted = result["snapshots_deleted"]
        if deleted:
            sentences.append(f"Deleted {deleted} raw snapshot(s) that only unchanged or failed captures "
                             f"older than {keep_days} day(s) pointed at ({human_size(result['bytes_freed'])} "
                             "compressed freed); every version keeps its own.")
        else:
            sentences.append(f"No raw snapshot to delete: each is a version's or a capture's of the last "
                             f"{keep_days} day(s).")
    if "bytes_before" in result:
        sentences.append(f"Checkpointed the WAL and vacuumed the database: {human_size(result['bytes_before'])}"
                         f" before, {human_size(result['bytes_after'])} after.")
    if keep_days is None and "bytes_before" not in result:
        sentences.append("Nothing to prune or vacuum: pass --prune-unchanged-days N and/or --vacuum.")
    # A failed integrity check is the command's error line, not one more sentence.
    if result["integrity"] == "ok":
        sentences.append("The integrity check found no problem.")
    return sentences


def rebuild_sentence(report: SummaryRebuild) -> str:
    """``summaries rebuild``'s one line: what was checked, rewritten and left alone."""
    which = "change(s) without a summary" if report.missing_only else "change(s)"
    rewritten = "would be rewritten" if report.dry_run else "rewritten"
    line = (f"summaries: {report.checked} {which} checked, {report.rebuilt} {rewritten} "
            f"({report.missing} had none), {report.checked - report.rebuilt} already current")
    return line + ("; dry run, nothing written" if report.dry_run else "")
