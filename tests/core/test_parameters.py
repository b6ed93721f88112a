"""Typed parameters: parsed and validated, refused with a reason, stored, read again only
after a change, seen by every session from its next transaction on, audited; and the
``erpkit settings`` commands that edit them."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa
from marshmallow import fields, validate
from sqlalchemy.orm import Session

from erpkit import Parameter, ValidationFailed
from erpkit.models import AuditEntry, ParameterValue
from erpkit.plugins import load_plugins
from erpkit.testing import make_plugin


def _declared() -> list[Parameter]:
    return [
        Parameter(name="alpha.limit", type=fields.Integer(validate=validate.Range(min=1)),
                  default=5, description="How many at most."),
        Parameter(name="alpha.threshold", type=fields.Decimal(places=2),
                  default=Decimal("100.00"), description="Approve above this total."),
        Parameter(name="alpha.channels", type=fields.List(fields.String()),
                  default=["web"], description="Where orders come from."),
        Parameter(name="alpha.enabled", type=fields.Boolean(), default=True,
                  description="Switch it off."),
    ]


@pytest.fixture(scope="module")
def store():
    registry = load_plugins(None, extra=[make_plugin("alpha", erpkit_parameters=_declared)])
    return registry.parameters


class Queries:
    """Counts the statements that read stored parameters."""

    def __init__(self, engine: sa.Engine) -> None:
        self.count = 0
        sa.event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, *args) -> None:
        if "FROM core_parameter" in statement:
            self.count += 1


# --- typed parse and refusal -----------------------------------------------------------


def test_text_is_parsed_into_the_parameter_type(store):
    assert store.parameter("alpha.limit").parse("7") == 7
    assert store.parameter("alpha.threshold").parse("12.5") == Decimal("12.50")
    assert store.parameter("alpha.enabled").parse("false") is False


@pytest.mark.parametrize(("name", "raw", "reason"), [
    ("alpha.limit", "seven", "Not a valid integer."),
    ("alpha.limit", "0", "Must be greater than or equal to 1."),
    ("alpha.enabled", "maybe", "Not a valid boolean."),
    ("core.default_currency", "euro", "use a 3-letter ISO 4217 code"),
])
def test_a_bad_value_is_refused_with_the_field_and_the_reason(store, name, raw, reason):
    with pytest.raises(ValidationFailed) as refused:
        store.parameter(name).parse(raw)
    [problem] = refused.value.problems
    assert (problem.field, problem.message) == (name, reason)


def test_an_unknown_parameter_is_refused(store):
    with pytest.raises(ValidationFailed, match="no installed plugin declares this parameter"):
        store.parameter("alpha.nope")


# --- stored, cached, invalidated, audited ----------------------------------------------


def test_the_default_applies_until_a_value_is_stored(store, db_session):
    assert store.get(db_session, "alpha.limit") == 5
    assert store.is_default(db_session, "alpha.limit")


@pytest.mark.parametrize(("name", "raw", "typed"), [
    ("alpha.limit", "9", 9),
    ("alpha.threshold", "250.5", Decimal("250.50")),
    ("alpha.channels", ["web", "phone"], ["web", "phone"]),
    ("alpha.enabled", "no", False),
])
def test_a_value_is_stored_and_read_back_typed(store, db_session, engine, name, raw, typed):
    store.set(db_session, name, raw, actor="ada")
    db_session.commit()
    with Session(engine) as other:
        assert store.get(other, name) == typed
        assert not store.is_default(other, name)
        assert other.get(ParameterValue, name).updated_by == "ada"


def test_stored_values_are_read_once_and_again_only_after_a_change(store, db_session, engine):
    queries = Queries(engine)
    store.get(db_session, "alpha.limit")
    store.get(db_session, "alpha.threshold")
    store.get(db_session, "core.default_currency")
    assert queries.count == 1
    db_session.commit()
    assert store.get(db_session, "alpha.limit") == 5
    assert queries.count == 1  # kept by the process: no parameter changed since
    db_session.commit()
    with Session(engine) as writer:
        store.set(writer, "alpha.limit", "9", actor="ada")
        writer.commit()
    assert store.get(db_session, "alpha.limit") == 9
    assert queries.count == 3  # the writer looks its row up, then this session reads again


def test_a_write_is_seen_by_another_session_in_its_next_transaction(store, engine):
    with Session(engine) as reader, Session(engine) as writer:
        assert store.get(reader, "alpha.limit") == 5
        reader.commit()  # its transaction ends (SQLite: a writer may now take the lock)
        store.set(writer, "alpha.limit", "8", actor="ada")
        writer.commit()
        assert store.get(reader, "alpha.limit") == 8


def test_a_session_closed_without_commit_forgets_its_cached_values(store, engine):
    with Session(engine) as reader, Session(engine) as writer:
        assert store.get(reader, "alpha.limit") == 5
        reader.close()
        store.set(writer, "alpha.limit", "3", actor="ada")
        writer.commit()
        assert store.get(reader, "alpha.limit") == 3


def test_a_write_is_seen_at_once_in_the_writing_transaction(store, db_session):
    assert store.get(db_session, "alpha.limit") == 5
    store.set(db_session, "alpha.limit", "6", actor="ada")
    assert store.get(db_session, "alpha.limit") == 6
    db_session.rollback()
    assert store.get(db_session, "alpha.limit") == 5


def test_a_value_written_in_a_rolled_back_savepoint_is_forgotten(store, db_session):
    assert store.get(db_session, "alpha.limit") == 5
    with pytest.raises(RuntimeError), db_session.begin_nested():
        store.set(db_session, "alpha.limit", "6", actor="ada")
        assert store.get(db_session, "alpha.limit") == 6
        raise RuntimeError("the transition failed")
    assert store.get(db_session, "alpha.limit") == 5


def test_every_change_is_audited_with_before_and_after(store, db_session, engine):
    store.set(db_session, "alpha.limit", "9", actor="ada")
    db_session.commit()
    store.reset(db_session, "alpha.limit", actor="bob")
    db_session.commit()
    with Session(engine) as other:
        entries = other.scalars(sa.select(AuditEntry).where(AuditEntry.entity == "parameter")
                                .order_by(AuditEntry.id)).all()
    assert [(e.actor, e.entity_id, e.action, e.before, e.after) for e in entries] == [
        ("ada", "alpha.limit", "update", 5, 9),
        ("bob", "alpha.limit", "reset", 9, 5),
    ]
    assert store.get(db_session, "alpha.limit") == 5


def test_a_refused_value_stores_nothing(store, db_session, engine):
    with pytest.raises(ValidationFailed):
        store.set(db_session, "alpha.limit", "-1", actor="ada")
    db_session.commit()
    with Session(engine) as other:
        assert other.scalar(sa.select(sa.func.count()).select_from(ParameterValue)) == 0
        assert other.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == 0


# --- erpkit settings --------------------------------------------------------------------


@pytest.fixture
def settings(cli_for, database_url, app):  # app: its fixtures empty the tables first
    cli = cli_for(database_url)
    result = cli("init")
    assert result.exit_code == 0, result.output
    return cli


def test_settings_list_shows_every_parameter_with_type_value_and_description(settings):
    result = settings("settings", "list")
    assert result.exit_code == 0, result.output
    assert "core.default_currency [string] = EUR\n" in result.output
    assert "Currency of orders that name none (ISO 4217 code)." in result.output
    for name in load_plugins().parameters.declared:
        assert f"{name} [" in result.output


def test_settings_set_get_and_reset(settings):
    changed = settings("settings", "set", "core.default_currency", "USD", "--actor", "ada")
    assert changed.exit_code == 0, changed.output
    assert changed.output.strip() == "core.default_currency = USD"
    assert settings("settings", "get", "core.default_currency").output.strip() == "USD"
    assert "core.default_currency [string] = USD (set)" in settings("settings", "list").output

    reset = settings("settings", "reset", "core.default_currency")
    assert reset.exit_code == 0, reset.output
    assert reset.output.strip() == "core.default_currency = EUR (default)"
    assert settings("settings", "get", "core.default_currency").output.strip() == "EUR"


def test_settings_set_records_who_changed_what(settings):
    settings("settings", "set", "core.company_name", "Acme", "--actor", "ada")
    from erpkit.db import create_engine

    engine = create_engine(settings.url)
    with Session(engine) as session:
        entry = session.scalars(sa.select(AuditEntry)).one()
    engine.dispose()
    assert (entry.actor, entry.entity_id, entry.before, entry.after) == (
        "ada", "core.company_name", "erpkit demo company", "Acme")


def test_settings_set_refuses_a_bad_value_naming_the_field_and_the_reason(settings):
    result = settings("settings", "set", "core.default_currency", "euro")
    assert result.exit_code == 1
    assert result.output.strip() == (
        "refused: core.default_currency: use a 3-letter ISO 4217 code")
    assert "Traceback" not in result.output
    assert settings("settings", "get", "core.default_currency").output.strip() == "EUR"


def test_settings_get_refuses_an_unknown_parameter(settings):
    result = settings("settings", "get", "core.nothing")
    assert result.exit_code == 1
    assert "core.nothing: no installed plugin declares this parameter" in result.output
    assert "Traceback" not in result.output
