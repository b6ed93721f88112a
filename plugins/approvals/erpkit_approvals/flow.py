"""The order flow as a diagram: statuses, moves, and the gates rules put on them.

Rendered here as SVG text (no script, no library, nothing from a CDN): the statuses sit
on a fixed grid, each allowed move is an arrow, and a move guarded by active rules is
drawn in colour with the rules' names and who must approve. The console's "Flow" page and
``GET /api/approvals/flow.svg`` serve it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from html import escape

from sqlalchemy.orm import Session

from erpkit.plugins import Registry
from erpkit_approvals.rules import active_versions, gate_of
from erpkit_orders.lifecycle import ALLOWED, GATES, Status, cancellable_statuses

#: Where each status sits: (column, row). The happy path runs along row 0.
POSITIONS: dict[Status, tuple[int, int]] = {
    Status.DRAFT: (0, 0), Status.SUBMITTED: (1, 0), Status.PENDING_APPROVAL: (2, 1),
    Status.APPROVED: (3, 0), Status.CONFIRMED: (4, 0), Status.PARTIALLY_SHIPPED: (5, 1),
    Status.SHIPPED: (6, 0), Status.DELIVERED: (7, 0), Status.CLOSED: (8, 0),
    Status.REJECTED: (2, 2), Status.RETURNED: (7, 2), Status.CANCELLED: (3, 3),
}
WIDTH, HEIGHT, GAP_X, GAP_Y, MARGIN = 130, 40, 40, 70, 30
#: Room above the first row for the labels of gates on moves along it.
TOP = 44
LABEL_CHAR_WIDTH = 6.2  # about, at font-size 11: the labels' white backing
GATE_COLOUR, PLAIN_COLOUR = "#c0392b", "#7f8c8d"


@dataclass(frozen=True)
class Move:
    source: Status
    target: Status
    gate: str | None  # the gate name rules use for this move, if any


def moves(session: Session, registry: Registry | None = None) -> list[Move]:
    """Every allowed move (cancellation from each cancellable status) with its gate."""
    found = [Move(source, target, "submit" if (source, target) == (
        Status.SUBMITTED, Status.PENDING_APPROVAL) else GATES.get(target))
        for source, targets in ALLOWED.items() for target in sorted(targets)
        if source != target]
    found += [Move(Status(source), Status.CANCELLED, "cancel")
              for source in sorted(cancellable_statuses(session, registry))]
    return found


def gate_labels(session: Session) -> dict[str, list[str]]:
    """For each gate, one line per active rule: ``name: role finance``."""
    labels: dict[str, list[str]] = defaultdict(list)
    for rule, version in active_versions(session, None):
        who = ", ".join(
            f"role {step['role']}" if step.get("role") else ", ".join(step.get("users") or [])
            for step in version.definition["steps"])
        gate = gate_of(version.definition)
        if gate.startswith("within:"):
            labels[gate].extend(f"{step['name']} (role {step['role']})"
                                for step in version.definition["steps"])
        else:
            labels[gate].append(f"{rule.name}: {who}")
    return labels


def _box(status: Status) -> tuple[float, float]:
    column, row = POSITIONS[status]
    return MARGIN + column * (WIDTH + GAP_X), MARGIN + TOP + row * (HEIGHT + GAP_Y)


def _anchor(status: Status, towards: Status) -> tuple[float, float]:
    """The middle of the side of ``status``'s box that faces ``towards``."""
    x, y = _box(status)
    tx, ty = _box(towards)
    if abs(tx - x) >= abs(ty - y) * 1.5:
        return (x + WIDTH, y + HEIGHT / 2) if tx > x else (x, y + HEIGHT / 2)
    return (x + WIDTH / 2, y + HEIGHT) if ty > y else (x + WIDTH / 2, y)


def document_gate_lines(labels: dict[str, list[str]],
                        registry: Registry | None) -> list[str]:
    """One line per plugin document gate that active rules guard: ``purchase order,
    draft -> approved, gate purchasing.approve: Large purchases: role approver``."""
    if registry is None:
        return []
    from erpkit.document_gates import gated_transitions

    return [f"{gate.document.replace('_', ' ')} in {gate.waits_in}, gate {name} "
            f"({gate.description}): {'; '.join(labels[name])}"
            for name, gate in sorted(gated_transitions(registry).items()) if labels.get(name)]


