"""The ``policywatch`` command line: each command parses arguments and calls one library function.

Machine-readable output (``--json``) goes to stdout; messages go to stderr. Every failure is one
line on stderr and a non-zero exit. This module is the composition root: it wires the notifier
to monitor events and, for ``crawl``, hands targets to the Scrapy crawler.
"""

import importlib
import json
import logging
import sqlite3
import sys
from pathlib import Path

import click
from rich.console import Console

from monitor.cli import views
from monitor.cli.options import PolicywatchCommandGroup, one_line
from monitor.compare.comparison import diff_report
from monitor.compare.summary import with_summary
from monitor.errors import InputError, PolicywatchError
from monitor.extract.extractor import extract
from monitor.store.database import (
    DEFAULT_DOC_TYPE,
    default_db_path,
    open_store,
    require_database,
)
from monitor.targets.checks import check_new_target, check_target_selectors
from monitor.timeutil import parse_interval

EXIT_FAILED = 1
EXIT_SOME_FETCHES_FAILED = 3

# Rich assumes 80 columns when output is not a terminal; tables of URLs need more.
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, highlight=False, soft_wrap=True, width=None if sys.stderr.isatty() else 160)


# Each failed fetch is reported once, as a capture line; these Scrapy loggers would repeat it.
# (A filter on our handler, because Scrapy reconfigures its loggers when a crawl starts.)
_REPEATING_LOGGERS = ("scrapy.downloadermiddlewares.retry", "scrapy.downloadermiddlewares.redirect",
                      "scrapy.core.downloader.handlers.http11", "scrapy.core.scraper")


def _drop_repeated_fetch_errors(record: logging.LogRecord) -> bool:
    return not record.name.startswith(_REPEATING_LOGGERS)


class JsonLogFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message (and the exception, if any)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"), "level": record.levelname,
                 "logger": record.name, "message": record.getMessage()}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class PolicywatchGroup(PolicywatchCommandGroup):
    """Turns policywatch errors into one readable line and a non-zero exit."""

    def invoke(self, ctx):
        """Run the command; a policywatch error becomes one line on stderr and exit 1."""
        try:
            return super().invoke(ctx)
        except PolicywatchError as error:
            click.echo(f"policywatch: error: {one_line(str(error))}", err=True)
            sys.exit(EXIT_FAILED)
        except KeyboardInterrupt:
            click.echo("policywatch: interrupted", err=True)
            sys.exit(130)
        except BrokenPipeError:
            sys.exit(EXIT_FAILED)  # the reader of our output went away (`| head`): nothing to say
        except OSError as error:
            # A full disk, a read-only or vanished directory: one line (the traceback only with
            # -vv), whichever writer met it. What was committed before stays consistent.
            logging.getLogger("policywatch").debug("OS error", exc_info=True)
            where = f": {error.filename}" if error.filename else ""
            click.echo(f"policywatch: error: {one_line(error.strerror or str(error))}{where}", err=True)
            sys.exit(EXIT_FAILED)
        except sqlite3.Error as error:
            logging.getLogger("policywatch").debug("SQLite error", exc_info=True)
            click.echo(f"policywatch: error: the database failed: {one_line(str(error))}", err=True)
            sys.exit(EXIT_FAILED)


def database_path(ctx, create: bool = False) -> str:
    """The ``--db``/``POLICYWATCH_DB`` path, checked: unless ``create``, a missing file is a
    one-line error (``DatabaseMissing``) rather than a new empty database that answers
    "no targets yet" to a typo. The one gate every command's database goes through; only
    ``init``, ``target add``/``import``, ``subscribe`` and ``backfill`` pass ``create``."""
    path = ctx.obj["db"]
    if not create:
        require_database(path)
    return path


def _store(ctx, create: bool = False):
    """The command's store (see ``database_path``), with the notifier listening to its events."""
    import notify
    notify.install()
    return open_store(database_path(ctx, create), create=create)


