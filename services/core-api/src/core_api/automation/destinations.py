"""Where a webhook may be sent: the URL rules, the address policy, and a connection pinned to a checked address.

A webhook URL is https (plain http only with AUTOMATION_ALLOW_HTTP_WEBHOOKS), with no user info, control
characters, whitespace or backslashes, and an IPv4 host written as four decimal numbers (the integer, octal,
hex and short spellings resolvers also accept, ``2130706433``, ``0177.0.0.1``, ``127.1``, are refused).
Every address the host resolves to must be a globally reachable unicast address: not loopback, private,
shared, link-local, multicast, unspecified, reserved or documentation, nor an IPv6 form that wraps an IPv4
address (6to4, Teredo, NAT64; an IPv4-mapped address is judged as the IPv4 address it maps), unless it lies
in AUTOMATION_WEBHOOK_ALLOWED_CIDRS. ``localhost`` and the names under it are loopback whatever a resolver
says (RFC 6761). The check runs when a rule is created and again before every delivery,
because DNS answers change; the delivery then connects to the address that was checked (:func:`pin`), so a
second DNS answer cannot swap it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from dataclasses import dataclass
from functools import cache

import httpx

from core_api.settings import AutomationSettings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# Characters no webhook URL needs and that parsers disagree about (CR/LF split headers, a backslash is a
# slash to browsers and not to httpx).
_FORBIDDEN_CHARACTERS = re.compile(r"[\x00-\x20\x7f\\]")
# The WHATWG URL standard treats a host whose last label is a number as an IPv4 address in any spelling.
_NUMERIC_LABEL = re.compile(r"[0-9]+|0[xX][0-9a-fA-F]*")
# IPv6 ranges that carry an IPv4 address inside: a route to whatever that address is.
_IPV4_TRANSITION = tuple(
    ipaddress.IPv6Network(network) for network in ("2002::/16", "2001::/32", "64:ff9b::/96", "64:ff9b:1::/48")
)
_LOOPBACK: list[Address] = [ipaddress.IPv4Address("127.0.0.1"), ipaddress.IPv6Address("::1")]


class UrlRefused(ValueError):
    """The URL breaks the rules whatever it resolves to; the message says which rule."""


class AddressRefused(Exception):
    """The host is, or resolves to, an address outside the policy."""


class NameNotResolved(Exception):
    """The host name has no address (or the resolver did not answer in time)."""


@dataclass(frozen=True)
class Pinned:
    """A request target with the checked address in place of the host name."""

    url: httpx.URL
    host_header: str
    """The original ``host[:port]``, so the receiver sees the name it was configured with."""
    extensions: dict[str, str]
    """``sni_hostname`` for https: TLS names and verifies the original host, not the address."""


def parse(url: str, settings: AutomationSettings) -> httpx.URL:
    """``url`` parsed the way the delivery will send it, if it follows the URL rules; else :class:`UrlRefused`."""
    if _FORBIDDEN_CHARACTERS.search(url):
        raise UrlRefused("webhook URLs may not contain control characters, whitespace or backslashes")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        raise UrlRefused("not a valid URL") from None
    allowed_schemes = ("https", "http") if settings.allow_http_webhooks else ("https",)
    if parsed.scheme not in allowed_schemes:
        raise UrlRefused("webhook URLs must use https")
    if parsed.userinfo:
        raise UrlRefused("webhook URLs may not carry a user name or password")
    if not parsed.host:
        raise UrlRefused("the URL names no host")
    literal_address(parsed)
    return parsed


def literal_address(url: httpx.URL) -> Address | None:
    """The address ``url``'s host is written as, or ``None`` for a host name; :class:`UrlRefused` for an
    address in a spelling other than four decimal numbers or an IPv6 literal without a zone."""
    host = url.host
    if ":" in host:
        try:
            address = ipaddress.IPv6Address(host.removeprefix("[").removesuffix("]"))
        except ValueError:
            raise UrlRefused("not a valid IPv6 address") from None
        if address.scope_id is not None:
            raise UrlRefused("an IPv6 address may not name a zone")
        return address
    if _NUMERIC_LABEL.fullmatch(host.removesuffix(".").rsplit(".", 1)[-1]):
        try:
            return ipaddress.IPv4Address(host)
        except ValueError:
            raise UrlRefused("write an IPv4 address as four decimal numbers, e.g. 192.0.2.10") from None
    return None


@cache
def _allowed_networks(cidrs: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(cidr) for cidr in cidrs)


def address_allowed(address: Address, settings: AutomationSettings) -> bool:
    """Whether a webhook may be delivered to ``address``."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in network for network in _allowed_networks(tuple(settings.webhook_allowed_cidrs))):
        return True
    if isinstance(address, ipaddress.IPv6Address) and any(address in network for network in _IPV4_TRANSITION):
        return False
    return address.is_global and not (address.is_multicast or address.is_reserved)


async def resolve(url: httpx.URL, settings: AutomationSettings) -> list[Address]:
    """Every address ``url``'s host stands for, in the resolver's order of preference."""
    literal = literal_address(url)
    if literal is not None:
        return [literal]
    name = url.host.removesuffix(".")
    if name == "localhost" or name.endswith(".localhost"):
        return _LOOPBACK
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        async with asyncio.timeout(settings.webhook_timeout_seconds):
            answers = await asyncio.get_running_loop().getaddrinfo(
                url.raw_host.decode("ascii"), port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
            )
    except (OSError, TimeoutError, UnicodeError):
        raise NameNotResolved from None
    addresses = list(dict.fromkeys(ipaddress.ip_address(str(answer[4][0]).split("%", 1)[0]) for answer in answers))
    if not addresses:
        raise NameNotResolved
    return addresses


async def check(url: httpx.URL, settings: AutomationSettings) -> list[Address]:
    """The addresses of ``url``'s host, all of them allowed; :class:`AddressRefused` when one is not (a name
    that answers with a public and a private address is refused), :class:`NameNotResolved` when none."""
    addresses = await resolve(url, settings)
    if not all(address_allowed(address, settings) for address in addresses):
        raise AddressRefused
    return addresses


async def pin(url: str, settings: AutomationSettings) -> Pinned:
    """Check ``url`` as the rules and the address policy stand now, and aim the request at the first checked
    address; raises :class:`UrlRefused`, :class:`AddressRefused` or :class:`NameNotResolved`."""
    parsed = parse(url, settings)
    address = (await check(parsed, settings))[0]
    extensions = {"sni_hostname": parsed.raw_host.decode("ascii")} if parsed.scheme == "https" else {}
    return Pinned(
        url=parsed.copy_with(host=str(address)),
        host_header=parsed.netloc.decode("ascii"),
        extensions=extensions,
    )
