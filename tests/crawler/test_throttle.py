"""A 304 answers our conditional GET: it may shorten a host's AutoThrottle delay; errors may not."""

from types import SimpleNamespace

from scrapy.http import Response
from scrapy.utils.test import get_crawler

from crawler.throttle import ConditionalAwareAutoThrottle


def adjusted(status: int) -> float:
    crawler = get_crawler(settings_dict={"AUTOTHROTTLE_ENABLED": True, "AUTOTHROTTLE_START_DELAY": 0.25})
    throttle = ConditionalAwareAutoThrottle(crawler)
    throttle.mindelay, throttle.maxdelay = throttle._min_delay(), throttle._max_delay()  # as on spider_opened
    slot = SimpleNamespace(delay=0.25)
    throttle._adjust_delay(slot, 0.002, Response("http://127.0.0.1/p", status=status))
    return slot.delay


def test_a_304_shortens_the_delay_like_a_200():
    assert adjusted(304) == adjusted(200) < 0.25


def test_errors_and_redirects_still_never_shorten_it():
    assert adjusted(500) == adjusted(302) == adjusted(429) == 0.25