def _emit_json(data) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def _read_local(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError as error:
        raise InputError(f"no such file: {path}") from error
    except IsADirectoryError as error:
        raise InputError(f"{path} is a directory, not a file") from error
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror}") from error


def _extract_file(path: str, select=(), remove=(), url: str = "") -> str:
    return extract(_read_local(path), None, url=url, select=select, remove=remove, name=path).text


@click.group(cls=PolicywatchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", "db_path", envvar="POLICYWATCH_DB", default=None, metavar="PATH",
              help="SQLite database (env POLICYWATCH_DB; default data/policywatch.db).")
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv for debug).")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              envvar="POLICYWATCH_LOG_FORMAT", help="json: one JSON object per log line (for log shippers).")
@click.version_option(package_name="policywatch")
@click.pass_context
def cli(ctx, db_path, verbose, log_format):
    """Watch privacy policies, keep every version, tell a material change from noise."""
    # The level sits on the handler, not the root logger: Scrapy sets its own loggers to DEBUG.
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.WARNING - 10 * min(verbose, 2))
    handler.setFormatter(JsonLogFormatter() if log_format == "json"
                         else logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.DEBUG, handlers=[handler])
    if not verbose:
        handler.addFilter(_drop_repeated_fetch_errors)
    ctx.obj = {"db": db_path or default_db_path()}


@cli.command()
@click.pass_context
def init(ctx):
    """Create or migrate the database."""
    store = _store(ctx, create=True)
    err.print(f"database ready: {store.path}", markup=False)


@cli.group()
def target():
    """Add, edit, list and remove watched documents."""


@target.command("add")
@click.argument("url")
@click.option("--company", required=True, help="Company name, e.g. Acme.")
@click.option("--type", "doc_type", default=DEFAULT_DOC_TYPE, show_default=True, help="Document type.")
@click.option("--select", multiple=True, metavar="CSS", help="CSS selector of the policy text (repeatable).")
@click.option("--remove", multiple=True, metavar="CSS", help="CSS selector of parts to drop (repeatable).")
@click.option("--every", default="1d", show_default=True, help="Fetch interval: 30m, 6h, 1d, 1w.")
@click.option("--json", "as_json", is_flag=True, help="Print the new target as one JSON object on stdout.")
@click.pass_context
def target_add(ctx, url, company, doc_type, select, remove, every, as_json):
    """Watch URL as COMPANY's document."""
    every_seconds = parse_interval(every)
    check_new_target(url, company, list(select), list(remove))  # a refused target creates no database
    added = _store(ctx, create=True).add_target(url, company, doc_type, list(select), list(remove), every_seconds)
    if as_json:
        _emit_json(added)
    err.print(f"added target {added['id']}: {added['company']} — {added['doc_type']} ({added['url']})",
              markup=False)


# What `target edit` says about re-deriving the latest version, by reextract outcome.
_REDERIVED = {
    "upgraded": "the latest version was re-derived from its stored page as version {version_id} "
                "(a technical upgrade: no alert)",
    "unchanged": "the latest version's text is the same with the new selectors",
    "no-snapshot": "no version yet: the next crawl uses the new selectors",
}


@target.command("edit")
@click.argument("target_id", type=int)
@click.option("--company", default=None, help="New company name.")
@click.option("--type", "doc_type", default=None, help="New document type.")
@click.option("--select", multiple=True, metavar="CSS",
              help="CSS selector of the policy text (repeatable); replaces the target's selectors.")
@click.option("--no-select", is_flag=True, help="Clear the selectors: main-content detection picks the text.")
@click.option("--remove", multiple=True, metavar="CSS",
              help="CSS selector of parts to drop (repeatable); replaces the target's list.")
@click.option("--no-remove", is_flag=True, help="Clear the parts to drop.")
@click.option("--every", default=None, help="Fetch interval: 30m, 6h, 1d, 1w.")
@click.option("--render", type=click.Choice(["js", "plain", "none"]), default=None,
              help="js: fetch through Chromium; plain (or none): plain HTTP.")
