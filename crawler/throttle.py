"""AutoThrottle that lets a ``304 Not Modified`` shorten a host's delay, as a ``200`` does.

Scrapy's AutoThrottle never lowers a delay after a non-200 response: error pages and redirects
are small and fast, and letting them speed the crawl up would hammer a failing site. A 304 is
different: it is the answer to our conditional GET, and its latency is the server's real cost
of telling us nothing changed. Without this, a host answering 304s kept the start delay (0.25 s)
between requests for the whole crawl (docs/performance.md, the ``etag`` scenario).
"""

from scrapy.extensions.throttle import AutoThrottle


class ConditionalAwareAutoThrottle(AutoThrottle):
    """AutoThrottle with 304 treated like 200 when adjusting a slot's delay."""

    def _adjust_delay(self, slot, latency: float, response) -> None:
        if response.status == 304:
            response = response.replace(status=200)
        super()._adjust_delay(slot, latency, response)
