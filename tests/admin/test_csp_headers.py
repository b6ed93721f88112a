"""Every page the app serves carries the security headers: each GET route of the console
and of the rest of the app, opened as a logged-in admin (forms, lists, rows, exports,
redirects and not-found pages alike), answers with frame denial, ``nosniff`` and a
Content-Security-Policy that allows no inline script."""

from __future__ import annotations

import re

from flask import url_for
from werkzeug.routing import IntegerConverter

from erpkit.db import db

from .helpers import log_in

#: A value for each URL variable: the demo data's first rows, an export format, a file.
SAMPLE_BY_NAME = {"export_type": "csv", "filename": "admin/css/admin.css"}


def _urls(app) -> list[str]:
    """A URL of every GET route, its variables filled in."""
    urls = set()
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        values = {name: SAMPLE_BY_NAME.get(name) or (
            "1" if isinstance(converter, IntegerConverter) else "x")
            for name, converter in rule._converters.items()}
        with app.test_request_context():
            urls.add(url_for(rule.endpoint, **values))
    return sorted(urls)


def test_every_page_carries_frame_denial_nosniff_and_a_policy_without_inline_scripts(
        app, client, users):
    from erpkit.demo import load_demo

    with app.app_context():
        load_demo("demo-password")
        db.session.commit()
    users.create("ann", "admin")
    assert log_in(client, "ann").status_code == 302
    urls = [url for url in _urls(app) if url != "/logout"]
    assert sum(url.startswith("/admin/") for url in urls) > 200, urls
    missing = []
    statuses = set()

    for url in urls:
        response = client.get(url)
        statuses.add(response.status_code)
        if response.status_code >= 500:
            missing.append(f"{url}: {response.status_code}")
        headers = response.headers
        policy = headers.get("Content-Security-Policy", "")
        scripts = re.search(r"script-src ([^;]*)", policy)
        if not (headers.get("X-Frame-Options") == "DENY"
                and headers.get("X-Content-Type-Options") == "nosniff"
                and "frame-ancestors 'none'" in policy
                and scripts and "'unsafe-inline'" not in scripts.group(1)):
            missing.append(f"{url} ({response.status_code}): {dict(headers)}")
        response.close()

    assert not missing, "\n".join(missing)
    assert 200 in statuses and 404 in statuses  # pages and not-found pages both checked
