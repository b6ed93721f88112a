"""Where a webhook may go: only ``https`` (unless allowed), and never to loopback,
link-local, private or other special networks unless a parameter allows them.

The host is resolved here and the request is then made to the address that was checked
(:mod:`erpkit.webhook_sender` connects to it, sending the host name for TLS and in the
``Host`` header), so a name that resolves to a public address at the check and to
127.0.0.1 a moment later (DNS rebinding) cannot slip through.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from erpkit.problems import ValidationFailed

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class Target:
    """A checked webhook URL: connect to ``address``, name ``host``."""

    scheme: str
    host: str
    port: int
    path: str
    address: str


def _refuse(message: str) -> ValidationFailed:
    return ValidationFailed.single("url", message, code="unsafe_url")


def _special(address: IPAddress) -> str | None:
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast or address.is_unspecified or address.is_reserved:
        return "reserved"
    if address.is_private or not address.is_global:
        return "private"
    return None


def check_target(url: str, *, allow_http: bool = False,
                 allowed_networks: Iterable[str] = ()) -> Target:
    """Check ``url`` and resolve its host; :class:`ValidationFailed` on ``url`` if it may
    not be called. ``allowed_networks`` (CIDR strings) opens special networks."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http"):
        raise _refuse(f"{url!r} is not an http(s) URL. Fix: give an https:// URL.")
    if parts.scheme == "http" and not allow_http:
        raise _refuse("only https URLs are allowed. Fix: use https://, or set the parameter "
                      "core.webhooks_allow_http (tests and closed networks only).")
    if not parts.hostname:
        raise _refuse(f"{url!r} names no host")
    if parts.username or parts.password:
        raise _refuse("a URL with a user name or password is not allowed. Fix: the secret "
                      "signs every request; drop the credentials from the URL.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise _refuse(f"the port is not valid ({exc})") from None
    try:
        found = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise _refuse(f"the host {parts.hostname!r} does not resolve ({exc.strerror})") from None
    networks = [ipaddress.ip_network(n, strict=False) for n in allowed_networks]
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found]
    # Every address the name resolves to must be allowed: the connection may use any.
    for address in addresses:
        kind = _special(address)
        if kind and not any(address in network for network in networks):
            raise _refuse(f"{parts.hostname!r} resolves to {address}, a {kind} address, "
                          "which webhooks may not reach. Fix: use a public address, or add "
                          "its network to the parameter core.webhooks_allowed_networks.")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(scheme=parts.scheme, host=parts.hostname, port=port, path=path,
                  address=str(addresses[0]))
