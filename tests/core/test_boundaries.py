"""The shape of the code base, checked on its source: where the registry comes from, the
one door of an order's changes, and leftovers that must not come back."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[2]
#: The core and every plugin's package (not their tests).
SOURCES = sorted([*(ROOT / "core" / "erpkit").rglob("*.py"),
                  *ROOT.glob("plugins/*/erpkit_*/**/*.py")])
#: Modules that are web or command-line edges: they may read Flask's app context.
EDGE_NAMES = {"api.py", "cli.py", "app.py", "status_page.py", "settings_api.py",
              "work_api.py", "schemas.py", "demo.py", "testing.py", "console.py"}


def _is_edge(path: Path) -> bool:
    return (path.name in EDGE_NAMES or path.name.startswith("admin")
            or path.name.endswith(("_cli.py", "_api.py"))
            or "admin" in path.relative_to(ROOT).parts[:-1])


def _hits(pattern: str, paths: list[Path]) -> list[str]:
    found = []
    for path in paths:
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if re.search(pattern, line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    return found


def test_the_sources_are_found():
    names = {p.name for p in SOURCES}
    assert {"lifecycle.py", "decisions.py", "reservations.py", "plugins.py"} <= names


def test_only_the_web_and_command_line_edges_read_the_registry_from_flask():
    business = [p for p in SOURCES if not _is_edge(p) and p.name != "plugins.py"]
    hits = _hits(r"current_registry\(\)", business)
    hits += [h for h in _hits(r"current_registry\(\)", [ROOT / "core/erpkit/plugins.py"])
             if "def current_registry" not in h]
    assert hits == [], ("business code must take the registry as an argument or read it "
                        "with registry_of(session):\n" + "\n".join(hits))


def test_no_transition_is_built_outside_the_one_door():
    door = ROOT / "plugins/orders/erpkit_orders/lifecycle.py"
    hits = [h for h in _hits(r"\bTransition\(", SOURCES)
            if not h.startswith(str(door.relative_to(ROOT)))]
    assert hits == [], "build transitions with erpkit_orders.lifecycle.perform:\n" + "\n".join(
        hits)
    in_door = _hits(r"\bTransition\(", [door])
    assert len(in_door) == 1, in_door


def test_dead_code_and_cryptic_names_stay_gone():
    hits = _hits(r"def installed_distributions|def public_label|^\s*S = Status|"
                 r"getattr\(fact, \"pattern\"", SOURCES)
    assert hits == [], "\n".join(hits)


def test_every_json_blueprint_of_ours_is_guarded_by_default():
    """Our own modules use erpkit.api.Blueprint (a route is guarded unless it says it is
    public); a plain flask_smorest.Blueprint would leave a forgotten decorator open."""
    guarded_home = ROOT / "core/erpkit/api.py"
    plain = r"from flask_smorest import .*\bBlueprint\b|flask_smorest\.Blueprint\("
    hits = [h for h in _hits(plain, SOURCES)
            if not h.startswith(str(guarded_home.relative_to(ROOT)))
            and "as ApiBlueprint" not in h]
    assert hits == [], "use erpkit.api.Blueprint(..., permission=...):\n" + "\n".join(hits)