@click.option("--json", "as_json", is_flag=True, help="Print the edited target, with the re-extraction's "
              "outcome under 'reextract', as JSON.")
@click.pass_context
def target_edit(ctx, target_id, company, doc_type, select, no_select, remove, no_remove, every, render,
                as_json):
    """Change a target's selectors, schedule, company, type or rendering.

    A selector change re-derives the latest version from its stored page, as `reextract` does:
    a technical upgrade, never an alert. History is kept as it was recorded.
    """
    from monitor.record.reextract import reextract_target
    for given, cleared, name in ((select, no_select, "select"), (remove, no_remove, "remove")):
        if given and cleared:
            raise InputError(f"--{name} and --no-{name} contradict each other: give one")
    new_select = [] if no_select else list(select) if select else None
    new_remove = [] if no_remove else list(remove) if remove else None
    if all(v is None for v in (company, doc_type, new_select, new_remove, every, render)):
        raise InputError("nothing to change: give --select, --remove, --every, --company, --type or --render")
    every_seconds = parse_interval(every) if every is not None else None
    store = _store(ctx)
    before = store.get_target(target_id)
    if new_select is not None or new_remove is not None:
        check_target_selectors(new_select or [], new_remove or [])  # nothing written if refused
    edited = store.edit_target(target_id, company=company, doc_type=doc_type, select=new_select,
                               remove=new_remove, every_seconds=every_seconds,
                               render="plain" if render == "none" else render)
    changed = [key for key in ("company", "doc_type", "select", "remove", "every_seconds", "render")
               if edited[key] != before[key]]
    outcome = None
    if "select" in changed or "remove" in changed:
        outcome = reextract_target(store, edited)
    if as_json:
        _emit_json({**edited, "reextract": outcome.as_json() if outcome else None})
    err.print(f"edited target {target_id}: {edited['company']} — {edited['doc_type']}: "
              f"{', '.join(changed) or 'nothing changed'}", markup=False)
    if outcome and outcome.outcome == "error":
        # The edit stands: the stored page may predate a redesign the new selectors are for.
        err.print(f"warning: the new selectors do not extract the latest stored page ({outcome.error}); "
                  "the next crawl will tell", markup=False)
    elif outcome:
        err.print(_REDERIVED[outcome.outcome].format(version_id=outcome.version_id), markup=False)


@target.command("list")
@click.option("--company", multiple=True, help="Only this company's targets (repeatable).")
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON list of targets (id, company, type, url, state, last_error, "
                   "last_success, versions, next_fetch_at, every_seconds, select, remove).")
@click.pass_context
def target_list(ctx, company, as_json):
    """List targets with their state, versions and schedule."""
    store = _store(ctx)
    targets = [t for name in company for t in store.list_targets(name)] if company else store.list_targets()
    if as_json:
        _emit_json([{
            "id": t["id"], "company": t["company"], "type": t["doc_type"], "url": t["url"],
            "state": t["state"], "last_error": t["last_error"], "last_success": t["last_success_at"],
            "versions": t["versions"], "next_fetch_at": t["next_fetch_at"], "every_seconds": t["every_seconds"],
            "select": t["select"], "remove": t["remove"]} for t in targets])
    elif targets:
        out.print(views.targets_table(targets))
    else:
        err.print("no targets yet: add one with `policywatch target add URL --company NAME`")


@target.command("remove")
@click.argument("target_id", type=int)
@click.pass_context
def target_remove(ctx, target_id):
    """Stop watching a target (its history is kept as evidence; `target add` resumes it)."""
    _store(ctx).remove_target(target_id)
    err.print(f"removed target {target_id}")


@cli.command()
@click.option("--all", "include_all", is_flag=True, help="Fetch every target, due or not.")
@click.option("--company", multiple=True, help="Only this company's targets (repeatable: "
              "--company A --company B crawls both).")