def _gate_label(gate: str, rules: list[str], start: tuple[float, float],
                end: tuple[float, float]) -> str:
    """A gate's diamond on its arrow and its lines of text on a white backing: above the
    boxes for a move along a row (the gap between two boxes is narrow), else beside."""
    (x1, y1), (x2, y2) = start, end
    mx, my = (x1 + x2) / 2, (y1 + y2) / 2
    lines = [f"gate: before {gate}", *rules]
    width = max(len(text) for text in lines) * LABEL_CHAR_WIDTH + 8
    if abs(y1 - y2) < 1:  # along a row
        first = my - HEIGHT / 2 - 8 - 14 * (len(lines) - 1)
        left, anchor, text_x = mx - width / 2, "middle", mx
    else:
        first, left, anchor, text_x = my - 8, mx + 8, "start", mx + 12
    parts = [f'<g class="gate" data-gate="{escape(gate)}">',
             f'<rect x="{mx - 4:.0f}" y="{my - 6:.0f}" width="12" height="12" '
             f'transform="rotate(45 {mx + 2:.0f} {my:.0f})" fill="{GATE_COLOUR}"/>',
             f'<rect x="{left:.0f}" y="{first - 11:.0f}" width="{width:.0f}" '
             f'height="{14 * len(lines) + 2}" fill="#ffffff" fill-opacity="0.85"/>']
    parts += [f'<text x="{text_x:.0f}" y="{first + 14 * index:.0f}" text-anchor="{anchor}" '
              f'fill="{GATE_COLOUR}" font-size="11">{escape(text)}</text>'
              for index, text in enumerate(lines)]
    return "\n".join([*parts, "</g>"])


def render_svg(session: Session, registry: Registry | None = None,
               status_steps: dict[str, list[str]] | None = None) -> str:
    """The flow as an SVG document. ``status_steps`` lists named steps inside statuses."""
    labels = gate_labels(session)
    status_steps = status_steps or {status: labels.get(f"within:{status}", [])
                                    for status in POSITIONS}
    columns = 1 + max(c for c, _r in POSITIONS.values())
    rows = 1 + max(r for _c, r in POSITIONS.values())
    width = 2 * MARGIN + columns * WIDTH + (columns - 1) * GAP_X
    # Other documents' gates (a purchase order's approval) are listed under the flow.
    documents = document_gate_lines(labels, registry)
    height = 2 * MARGIN + TOP + rows * HEIGHT + (rows - 1) * GAP_Y + 40 + 16 * len(documents)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12" '
        'role="img" aria-label="Order flow">',
        "<defs>"
        + "".join(f'<marker id="arrow-{name}" viewBox="0 0 10 10" refX="10" refY="5" '
                  f'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
                  f'<path d="M0,0 L10,5 L0,10 z" fill="{colour}"/></marker>'
                  for name, colour in (("plain", PLAIN_COLOUR), ("gate", GATE_COLOUR)))
        + "</defs>",
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    labelled: set[str] = set()  # a gate's rules are written once, at its first arrow
    gate_labels_drawn: list[str] = []  # drawn over the boxes, so none hides them
    for move in moves(session, registry):
        guarded = bool(move.gate and labels.get(move.gate))
        (x1, y1), (x2, y2) = _anchor(move.source, move.target), _anchor(move.target,
                                                                          move.source)
        colour, marker = (GATE_COLOUR, "gate") if guarded else (PLAIN_COLOUR, "plain")
        parts.append(
            f'<line x1="{x1:.0f}" y1="{y1:.0f}" x2="{x2:.0f}" y2="{y2:.0f}" stroke="{colour}" '
            f'stroke-width="{2.5 if guarded else 1.2}" marker-end="url(#arrow-{marker})" '
            f'data-move="{move.source}-{move.target}"'
            + (f' data-gate="{move.gate}"' if guarded else "") + "/>")
        if guarded and move.gate not in labelled:
            labelled.add(str(move.gate))
            gate_labels_drawn.append(_gate_label(str(move.gate), labels[str(move.gate)],
                                                 (x1, y1), (x2, y2)))
    for status, _position in POSITIONS.items():
        x, y = _box(status)
        steps = status_steps.get(str(status), [])
        parts.append(
            f'<g class="status" data-status="{status}"><rect x="{x}" y="{y}" width="{WIDTH}" '
            f'height="{HEIGHT}" rx="6" fill="#eaf2f8" stroke="#2c3e50"/>'
            f'<text x="{x + WIDTH / 2:.0f}" y="{y + HEIGHT / 2 + 4:.0f}" text-anchor="middle" '
            f'fill="#2c3e50" font-weight="bold">{escape(str(status))}</text></g>')
        for index, step in enumerate(steps):
            step_y = y + HEIGHT + 14 + 13 * index
            parts.append(f'<text class="status-step" x="{x + 4}" y="{step_y}" '
                         f'fill="#1e8449" font-size="11">&#9745; {escape(step)}</text>')
    parts.extend(gate_labels_drawn)
    legend_y = height - 12 - 16 * len(documents)
    parts.append(f'<text x="{MARGIN}" y="{legend_y}" fill="#555">Grey: allowed moves. '
                 'Red: moves held at a gate until its approval passes.</text>')
    parts += [f'<text class="document-gate" x="{MARGIN}" y="{legend_y + 16 * (index + 1)}" '
              f'fill="{GATE_COLOUR}">{escape(line)}</text>'
              for index, line in enumerate(documents)]
    parts.append("</svg>")
    return "\n".join(parts)
