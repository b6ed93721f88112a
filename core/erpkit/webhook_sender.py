"""One HTTP POST of a webhook: signed with Standard Webhooks, sent over a pooled
connection to the address :mod:`erpkit.webhook_targets` checked, never redirected.

urllib3 (already installed with the stack) keeps a pool of connections per endpoint, so
a worker sending many webhooks to one receiver reuses its connections (keep-alive), and
it lets us connect to a checked IP address while naming the host for TLS
(``server_hostname``, ``assert_hostname``) and in ``Host``: httpx cannot do that
without a custom transport.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import urllib3
from standardwebhooks import Webhook

from erpkit.webhook_targets import Target

#: How much of a receiver's answer is kept in the attempt log.
EXCERPT = 500
_pools: dict[tuple[str, str, int, str], urllib3.HTTPConnectionPool] = {}
_pools_lock = threading.Lock()


@dataclass(frozen=True)
class Answer:
    """What a receiver answered: ``ok`` for any 2xx; else why not."""

    ok: bool
    status_code: int | None
    latency_ms: int
    excerpt: str | None
    error: str | None


def signature(secrets: Iterable[str], message_id: str, timestamp: datetime, body: str) -> str:
    """The ``webhook-signature`` header: one ``v1,<base64>`` per secret, space-separated
    (during a rotation's overlap both the new and the old secret sign)."""
    return " ".join(Webhook(secret).sign(message_id, timestamp, body) for secret in secrets)


def _pool(target: Target, size: int) -> urllib3.HTTPConnectionPool:
    key = (target.scheme, target.address, target.port, target.host)
    pool = _pools.get(key)
    if pool is None:
        with _pools_lock:
            pool = _pools.get(key)
            if pool is None:
                if target.scheme == "https":
                    pool = urllib3.HTTPSConnectionPool(
                        target.address, target.port, maxsize=size, block=False,
                        server_hostname=target.host, assert_hostname=target.host,
                        cert_reqs="CERT_REQUIRED", retries=False)
                else:
                    pool = urllib3.HTTPConnectionPool(target.address, target.port,
                                                      maxsize=size, block=False,
                                                      retries=False)
                _pools[key] = pool
    return pool


def post(target: Target, *, message_id: str, timestamp: datetime, body: str,
         secrets: Iterable[str], timeout: float, pool_size: int = 8) -> Answer:
    """POST ``body`` (JSON text) to ``target``, signed; an :class:`Answer`, never raises."""
    default_port = 443 if target.scheme == "https" else 80
    host = target.host if target.port == default_port else f"{target.host}:{target.port}"
    headers = {
        "Host": host,
        "Content-Type": "application/json",
        "User-Agent": "erpkit-webhooks",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature(secrets, message_id, timestamp, body),
    }
    started = time.perf_counter()
    try:
        response = _pool(target, pool_size).urlopen(
            "POST", target.path, body=body.encode(), headers=headers, redirect=False,
            retries=False, timeout=urllib3.Timeout(connect=timeout, read=timeout),
            preload_content=False, assert_same_host=False)
        try:
            raw = response.read(EXCERPT * 4, decode_content=True)
        finally:
            response.drain_conn()
            response.release_conn()
    except Exception as exc:  # a refused connection, a timeout, a TLS failure
        latency = int((time.perf_counter() - started) * 1000)
        return Answer(False, None, latency, None, f"{type(exc).__name__}: {exc}"[:2000])
    latency = int((time.perf_counter() - started) * 1000)
    excerpt = raw.decode("utf-8", "replace")[:EXCERPT] if raw else None
    ok = 200 <= response.status < 300
    error = None if ok else (
        f"answered {response.status}" + (" (redirects are not followed)"
                                         if 300 <= response.status < 400 else ""))
    return Answer(ok, response.status, latency, excerpt, error)