@click.option("--timeout", default=30.0, show_default=True, help="Download timeout in seconds.")
@click.option("--no-notify", is_flag=True, help="Do not send the outbox after crawling.")
@click.option("--json", "as_json", is_flag=True,
              help="At the end, print a JSON list with one object per capture (target_id, url, status, "
                   "outcome, capture_id, version_id, change_id, error).")
@click.pass_context
def crawl(ctx, include_all, company, timeout, no_notify, as_json):
    """One pass over due targets, then name the targets that changed and how (on stderr).

    Exits 3 if any fetch failed.
    """
    from crawler.passes import crawl_due
    report = crawl_due(_store(ctx), include_all=include_all, companies=company, timeout=timeout,
                       notify=not no_notify, console=err)
    if as_json:
        _emit_json(report["captures"])
    sys.exit(EXIT_SOME_FETCHES_FAILED if report["failed"] else 0)


@cli.command()
@click.argument("company", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON list with one object per target: its fields, its versions (without "
                   "their text) and its changes.")
@click.pass_context
def history(ctx, company, as_json):
    """The versions of COMPANY's documents and the changes between them (several companies: all)."""
    store = _store(ctx)
    if as_json:
        _emit_json([{**t, "versions": [{k: v for k, v in ver.items() if k != "text"}
                                       for ver in store.versions(t["id"])],
                     "changes": [with_summary(c) for c in store.changes(t["id"])]}
                    for name in company for t in store.list_targets(name)])
    else:
        for name in company:
            views.print_history(out, store, name)


@cli.command()
@click.argument("change_id", type=int)
@click.option("--json", "as_json", is_flag=True,
              help="Print the change as one JSON object (classification, evidence, hunks), without the diff.")
@click.pass_context
def show(ctx, change_id, as_json):
    """One change: classification, evidence and the word diff."""
    store = _store(ctx)
    change = with_summary(store.get_change(change_id))
    if as_json:
        _emit_json(change)
    else:
        views.print_change(out, store, change)


@cli.command()
@click.argument("old", type=click.Path(dir_okay=False))
@click.argument("new", type=click.Path(dir_okay=False))
@click.option("--select", multiple=True, metavar="CSS", help="CSS selector of the text (HTML files).")
@click.option("--remove", multiple=True, metavar="CSS", help="CSS selector to drop (HTML files).")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object: class, severity, topics, direction, evidence, the changed "
                   "sentences (changes), stats and language.")
def diff(old, new, select, remove, as_json):
    """Compare two local files (HTML, Markdown, text or PDF). Never touches the database."""
    old_text = _extract_file(old, select, remove)
    new_text = _extract_file(new, select, remove)
    report = diff_report(old_text, new_text)
    if as_json:
        _emit_json(report)
        return
    from monitor.compare.diff import word_diff
    out.print(views.classification_line(report))
    views.print_evidence(out, report["evidence"], report["changes"])
    out.print()
    out.print(views.diff_renderable(out, word_diff(old_text, new_text)))


@cli.command("extract")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--select", multiple=True, metavar="CSS", help="CSS selector of the text (repeatable).")
@click.option("--remove", multiple=True, metavar="CSS", help="CSS selector to drop (repeatable).")
@click.option("--url", default="", help="Base URL to make links absolute.")
@click.option("--declaration", "declaration", default=None, type=click.Path(dir_okay=False),
              metavar="DECL.json", help="An Open Terms Archive terms object (fetch/select/remove).")
def extract_command(file, select, remove, url, declaration):
    """Print the normalised Markdown of a local file. Never touches the database."""
    if declaration:
        from monitor.targets.declarations import extraction_options, read_terms_object
        terms = read_terms_object(Path(declaration))
        options = extraction_options(terms)
        select, remove = [*options["select"], *select], [*options["remove"], *remove]
        url = url or terms.get("fetch", "")
    click.echo(_extract_file(file, select, remove, url), nl=False)


