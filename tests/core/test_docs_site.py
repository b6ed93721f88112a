"""The documentation builds as a site, strictly, and the README's links lead somewhere.

``mkdocs build --strict`` fails on a broken link or anchor, a page missing from the
navigation, and a ``:::`` reference mkdocstrings cannot resolve; the README is not part of
the site, so its links are checked here.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_site_builds_in_strict_mode(tmp_path):
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
         str(ROOT / "mkdocs.yml"), "--site-dir", str(site)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    objects = (site / "objects" / "index.html").read_text()
    # The object reference is generated from the docstrings, not written by hand.
    for docstring in ("An order: a customer, lines, totals",
                      "What a lifecycle hook knows about the transition",
                      "One thing wrong with an input"):
        assert docstring in objects, f"objects page lacks the docstring {docstring!r}"
    assert (site / "img" / "console.png").is_file()


def test_every_relative_link_of_the_readme_leads_to_a_file():
    readme = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", readme)
    local = [t for t in targets if not re.match(r"[a-z]+:", t)]
    assert len(local) >= 10, "the README should link into docs/"
    missing = [t for t in local if not (ROOT / t).exists()]
    assert not missing, f"README.md links to files that do not exist: {missing}"
