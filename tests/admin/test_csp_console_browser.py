"""The Content-Security-Policy holds in a real browser (Debian's chromium) on every console
page: every page the menu reaches, as an admin, and for each list view its form and the
page of one of its rows. The browser reports each violation (a ``securitypolicyviolation``
event, a console error); none may happen, no script may fail, and no request may leave
this host. The demo data fills the lists, so their rows and forms are real ones."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from erpkit.db import db

pytestmark = pytest.mark.browser

#: Recorded by the page itself, before any of its own scripts run.
WATCH_VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__violations.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} `
                           + `at ${e.sourceFile || ''}:${e.lineNumber}`);
});
"""
#: Links from a list view to the pages of its rows and to its forms.
ROW_OR_FORM = re.compile(r"/(new|edit|details)/?(\?|$)|/\d+/?$")


def menu_links(page) -> list[str]:
    return page.eval_on_selector_all(
        "nav a[href^='/admin/']", "els => els.map(e => e.getAttribute('href'))")


def row_and_form_links(page) -> list[str]:
    """The list view's create form and its first row's page (edit, details or own)."""
    found = page.eval_on_selector_all(
        "main a[href^='/admin/'], .container a[href^='/admin/'], "
        ".container-fluid a[href^='/admin/']",
        "els => els.map(e => e.getAttribute('href'))")
    picked: dict[str, str] = {}
    for href in found:
        kind = ROW_OR_FORM.search(href.split("#")[0])
        if kind and "export" not in href and "delete" not in href:
            picked.setdefault(kind.group(1) or "row", href)
    return list(picked.values())


def test_no_console_page_breaks_the_content_security_policy_or_leaves_this_host(
        app, users, pages, live_server):
    from erpkit.demo import load_demo

    with app.app_context():
        load_demo("demo-password")
        db.session.commit()
    users.create("csp-admin", "admin")
    admin = pages.new()
    admin.context.add_init_script(WATCH_VIOLATIONS)
    problems: list[str] = []
    host = urlsplit(live_server.url).netloc
    admin.on("console", lambda message: problems.append(f"console: {message.text}")
             if message.type == "error" and "Content Security Policy" in message.text
             else None)
    admin.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    admin.on("request", lambda request: problems.append(f"request to {request.url}")
             if urlsplit(request.url).scheme in ("http", "https", "ws", "wss")
             and urlsplit(request.url).netloc != host else None)
    pages.log_in(admin, "csp-admin")

    admin.goto("/admin/")
    # The watch works: a script slipped in without the nonce is blocked and reported.
    admin.evaluate("() => { const s = document.createElement('script');"
                   " s.textContent = 'window.__ran = 1'; document.body.append(s); }")
    admin.wait_for_function("window.__violations.length > 0")
    assert admin.evaluate("window.__ran") is None
    assert "script-src" in admin.evaluate("window.__violations")[0]
    problems.clear()  # the console error of that block, expected
    menu = sorted({href for href in menu_links(admin) if "logout" not in href})
    assert len(menu) > 30, menu  # every module's console pages are in the menu
    to_visit, visited, forms = list(menu), [], 0
    while to_visit:
        url = to_visit.pop(0)
        if url in visited:
            continue
        visited.append(url)
        before = len(problems)
        response = admin.goto(url)
        admin.wait_for_load_state("networkidle")
        assert response is not None and response.status < 500, (url, response)
        problems.extend(admin.evaluate("window.__violations || []"))
        problems[before:] = [f"{url}: {problem}" for problem in problems[before:]]
        if url in menu:
            extra = [href for href in row_and_form_links(admin) if href not in visited]
            forms += len(extra)
            to_visit.extend(extra)
        if len(visited) <= 3 or len(problems) > before:
            pages.shot(admin, re.sub(r"\W+", "-", url).strip("-") or "home")

    print(f"{len(visited)} console pages opened, {forms} of them forms or rows")
    assert forms > 20, visited  # the list views' forms and rows were opened too
    assert not problems, "\n".join(problems)
