"""Scale-out over Redis (``pip install 'policywatch[redis]'``; docs/scale-out.md).

``queue`` (message formats and keys), ``distributed`` (the recording daemon and the worker's
runner), ``pipelines`` (the worker's capture pipeline) and ``worker_spider`` (the scrapy-redis
spider). This package sits outside ``crawler.spiders`` on purpose: Scrapy's spider loader imports
every module there, and a plain install (no ``redis`` extra) must still crawl.
"""

import importlib.util

from monitor.errors import MissingExtraError

#: The distributions the ``redis`` extra installs, by the module each provides.
EXTRA_MODULES = {"redis": "redis", "scrapy_redis": "scrapy-redis"}


def require_extra(command: str) -> None:
    """Raise a one-line error naming the extra when ``command`` cannot run on this install."""
    missing = [dist for module, dist in EXTRA_MODULES.items() if importlib.util.find_spec(module) is None]
    if missing:
        raise MissingExtraError(
            f"{command} needs the redis extra ({', '.join(missing)} not installed): "
            "pip install 'policywatch[redis]'")
