"""The ``policywatch`` command line: each command parses arguments and calls one library function.

Machine-readable output (``--json``) goes to stdout; messages go to stderr. Every failure is one
line on stderr and a non-zero exit. The commands live in one module per family (``targets``,
``reading``, ``alerts``, ``operations``, ``evidence``, …) and are imported only when they run
(``monitor.cli.lazy``), so ``policywatch --help`` starts without Scrapy, the store or rich.
The command modules are the composition root: they wire the notifier to monitor events and,
for ``crawl``, hand targets to the Scrapy crawler.
"""

import json
import logging
import sys

import click

from monitor import config as settings
from monitor.cli.lazy import LazyCommand, LazyCommandsMixin
from monitor.cli.options import PolicywatchCommandGroup, SettingOption, one_line
from monitor.errors import ConfigError, PolicywatchError
from monitor.store import DatabaseFailure

EXIT_FAILED = 1

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



# Every top-level command: where it lives and the first sentence of its docstring (what
# --help lists; tests/cli/test_cli_lazy.py checks each against the command's own).
COMMANDS = {
    "backfill": LazyCommand("monitor.cli.backfill:backfill_group",
                            "Import a target's past versions from web archives (history, never alerts)."),
    "crawl": LazyCommand("monitor.cli.operations:crawl_command",
                         "One pass over due targets, then name the targets that changed and how "
                         "(on stderr)."),
    "demo": LazyCommand("monitor.cli.demo:demo_command",
                        "Serve the bundled sample policies locally, crawl, edit, crawl again, show the "
                        "alert."),
    "diff": LazyCommand("monitor.cli.reading:diff", "Compare two local files (HTML, Markdown, text or PDF)."),
    "eval": LazyCommand("monitor.cli.evaluation:eval_command",
                        "Score CORPUS_DIR/pairs/*/{old.md,new.md,label.json} (confusion matrix over class, "
                        "precision/recall/F1 of material, share of noise pairs flagged material, topic F1, "
                        "the per-pair mistakes) and/or the histories of --histories DIR (alerts per "
                        "service-year, alert precision and recall per service and overall, each false "
                        "alert and miss with its evidence)."),
    "evidence": LazyCommand("monitor.cli.evidence:evidence_group",
                            "Export and verify evidence bundles (what a policy said when, and who was "
                            "told)."),
    "extract": LazyCommand("monitor.cli.reading:extract_command",
                           "Print the normalised Markdown of a local file."),
    "history": LazyCommand("monitor.cli.reading:history", "The versions of COMPANY's documents and the "
                           "changes between them (several companies: all)."),
    "init": LazyCommand("monitor.cli.targets:init", "Create or migrate the database."),
    "ledger": LazyCommand("monitor.cli.evidence:ledger_group",
                          "Trusted RFC 3161 timestamps of the ledger (`policywatch verify` checks them)."),
    "maintain": LazyCommand("monitor.cli.operations:maintain_command", "Storage upkeep under the writer "
                            "lock (refuses while a daemon runs); one sentence per action."),
    "notify": LazyCommand("monitor.cli.alerts:notify_command", "Send due alerts and digests from the "
                          "outbox; retry failed ones whose backoff has passed."),
    "reextract": LazyCommand("monitor.cli.extraction:reextract_command",
                             "Rebuild versions from stored snapshots after an extractor or selector change."),
    "run": LazyCommand("monitor.cli.operations:run_command",
                       "Run as a daemon: crawl due targets, record, send alerts; stop with SIGTERM/SIGINT."),
    "serve": LazyCommand("monitor.cli.web:serve_command",
                         "Serve the web UI, feeds, JSON API and CSV export (read-only on the database)."),
    "show": LazyCommand("monitor.cli.reading:show",
                        "One change: classification, evidence and the word diff."),
    "site": LazyCommand("monitor.cli.web:site_group", "Publish the web UI as a static site."),
    "status": LazyCommand("monitor.cli.operations:status_command",
                          "Targets by state, failing targets and why, outbox backlog, database size."),
    "subscribe": LazyCommand("monitor.cli.alerts:subscribe", "Send alerts to APPRISE_URL (mailto://, "
                             "json://, slack://, matrix://… see apprise's wiki)."),
    "subscriptions": LazyCommand("monitor.cli.alerts:subscriptions",
                                 "List subscriptions (apprise URLs redacted) with their outbox counts."),
    "summaries": LazyCommand("monitor.cli.extraction:summaries_group",
                             "Bring the plain-language summaries stored with each change up to date."),
    "target": LazyCommand("monitor.cli.targets:target", "Add, edit, list and remove watched documents."),
    "unsubscribe": LazyCommand("monitor.cli.alerts:unsubscribe",
                               "Stop a subscription; its waiting alerts are cancelled, its history kept."),
    "verify": LazyCommand("monitor.cli.evidence:verify_command", "Check the ledger's hash chain and its "
                          "RFC 3161 timestamps; name the first broken link."),
    "worker": LazyCommand("monitor.cli.worker:worker_command", "Fetch targets from Redis and push captures "
                          "back until SIGTERM/SIGINT; print stats as JSON."),
}


class PolicywatchGroup(LazyCommandsMixin, PolicywatchCommandGroup):
    """The top-level group: lazy commands, settings read afresh, errors as one readable line."""

    lazy_commands = COMMANDS

    def main(self, *args, **kwargs):
        """Click's ``main``, after reading the ``POLICYWATCH_*`` settings of this invocation's env."""
        try:
            settings.reload()  # an in-process invocation (CliRunner) may come with its own environment
        except ConfigError as error:
            click.echo(f"policywatch: error: {one_line(str(error))}", err=True)
            sys.exit(EXIT_FAILED)
        return super().main(*args, **kwargs)

    def invoke(self, ctx):
        """Run the command; a policywatch error becomes one line on stderr and exit 1."""
        try:
            return super().invoke(ctx)
        except click.ClickException:
            raise  # a usage error (some are policywatch errors too): click reports it, exit 2
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
        except DatabaseFailure as error:
            logging.getLogger("policywatch").debug("SQLite error", exc_info=True)
            logging.getLogger("policywatch").debug("SQLite error", exc_info=True)
            click.echo(f"policywatch: error: the database failed: {one_line(str(error))}", err=True)
            sys.exit(EXIT_FAILED)


@click.group(cls=PolicywatchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", "db_path", cls=SettingOption, setting="db", default=None, metavar="PATH",
              help="SQLite database (env POLICYWATCH_DB; default data/policywatch.db).")
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv for debug).")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              cls=SettingOption, setting="log_format",
              help="json: one JSON object per log line (for log shippers).")
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
    ctx.obj = {"db": db_path or settings.config().db}


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="policywatch")


if __name__ == "__main__":
    main()