@cli.command()
@click.argument("apprise_url")
@click.option("--company", multiple=True, help="Only these companies (repeatable; default: all).")
@click.option("--type", "doc_type", multiple=True, help="Only these document types (repeatable).")
@click.option("--topic", multiple=True, help="Only changes with one of these topics (repeatable).")
@click.option("--min-severity", default=1, show_default=True, type=click.IntRange(0, 3),
              help="Least severity of a material change (0 none … 3 high).")
@click.option("--class", "class_filter", default="material", show_default=True,
              type=click.Choice(["material", "editorial", "any"]),
              help="material only; editorial adds wording changes; any adds noise too.")
@click.option("--digest", default="none", show_default=True, type=click.Choice(["none", "daily", "weekly"]),
              help="One message per change (none), or one summary a day or a week.")
@click.option("--format", "fmt", default="text", show_default=True, type=click.Choice(["text", "markdown", "html"]))
@click.option("--operator", is_flag=True, help="Also alert when a target turns broken or recovers.")
@click.option("--name", default="", help="A label for this subscription.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the new subscription (URL redacted) as one JSON object on stdout.")
@click.pass_context
def subscribe(ctx, apprise_url, company, doc_type, topic, min_severity, class_filter, digest, fmt,
              operator, name, as_json):
    """Send alerts to APPRISE_URL (mailto://, json://, slack://, matrix://… see apprise's wiki).

    The URL is a secret: it goes to the owner-only secrets file beside the database (or
    POLICYWATCH_SECRETS), never into the database, and is only ever shown redacted. Give
    env:NAME instead to read it from the environment variable NAME at every send.
    """
    from notify.subscriptions import add_subscription

    from monitor.compare.classify import TOPICS
    unknown = sorted(set(topic) - set(TOPICS))
    if unknown:
        raise InputError(f"unknown topic(s) {', '.join(unknown)}; known: {', '.join(TOPICS)}")
    added = add_subscription(_store(ctx, create=True), apprise_url, name=name, companies=company, doc_types=doc_type,
                             topics=topic, min_severity=min_severity, class_filter=class_filter,
                             digest=digest, fmt=fmt, operator=operator)
    if as_json:
        _emit_json(added)
    err.print(f"subscription {added['id']}: {added['apprise_url']}", markup=False)


@cli.command()
@click.option("--all", "include_inactive", is_flag=True, help="Include unsubscribed ones.")
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON list of subscriptions (URLs redacted, with sent/waiting/dead counts).")
@click.pass_context
def subscriptions(ctx, include_inactive, as_json):
    """List subscriptions (apprise URLs redacted) with their outbox counts."""
    from notify.subscriptions import list_subscriptions
    found = list_subscriptions(_store(ctx), include_inactive=include_inactive)
    if as_json:
        _emit_json(found)
        return
    if not found:
        err.print("no subscriptions yet: add one with `policywatch subscribe APPRISE_URL`")
    for sub in found:
        filters = " ".join(f"{k}={','.join(sub[k])}" for k in ("companies", "doc_types", "topics") if sub[k])
        flags = (" operator" if sub["operator"] else "") + ("" if sub["active"] else " (unsubscribed)")
        out.print(f"{sub['id']}  {sub['apprise_url']}  class={sub['class_filter']} "
                  f"min-severity={sub['min_severity']} digest={sub['digest']} format={sub['format']} "
                  f"{filters}{flags}  sent={sub['sent']} waiting={sub['waiting']} dead={sub['dead']}"
                  f"{'  ' + sub['name'] if sub['name'] else ''}", markup=False)


@cli.command()
@click.argument("subscription_id", type=int)
@click.pass_context
def unsubscribe(ctx, subscription_id):
    """Stop a subscription; its waiting alerts are cancelled, its history kept."""
    from notify.subscriptions import remove_subscription
    remove_subscription(_store(ctx), subscription_id)
    err.print(f"unsubscribed {subscription_id}")


