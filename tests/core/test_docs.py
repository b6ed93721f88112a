"""The hook reference is checked against the specs: every hook in ``erpkit.hookspecs``
has a section in ``docs/hooks.md`` and a test named ``test_hook_<name>`` under tests/ or in
a plugin's own ``tests/`` folder.

A failure names the hook and what to write; each hook is its own test, so a missing one
shows up on its own line.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from erpkit import hookspecs

ROOT = Path(__file__).resolve().parents[2]
HOOKS_DOC = ROOT / "docs" / "hooks.md"


def hook_names() -> list[str]:
    return sorted(
        name for name, value in vars(hookspecs).items()
        if name.startswith("erpkit_") and hasattr(value, "erpkit_spec")
    )


def documented_sections() -> set[str]:
    headings = re.findall(r"^#{2,4}\s+`?(erpkit_\w+)", HOOKS_DOC.read_text(), flags=re.M)
    return set(headings)


def hook_test_names() -> set[str]:
    names: set[str] = set()
    test_files = [*(ROOT / "tests").rglob("*.py"), *(ROOT / "plugins").glob("*/tests/**/*.py"),
                  *(ROOT / "examples").glob("*/tests/**/*.py")]
    for path in test_files:
        names.update(re.findall(r"^\s*(?:async\s+)?def (test_hook_\w+)\(", path.read_text(),
                                flags=re.M))
    return names


def test_every_hook_spec_is_found():
    assert len(hook_names()) >= 20  # a guard against the spec marker changing name
    assert "erpkit_order_validate" in hook_names()


@pytest.mark.parametrize("hook", hook_names())
def test_hook_has_a_section_in_the_reference(hook):
    assert hook in documented_sections(), (
        f"docs/hooks.md has no section for {hook}: add a heading '## {hook}' that says when "
        "it fires, whether it runs in the transaction, what its return value means, how to "
        "refuse, with a short example"
    )


@pytest.mark.parametrize("hook", hook_names())
def test_hook_has_a_test(hook):
    short = hook.removeprefix("erpkit_")
    pattern = re.compile(rf"^test_hook_(erpkit_)?{short}(_\w+)?$")
    found = sorted(name for name in hook_test_names() if pattern.match(name))
    assert found, (
        f"no test calls {hook}: write 'def test_hook_{hook}' (or test_hook_{short}_<case>) "
        "in the tests of the plugin that fires it (plugins/<name>/tests/)"
    )


def test_the_reference_documents_no_hook_that_does_not_exist():
    assert documented_sections() <= set(hook_names())


def test_every_hook_spec_has_a_docstring_saying_what_its_return_value_means():
    for name in hook_names():
        doc = getattr(hookspecs, name).__doc__ or ""
        assert "Return value" in doc or "return value" in doc.lower(), name
