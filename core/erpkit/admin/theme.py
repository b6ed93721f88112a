"""The console's stylesheet, served by the app itself with nothing fetched elsewhere.

Bootswatch's flatly CSS, which Flask-Admin bundles, starts with
``@import url(https://fonts.googleapis.com/css2?family=Lato...)``: a call to Google on
every page, and a five-second stall on a machine without internet. We serve the same
file with that import removed (the font stack falls back to Lato when it is installed
locally, else the system's sans-serif), read once from the installed Flask-Admin so it
follows its upgrades.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import flask_admin
from flask import Blueprint, Response

SWATCH = "flatly"
_REMOTE_IMPORT = re.compile(r"@import\s+url\((?:['\"])?https?://[^)]*\)\s*;?")


@cache
def swatch_css(swatch: str = SWATCH) -> str:
    """The swatch's CSS without any ``@import`` of a remote stylesheet."""
    path = (Path(flask_admin.__file__).parent / "static" / "bootstrap" / "bootstrap4" / "swatch"
            / swatch / "bootstrap.min.css")
    return _REMOTE_IMPORT.sub("", path.read_text(encoding="utf-8"))


def add_theme_route(blueprint: Blueprint) -> None:
    """``/console-assets/theme.css``: the swatch, served locally, cached for a day."""

    @blueprint.route("/console-assets/theme.css")
    def theme_css() -> Response:
        response = Response(swatch_css(), mimetype="text/css")
        response.cache_control.public = True
        response.cache_control.max_age = 86400
        return response