@cli.command("notify")
@click.option("--base-url", default=None, help="Base URL of the web UI, for links in alerts "
              "(env POLICYWATCH_BASE_URL).")
@click.option("--template-dir", default=None, type=click.Path(file_okay=False),
              help="Directory of templates overriding the bundled ones (env POLICYWATCH_TEMPLATES).")
@click.option("--limit", default=None, type=click.IntRange(1),
              help="Most deliveries to send in this pass (default: every due one); the rest stay queued.")
@click.option("--flush-digests", is_flag=True, help="Send waiting digests now, not at the end of their period.")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object: this pass's counts (sent, failed, dead, …) and the outbox's.")
@click.pass_context
def notify_command(ctx, base_url, template_dir, limit, flush_digests, as_json):
    """Send due alerts and digests from the outbox; retry failed ones whose backoff has passed.

    Retries: POLICYWATCH_NOTIFY_MAX_ATTEMPTS (8), POLICYWATCH_NOTIFY_BACKOFF_SECONDS (60, doubling),
    POLICYWATCH_NOTIFY_BACKOFF_CAP_SECONDS (21600), POLICYWATCH_NOTIFY_LEASE_SECONDS (600).
    Channels are sent to in parallel (POLICYWATCH_NOTIFY_PARALLEL_SENDS, 8), each send given at
    most POLICYWATCH_NOTIFY_SEND_DEADLINE_SECONDS (30).
    """
    from notify.messages import sample_context_for
    from notify.outbox import outbox_counts, send_pending
    from notify.render import check_templates
    from notify.settings import NotifySettings
    settings = NotifySettings.from_env(base_url=base_url, template_dir=template_dir)
    # A broken override fails here, before anything is claimed: nothing is lost or half-sent.
    check_templates(settings.template_dir or None, sample_context_for)
    store = _store(ctx)
    stop = _stop_on_signals()
    report = send_pending(store, limit=limit, settings=settings, flush_digests=flush_digests, stop=stop)
    if as_json:
        _emit_json({**report.as_dict(), "outbox": outbox_counts(store)})
    err.print(f"alerts sent: {report.sent}, failed (will retry): {report.failed}, given up: {report.dead}"
              + (f", digests composed: {report.digests}" if report.digests else "")
              + (f", resumed after an interrupted send: {report.resumed}" if report.resumed else "")
              + (f", stopped: {report.released} put back to pending" if report.released else ""))


def _stop_on_signals():
    """An event set by SIGTERM/SIGINT: the outbox stops starting sends, puts the ones in flight
    back to pending after a short grace, and the command ends."""
    import signal
    import threading
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    return stop


@cli.command()
@click.option("--workdir", default="data/demo", show_default=True, help="Where the demo keeps its files.")
def demo(workdir):
    """Serve the bundled sample policies locally, crawl, edit, crawl again, show the alert."""
    from monitor.cli.demo import run_demo
    run_demo(Path(workdir), out)


# Commands that live in their own modules: (group, module, attribute, name). Imported here,
# after the groups exist, because those modules are free to import from this one.
_REGISTERED = [
    (cli, "extraction", "reextract_command", "reextract"),
    (target, "extraction", "import_command", "import"),
    (cli, "web", "serve_command", "serve"),
    (cli, "web", "site_group", "site"),
    (cli, "operations", "run_command", "run"),
    (cli, "operations", "status_command", "status"),
    (cli, "operations", "maintain_command", "maintain"),
    (cli, "evidence", "verify_command", "verify"),
    (cli, "evidence", "evidence_group", "evidence"),
    (cli, "evidence", "ledger_group", "ledger"),
    (cli, "evaluation", "eval_command", "eval"),
    (cli, "worker", "worker_command", "worker"),
    (cli, "backfill", "backfill_group", "backfill"),
]
for _group, _module, _attribute, _name in _REGISTERED:
    _group.add_command(getattr(importlib.import_module(f".{_module}", __package__), _attribute), _name)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="policywatch")


if __name__ == "__main__":
    main()


