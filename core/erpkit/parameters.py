"""Typed parameters: settings that admins change without a code change or a restart.

A plugin declares each parameter once (hook ``erpkit_parameters``) with a marshmallow
field as its type: the field parses text from the command line or a form, validates it
and turns it into JSON for storage. Values live in ``core_parameter``; reads are cached
for the length of one transaction (one query loads them all), and a write invalidates the
cache, so the next transaction anywhere sees the new value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import marshmallow
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from erpkit import setup_cache
from erpkit.models import ParameterValue, audit
from erpkit.problems import ValidationFailed

if TYPE_CHECKING:
    from collections.abc import Mapping

_CACHE_KEY = "erpkit.parameters"
SETUP_KIND = "parameters"


@dataclass(frozen=True)
class Parameter:
    """A typed, validated setting.

    ``type`` is a marshmallow field (``fields.Decimal(validate=Range(min=0))``); its
    validators are the parameter's rules. ``choices`` documents allowed values for forms.
    """

    name: str
    type: marshmallow.fields.Field
    default: Any
    description: str
    owner: str = field(default="", compare=False)

    @property
    def type_name(self) -> str:
        """What the value is, for people: ``integer``, ``decimal``, ``string``..."""
        if isinstance(self.type, marshmallow.fields.Decimal):
            return "decimal"  # StrictDecimal too: what it holds, not how it is read
        return type(self.type).__name__.lower()

    def parse(self, raw: Any) -> Any:
        """Turn user input (text or JSON value) into a typed value, or refuse it."""
        try:
            return self.type.deserialize(raw)
        except marshmallow.ValidationError as exc:
            messages = exc.messages if isinstance(exc.messages, list) else [str(exc.messages)]
            raise ValidationFailed.single(self.name, " ".join(map(str, messages))) from None

    def to_json(self, value: Any) -> Any:
        return _json_safe(self.type.serialize("value", {"value": value}))

    def from_json(self, stored: Any) -> Any:
        return self.type.deserialize(stored)

    def describe(self, value: Any) -> str:
        rendered = self.to_json(value)
        return str(rendered) if rendered is not None else ""


def _json_safe(value: Any) -> Any:
    """Decimals as exact strings (JSON has no decimal type; the field parses them back)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    return value


#: Built once: a statement built per transaction cost more than running it.
_ALL_STORED = sa.select(ParameterValue.name, ParameterValue.value)


#: Stored values are set-up: kept by the process while no parameter changes
#: (:mod:`erpkit.setup_cache`), remembered per transaction on top (cheaper than asking).
setup_cache.declare(SETUP_KIND, ParameterValue)


def _stored_values(session: Session) -> Mapping[str, Any]:
    cached = session.info.get(_CACHE_KEY)
    if cached is None:
        cached = setup_cache.cached(session, SETUP_KIND, (), lambda: MappingProxyType(
            {name: value for name, value in session.execute(_ALL_STORED)}))
        session.info[_CACHE_KEY] = cached
    return cached  # type: ignore[no-any-return]


def _forget(session: Session, *_args: Any) -> None:
    session.info.pop(_CACHE_KEY, None)


def _forget_at_end(session: Session, transaction: Any) -> None:
    # Every flush runs in a sub-transaction of its own whose end means nothing here;
    # forgetting then cost one query per flush (four per order in bench/pipeline.py).
    if transaction.parent is None or transaction.nested:
        _forget(session)


# A transaction's cache must never outlive it: another process may write meanwhile.
# after_transaction_end also covers a session closed without commit or rollback, and a
# savepoint that ends (a value written inside a rolled-back savepoint is gone).
event.listen(Session, "after_commit", _forget)
event.listen(Session, "after_transaction_end", _forget_at_end)


class ParameterStore:
    """Reads and writes the parameters that the installed plugins declare."""

    def __init__(self, declared: Mapping[str, Parameter]) -> None:
        self.declared = dict(declared)

    def parameter(self, name: str) -> Parameter:
        try:
            return self.declared[name]
        except KeyError:
            raise ValidationFailed.single(
                name, "no installed plugin declares this parameter", code="unknown"
            ) from None

    def get(self, session: Session, name: str) -> Any:
        """The current value of ``name``: stored if set, else the declared default."""
        parameter = self.parameter(name)
        stored = _stored_values(session)
        if name not in stored:
            return parameter.default
        return parameter.from_json(stored[name])

    def is_default(self, session: Session, name: str) -> bool:
        return name not in _stored_values(session)

    def set(self, session: Session, name: str, raw: Any, *, actor: str | None) -> Any:
        """Parse, validate and store a new value; audited; the caller commits."""
        parameter = self.parameter(name)
        value = parameter.parse(raw)
        before = self.get(session, name)
        row = session.get(ParameterValue, name)
        if row is None:
            row = ParameterValue(name=name)
            session.add(row)
        row.value = parameter.to_json(value)
        row.updated_by = actor
        audit(
            session,
            actor=actor,
            entity="parameter",
            entity_id=name,
            action="update",
            before=parameter.to_json(before),
            after=row.value,
        )
        session.flush()
        _forget(session)
        return value

    def reset(self, session: Session, name: str, *, actor: str | None) -> None:
        """Forget the stored value so the declared default applies again."""
        parameter = self.parameter(name)
        before = self.get(session, name)
        session.execute(sa.delete(ParameterValue).where(ParameterValue.name == name))
        audit(session, actor=actor, entity="parameter", entity_id=name, action="reset",
              before=parameter.to_json(before), after=parameter.to_json(parameter.default))
        _forget(session)


def get_value(session: Session, name: str) -> Any:
    """The current value of parameter ``name`` for the registry ``session`` serves (for
    plugin code; see :func:`erpkit.plugins.registry_of`)."""
    from erpkit.plugins import registry_of

    return registry_of(session).parameters.get(session, name)
