"""Fetch safety: never fetch link-local or cloud-metadata addresses; private ranges only when allowed.

A target URL, or a redirect from one, may point inside the network policywatch runs in: a cloud
metadata service (``169.254.169.254``) hands out credentials, an admin page on ``10.0.0.1``
answers a GET. This downloader middleware resolves each request's host (every redirect is a new
request, so it is checked again) and refuses the fetch when any address it resolves to is

- link-local, multicast, unspecified, reserved or a known metadata address: always;
- private, loopback or shared (CGNAT) space: unless ``POLICYWATCH_ALLOW_PRIVATE_TARGETS=1``
  (the demo and the tests set it: their sites run on 127.0.0.1).

The refusal is a capture error of kind ``blocked-address``, never transient. Pages rendered in
Chromium are checked the same way before the browser is asked; what the browser then loads by
itself is outside this check (docs/extraction.md).
"""

import asyncio
import ipaddress
import time
from urllib.parse import urlsplit

from scrapy.exceptions import IgnoreRequest

from monitor.config import config
from monitor.errors import PolicywatchError

ALLOW_PRIVATE_ENV = "POLICYWATCH_ALLOW_PRIVATE_TARGETS"
# Metadata services that sit outside the link-local range (AWS's IPv6 one, Alibaba Cloud's).
METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in ("fd00:ec2::254", "100.100.100.200"))
CGNAT = ipaddress.ip_network("100.64.0.0/10")
# Resolutions are cached briefly: a pass fetches many pages of one host.
CACHE_SECONDS = 60.0


class BlockedAddressError(IgnoreRequest, PolicywatchError):
    """The request's host resolves to an address policywatch must not fetch."""


def private_targets_allowed() -> bool:
    """True when the operator allows private and loopback targets (``POLICYWATCH_ALLOW_PRIVATE_TARGETS=1``)."""
    return config().allow_private_targets


def refusal(address: str, allow_private: bool) -> str | None:
    """Why ``address`` must not be fetched, or None when it may be."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip in METADATA_ADDRESSES or ip.is_link_local:
        return f"{ip} is a link-local or cloud-metadata address"
    if ip.is_multicast or ip.is_unspecified or ip.is_reserved:
        return f"{ip} is not a unicast host address"
    if (ip.is_private or ip.is_loopback or ip in CGNAT) and not allow_private:
        return (f"{ip} is a private or loopback address "
                f"(set {ALLOW_PRIVATE_ENV}=1 to watch internal sites)")
    return None


class AddressGuardMiddleware:
    """Downloader middleware: refuse requests whose host resolves to a forbidden address."""

    def __init__(self, allow_private: bool):
        self.allow_private = allow_private
        self._cache: dict[str, tuple[float, list[str]]] = {}

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.settings.getbool("POLICYWATCH_ALLOW_PRIVATE_TARGETS", private_targets_allowed()))

    async def _addresses(self, host: str) -> list[str]:
        try:
            return [str(ipaddress.ip_address(host))]
        except ValueError:
            pass
        cached = self._cache.get(host)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, None)
        except OSError:
            return []  # let the download fail as a DNS error, with its own kind
        addresses = sorted({info[4][0] for info in infos})
        self._cache[host] = (time.monotonic() + CACHE_SECONDS, addresses)
        return addresses

    async def process_request(self, request):
        host = urlsplit(request.url).hostname
        if not host:
            return None
        for address in await self._addresses(host.strip("[]")):
            reason = refusal(address, self.allow_private)
            if reason:
                raise BlockedAddressError(f"not fetched: {host} resolves to {reason}")
        return None
