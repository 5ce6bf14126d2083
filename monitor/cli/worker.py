"""``policywatch worker``: a distributed crawling worker (``pip install 'policywatch[redis]'``).

Run any number of them, on any hosts, against the Redis that ``policywatch run --redis URL``
uses (docs/scale-out.md). A worker needs no database: it pops target messages, fetches, and
pushes captures back; the one ``run`` records them.
"""

import json

import click
from rich.console import Console

from monitor.cli.options import PolicywatchCommand, SettingOption

err = Console(stderr=True, highlight=False)


def _settings(pairs: tuple[str, ...]) -> dict:
    settings = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected KEY=VALUE, got {pair!r}", param_hint="--set")
        settings[key.strip()] = value
    return settings


@click.command("worker", cls=PolicywatchCommand)
@click.option("--redis", "redis_url", cls=SettingOption, setting="redis", required=True,
              help="Redis URL, e.g. redis://queue.example:6379/0 (env POLICYWATCH_REDIS).")
@click.option("--prefix", default="policywatch", show_default=True,
              help="Key prefix: the same as the run's (one prefix per store).")
@click.option("--concurrency", type=click.IntRange(1), default=None,
              help="Requests in flight in this worker (Scrapy's CONCURRENT_REQUESTS; default 16).")
@click.option("--timeout", default=30.0, show_default=True, help="Download timeout in seconds.")
@click.option("--render", is_flag=True,
              help="Render 'render: js' targets and blocked pages with the system Chromium.")
@click.option("-s", "--set", "pairs", multiple=True, metavar="KEY=VALUE",
              help="Override a Scrapy setting (repeatable), e.g. -s CONCURRENT_REQUESTS_PER_DOMAIN=2.")
def worker_command(redis_url, prefix, concurrency, timeout, render, pairs):
    """Fetch targets from Redis and push captures back until SIGTERM/SIGINT; print stats as JSON."""
    # this command's own imports, loaded when it runs: the CLI starts fast (docs/cli.md)
    from crawler.redis import require_extra
    require_extra("worker")
    from crawler.redis.distributed import run_worker  # needs the redis extra
    overrides = {"DOWNLOAD_TIMEOUT": timeout, **_settings(pairs)}
    if concurrency:
        overrides["CONCURRENT_REQUESTS"] = concurrency
    err.print(f"policywatch worker on {redis_url} (prefix {prefix!r}); SIGTERM to stop")
    stats = run_worker(redis_url, prefix, render=render, overrides=overrides)
    click.echo(json.dumps(stats))
