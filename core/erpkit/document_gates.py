"""Gated transitions of a plugin's own documents: moves that approval rules may hold.

A sales order's moves are gated by the orders module (hook ``erpkit_order_gate``). A
plugin with a document of its own (purchasing's purchase order) declares the move it
lets rules guard with ``erpkit_gated_transitions`` and asks before making it with
:func:`ask_gate`: a plugin that holds the move (the approvals module, through
``erpkit_document_gate``) writes what the document waits on in the caller's transaction
and answers with a :class:`DocumentHold`; the document stays where it is. When the
hold's last step passes, the holder locks the document with the declaration's ``lock``
and calls ``passed`` in the decision's own transaction. A document that leaves the
status it waits in another way (cancelled, edited) calls :func:`withdraw_gate`.

With no plugin answering (the approvals module is not enabled), nothing holds: the
move is made at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

from erpkit.facts import FactValueError, check_fact_values
from erpkit.transitions import TransitionFailed

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from erpkit.plugins import Registry


class DocumentLike(Protocol):
    """What a gated document offers: its id, a number people read, and its status."""

    id: int
    number: str
    status: str


@dataclass(frozen=True)
class GatedTransition:
    """A move of a plugin's own document that approval rules may guard.

    ``name`` is what rules name as their gate (``purchasing.approve``: prefix it with
    your plugin's name); ``document`` names the kind of document (``purchase_order``);
    ``waits_in`` is the status the document stays in while the move is held. ``facts``
    are the names of the facts (declared with ``erpkit_fact_definitions``) rules of
    this gate may test, and ``compute_facts(session, document)`` computes them.
    ``lock(session, document_id)`` returns the document locked and fresh for a
    decision's transaction (or ``None`` when it is gone); ``passed(session, document,
    actor)`` makes the move once the last step approved it (``actor``: the last
    approver's login, or ``None`` for the sweep); ``refused(session, document, reason)``
    is told of a rejection (the document stays). ``decide_permission`` is the
    permission an approver of this gate needs besides being named by the step.
    ``recent(session, last)`` lists the last documents that reached ``waits_in``, for
    dry runs. ``plugin`` is filled in by the core.
    """

    name: str
    document: str
    description: str
    waits_in: str
    facts: tuple[str, ...]
    compute_facts: Callable[[Session, Any], Mapping[str, Any]]
    lock: Callable[[Session, int], Any]
    passed: Callable[[Session, Any, str | None], None]
    refused: Callable[[Session, Any, str], None] | None = None
    decide_permission: str | None = None
    recent: Callable[[Session, int], list[Any]] | None = None
    plugin: str = field(default="", compare=False)


@dataclass
class DocumentHold:
    """A holder's answer to ``erpkit_document_gate``: the move waits (``request_id``:
    what it waits on, as the holder numbers it)."""

    gate: str
    summary: str
    request_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """What the caller is told (an API answers 202 with it)."""
        return {"code": "held", "gate": self.gate,
                "message": f"held for approval before {self.gate}: {self.summary}",
                "requests": [self.request_id] if self.request_id is not None else []}


def gated_transitions(registry: Registry) -> dict[str, GatedTransition]:
    """Every enabled plugin's gated transitions by name, each with its ``plugin``."""
    found: dict[str, GatedTransition] = {}
    for impl in registry.hook.erpkit_gated_transitions.get_hookimpls():
        for declared in impl.function() or ():
            if declared.name in found:
                raise ValueError(
                    f"gated transition {declared.name!r} is declared by both "
                    f"{found[declared.name].plugin!r} and {impl.plugin_name!r}. Fix: "
                    "prefix the name with your plugin's name.")
            found[declared.name] = replace(declared, plugin=impl.plugin_name)
    return found


def gated_transition(registry: Registry, name: str) -> GatedTransition:
    """The declaration of ``name``; ``KeyError`` when no enabled plugin declares it."""
    return gated_transitions(registry)[name]


def document_facts(registry: Registry, session: Session, gate: GatedTransition,
                   document: Any) -> dict[str, Any]:
    """The facts ``gate`` computes for ``document``, checked against their declarations
    (a value of the wrong type fails naming the plugin)."""
    try:
        values = dict(gate.compute_facts(session, document) or {})
        check_fact_values(gate.plugin, values, registry.facts)
    except FactValueError as exc:
        raise TransitionFailed(gate.plugin, exc) from exc
    return values


def ask_gate(session: Session, registry: Registry, name: str, document: DocumentLike, *,
             actor: Any) -> DocumentHold | None:
    """Ask whether the move ``name`` of ``document`` must wait, in the caller's
    transaction (hook ``erpkit_document_gate``). ``None``: make the move now."""
    gate = gated_transition(registry, name)
    hold: DocumentHold | None = registry.hook.erpkit_document_gate(
        gate=gate, document=document, session=session, actor=actor)
    return hold


def withdraw_gate(session: Session, registry: Registry, name: str, document: DocumentLike,
                  *, reason: str) -> None:
    """``document`` left the status its held move waits in (cancelled, edited): what
    waits on it is closed (hook ``erpkit_document_gate_withdrawn``)."""
    registry.hook.erpkit_document_gate_withdrawn(
        gate=gated_transition(registry, name), document=document, session=session,
        reason=reason)
