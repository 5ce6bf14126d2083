"""``policywatch subscribe``, ``subscriptions``, ``unsubscribe`` and ``notify``: the alert channels."""

import signal
import threading

import click

from monitor.cli.common import emit_json, err, open_cli_store, out
from monitor.cli.options import PolicywatchCommand
from monitor.errors import InputError


@click.command("subscribe", cls=PolicywatchCommand)
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
    # this command's own imports, loaded when it runs: the CLI starts fast (docs/cli.md)
    # this command's own imports, loaded when it runs: the CLI starts fast (docs/cli.md)
    from monitor.compare.classify import TOPICS
    from notify.subscriptions import add_subscription
    unknown = sorted(set(topic) - set(TOPICS))
    if unknown:
        raise InputError(f"unknown topic(s) {', '.join(unknown)}; known: {', '.join(TOPICS)}")
    added = add_subscription(open_cli_store(ctx, create=True), apprise_url, name=name, companies=company,
                             doc_types=doc_type, topics=topic, min_severity=min_severity, class_filter=class_filter,
                             digest=digest, fmt=fmt, operator=operator)
    if as_json:
        emit_json(added)
    err.print(f"subscription {added['id']}: {added['apprise_url']}", markup=False)


@click.command("subscriptions", cls=PolicywatchCommand)
@click.option("--all", "include_inactive", is_flag=True, help="Include unsubscribed ones.")
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON list of subscriptions (URLs redacted, with sent/waiting/dead counts).")
@click.pass_context
def subscriptions(ctx, include_inactive, as_json):
    """List subscriptions (apprise URLs redacted) with their outbox counts."""
    # this command's own imports, loaded when it runs: the CLI starts fast (docs/cli.md)
    from notify.subscriptions import list_subscriptions
    found = list_subscriptions(open_cli_store(ctx), include_inactive=include_inactive)
    if as_json:
        emit_json(found)
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


@click.command("unsubscribe", cls=PolicywatchCommand)
@click.argument("subscription_id", type=int)
@click.pass_context
def unsubscribe(ctx, subscription_id):
    """Stop a subscription; its waiting alerts are cancelled, its history kept."""
    # this command's own imports, loaded when it runs: the CLI starts fast (docs/cli.md)
    from notify.subscriptions import remove_subscription
    remove_subscription(open_cli_store(ctx), subscription_id)
    err.print(f"unsubscribed {subscription_id}")


@click.command("notify", cls=PolicywatchCommand)
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
    # this command's own imports, loaded when it runs: the CLI starts fast (docs/cli.md)
    from notify.messages import sample_context_for
    from notify.outbox import outbox_counts, send_pending
    from notify.render import check_templates
    from notify.settings import NotifySettings
    settings = NotifySettings.from_env(base_url=base_url, template_dir=template_dir)
    # A broken override fails here, before anything is claimed: nothing is lost or half-sent.
    check_templates(settings.template_dir or None, sample_context_for)
    store = open_cli_store(ctx)
    stop = _stop_on_signals()
    report = send_pending(store, limit=limit, settings=settings, flush_digests=flush_digests, stop=stop)
    if as_json:
        emit_json({**report.as_dict(), "outbox": outbox_counts(store)})
    err.print(f"alerts sent: {report.sent}, failed (will retry): {report.failed}, given up: {report.dead}"
              + (f", digests composed: {report.digests}" if report.digests else "")
              + (f", resumed after an interrupted send: {report.resumed}" if report.resumed else "")
              + (f", stopped: {report.released} put back to pending" if report.released else ""))


def _stop_on_signals():
    """An event set by SIGTERM/SIGINT: the outbox stops starting sends, puts the ones in flight
    back to pending after a short grace, and the command ends."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    return stop
