"""``policywatch serve`` and ``policywatch site build``: the web UI, live or as static files."""

import os

import click

from monitor.cli.common import database_path
from monitor.cli.options import PolicywatchCommand, PolicywatchCommandGroup


def _ensure_store(ctx) -> str:
    # A missing database is an error (an empty site from a mistyped --db looks like lost
    # data); an existing one is never opened for writing here, so the web can run on a store
    # another process is writing.
    return database_path(ctx)


@click.command("serve", cls=PolicywatchCommand)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--base-url", default="", metavar="URL",
              help="Public URL of the site, for absolute links in feeds, citations and the API.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="uvicorn worker processes.")
@click.pass_context
def serve_command(ctx, host, port, base_url, workers):
    """Serve the web UI, feeds, JSON API and CSV export (read-only on the database)."""
    # this command's own imports, loaded when it runs: the CLI starts fast (docs/cli.md)
    import uvicorn

    # this command's own imports, loaded when it runs: the CLI starts fast (docs/cli.md)
    from monitor.web import create_app
    path = _ensure_store(ctx)
    click.echo(f"policywatch: serving {path} on http://{host}:{port}/", err=True)
    if not base_url:
        # Feed ids and citations must not follow each request's Host header (forgeable, and a
        # reader would see every entry as new when it changes): one fixed base instead.
        base_url = f"http://{host}:{port}"
        click.echo(f"policywatch: warning: no --base-url; feed ids and links use {base_url} "
                   "(set the public URL readers use)", err=True)
    if workers > 1:
        os.environ["POLICYWATCH_WEB_DB"] = path
        os.environ["POLICYWATCH_WEB_BASE_URL"] = base_url
        uvicorn.run("monitor.web.app:app_from_environment", factory=True, host=host, port=port,
                    workers=workers, log_level="warning", server_header=False)
    else:
        uvicorn.run(create_app(path, base_url), host=host, port=port, log_level="warning",
                    server_header=False)


@click.group("site", cls=PolicywatchCommandGroup)
def site_group():
    """Publish the web UI as a static site."""


@site_group.command("build")
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--base-url", required=True, metavar="URL",
              help="Public URL the site will be published at, e.g. https://example.org/policies "
                   "(feeds and citations need absolute links).")
@click.pass_context
def site_build(ctx, out_dir, base_url):
    """Write every page, feed, raw capture and the CSV export under OUT_DIR."""
    # this command's own imports, loaded when it runs: the CLI starts fast (docs/cli.md)
    from monitor.web import static_site
    report = static_site.build(_ensure_store(ctx), out_dir, base_url=base_url)
    click.echo(f"policywatch: wrote {report['files']} files to {out_dir}", err=True)
