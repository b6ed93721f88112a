"""Real-browser test infrastructure: the app on a local port, and Debian's chromium.

Playwright drives the system chromium (``executable_path``); no browser is ever
downloaded. :class:`Pages` opens one browser context per person (cookies of their own)
and saves numbered screenshots as test artefacts.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.serving import make_server

from .helpers import PASSWORD

CHROMIUM = os.environ.get("ERPKIT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_missing() -> str | None:
    """Why the browser cannot run here, or ``None``."""
    if Path(CHROMIUM).exists() or shutil.which(CHROMIUM):
        return None
    return f"{CHROMIUM} is missing: apt-get install -y chromium"


class LiveServer:
    """The app served by werkzeug on a free localhost port, in a background thread."""

    def __init__(self, app: Flask) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)


class Pages:
    """Browser pages for one test, one person each, and numbered screenshots of them."""

    def __init__(self, browser: Any, base_url: str, folder: Path) -> None:
        self.browser = browser
        self.base_url = base_url
        self.folder = folder
        self.contexts: list[Any] = []
        self.count = 0

    def new(self) -> Any:
        """A new page with cookies of its own (a person at their own computer)."""
        context = self.browser.new_context(
            base_url=self.base_url, viewport={"width": 1280, "height": 900}
        )
        context.set_default_timeout(10_000)
        self.contexts.append(context)
        return context.new_page()

    def shot(self, page: Any, name: str) -> Path:
        """Save a full-page screenshot as ``NN-name.png``; kept as a test artefact."""
        self.count += 1
        path = self.folder / f"{self.count:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    def log_in(self, page: Any, login: str, password: str = PASSWORD) -> None:
        """Fill and send the login form the way a person does."""
        page.goto("/login")
        page.get_by_label("Login").fill(login)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/admin/**")

    def close(self, failed: bool) -> None:
        """Close every context; on failure first screenshot every page still open."""
        for number, context in enumerate(self.contexts, start=1):
            if failed:
                for index, page in enumerate(context.pages, start=1):
                    page.screenshot(
                        path=str(self.folder / f"failure-{number}-{index}.png"), full_page=True
                    )
            context.close()
