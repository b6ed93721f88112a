"""The set-up cache (:mod:`erpkit.setup_cache`): a process keeps set-up while its
generation stays the same, and never uses it once another process, another session or its
own transaction changed it. On both backends, with a real second process for the
cross-process case."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit import setup_cache
from erpkit.models import CacheGeneration, ParameterValue

#: A kind of the tests' own, made of the stored parameters' rows.
KIND = "tests.parameter_names"
setup_cache.declare(KIND, ParameterValue)


class Loads:
    """``loads()`` reads the parameter names and counts how often it had to."""

    def __init__(self) -> None:
        self.count = 0

    def names(self, session: Session) -> frozenset[str]:
        def load() -> frozenset[str]:
            self.count += 1
            return frozenset(session.scalars(sa.select(ParameterValue.name)))

        return setup_cache.cached(session, KIND, "names", load)


@pytest.fixture
def loads(app) -> Iterator[Loads]:  # app: its fixtures empty the tables (a new epoch)
    setup_cache.forget_everything()
    yield Loads()
    setup_cache.forget_everything()


def add(session: Session, name: str) -> None:
    session.add(ParameterValue(name=name, value="x"))


def test_set_up_is_read_once_while_nothing_changes(engine, loads):
    with Session(engine) as session:
        assert loads.names(session) == frozenset()
        assert loads.names(session) == frozenset()
        session.commit()
        assert loads.names(session) == frozenset()
    with Session(engine) as other:
        assert loads.names(other) == frozenset()
    assert loads.count == 1


def test_a_change_committed_by_another_session_is_seen_in_the_next_transaction(engine, loads):
    with Session(engine) as reader, Session(engine) as writer:
        assert loads.names(reader) == frozenset()
        reader.commit()
        add(writer, "alpha.limit")
        writer.commit()
        assert loads.names(reader) == {"alpha.limit"}
        reader.commit()
        assert loads.names(reader) == {"alpha.limit"}
    assert loads.count == 2


def test_a_parameter_changed_by_another_process_is_seen(app, engine, loads, database_url):
    # The real kind "parameters": declared by erpkit.parameters, which every process of
    # erpkit imports (a kind of this test module's own is unknown to another process).
    store = app.extensions["erpkit"].parameters
    with Session(engine) as reader:
        assert store.get(reader, "core.company_name") != "Acme"
        reader.commit()
        assert store.get(reader, "core.company_name") != "Acme"  # kept: nothing changed
        reader.commit()
        env = {**os.environ, "ERPKIT_DATABASE_URL": database_url}
        done = subprocess.run(
            [sys.executable, "-m", "erpkit.cli", "settings", "set", "core.company_name",
             "Acme", "--actor", "ada"],
            capture_output=True, text=True, env=env, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        assert store.get(reader, "core.company_name") == "Acme"


def test_a_pending_change_is_seen_by_its_own_transaction_and_not_kept(engine, loads):
    with Session(engine) as session:
        assert loads.names(session) == frozenset()
        add(session, "alpha.limit")  # pending: not flushed yet
        assert loads.names(session) == {"alpha.limit"}
        session.rollback()
        assert loads.names(session) == frozenset()
    assert loads.count == 2  # before the change, and inside the changing transaction


def test_a_rolled_back_change_is_never_kept_for_others(engine, loads):
    with Session(engine) as writer:
        add(writer, "alpha.limit")
        writer.flush()
        assert loads.names(writer) == {"alpha.limit"}
        writer.rollback()
    with Session(engine) as reader:
        assert loads.names(reader) == frozenset()


def test_an_orm_delete_statement_replaces_the_generation(engine, loads):
    with Session(engine) as session:
        add(session, "alpha.limit")
        session.commit()
        assert loads.names(session) == {"alpha.limit"}
        session.commit()
    with Session(engine) as session:
        session.execute(sa.delete(ParameterValue).where(ParameterValue.name == "alpha.limit"))
        session.commit()
    with Session(engine) as session:
        assert loads.names(session) == frozenset()


@pytest.mark.parametrize("announce", [
    pytest.param(lambda connection: setup_cache.changed(connection, KIND), id="changed"),
    pytest.param(setup_cache.new_epoch, id="database emptied or recreated: a new epoch"),
])
def test_a_write_behind_the_orms_back_is_seen_once_announced(engine, loads, announce):
    with Session(engine) as session:
        assert loads.names(session) == frozenset()
        session.commit()
    with engine.begin() as connection:
        connection.execute(sa.insert(ParameterValue.__table__).values(name="beta.x", value="1"))
        announce(connection)
    with Session(engine) as session:
        assert loads.names(session) == {"beta.x"}


def test_without_an_epoch_nothing_is_kept(engine, loads):
    with engine.begin() as connection:
        connection.execute(sa.delete(CacheGeneration.__table__))
    with Session(engine) as session:
        loads.names(session)
        session.commit()
        loads.names(session)
    assert loads.count == 2
