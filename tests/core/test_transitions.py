"""The transaction contract of the core: a transition is all or nothing, and side effects
registered with ``after_commit`` happen after a commit only, never after a rollback."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from erpkit import Transition, TransitionFailed, TransitionRefused
from erpkit.models import AuditEntry
from erpkit.plugins import load_plugins
from erpkit.transitions import after_commit, atomic


def write(session: Session, marker: str) -> None:
    session.add(AuditEntry(actor="test", entity="transition", entity_id=marker, action="x"))


def markers(engine: sa.Engine) -> list[str]:
    with Session(engine) as session:
        return sorted(session.scalars(
            sa.select(AuditEntry.entity_id).where(AuditEntry.entity == "transition")))


def test_callbacks_run_after_the_block_commits(db_session, engine):
    seen = []
    with atomic(db_session):
        write(db_session, "a")
        after_commit(db_session, lambda: seen.append(markers(engine)))
        assert seen == []
    assert seen == [["a"]]  # it ran once, and saw the committed row


def test_callbacks_never_run_when_the_block_rolls_back(db_session, engine):
    seen = []
    with pytest.raises(TransitionRefused), atomic(db_session):
        write(db_session, "a")
        after_commit(db_session, lambda: seen.append("mail"))
        raise TransitionRefused("no stock")
    with atomic(db_session):  # a later, unrelated transaction commits
        write(db_session, "b")
    assert seen == []
    assert markers(engine) == ["b"]


def test_callbacks_of_a_transaction_closed_without_commit_never_run(db_session):
    seen = []
    write(db_session, "a")
    after_commit(db_session, lambda: seen.append("mail"))
    db_session.close()  # the session's transaction ends without a commit
    with atomic(db_session):
        write(db_session, "b")
    assert seen == []


def test_a_rolled_back_savepoint_keeps_the_callbacks_registered_before_it(db_session, engine):
    seen = []
    with atomic(db_session):
        write(db_session, "a")
        after_commit(db_session, lambda: seen.append("mail"))
        with pytest.raises(TransitionRefused), db_session.begin_nested():
            write(db_session, "b")
            db_session.flush()
            raise TransitionRefused("confirmation refused")
    assert seen == ["mail"]
    assert markers(engine) == ["a"]


def test_releasing_a_savepoint_is_not_the_commit(db_session):
    seen = []
    with pytest.raises(TransitionRefused), atomic(db_session):
        write(db_session, "a")
        after_commit(db_session, lambda: seen.append("mail"))
        with db_session.begin_nested():
            write(db_session, "b")
        assert seen == []  # still waiting for the real commit
        raise TransitionRefused("refused after the savepoint")
    assert seen == []


def test_callbacks_queued_inside_a_rolled_back_savepoint_are_dropped_with_it(db_session):
    seen = []
    with atomic(db_session):
        write(db_session, "a")
        with db_session.begin_nested():  # released: its callbacks stand
            after_commit(db_session, lambda: seen.append("kept"))
        with pytest.raises(TransitionRefused), db_session.begin_nested():
            after_commit(db_session, lambda: seen.append("reserved-stock mail"))
            with db_session.begin_nested():
                after_commit(db_session, lambda: seen.append("nested deeper"))
            raise TransitionRefused("not enough stock")
    assert seen == ["kept"]


def test_a_failing_callback_is_logged_and_the_others_still_run(db_session, engine, caplog):
    seen = []

    def broken() -> None:
        raise OSError("smtp down")

    with caplog.at_level(logging.ERROR, logger="erpkit.transitions"), atomic(db_session):
        write(db_session, "a")
        after_commit(db_session, broken)
        after_commit(db_session, lambda: seen.append("webhook"))
    assert seen == ["webhook"]
    assert markers(engine) == ["a"]  # the commit stands
    assert "after-commit callback" in caplog.text and "smtp down" in caplog.text


def test_callbacks_run_once_in_the_order_they_were_registered(db_session):
    seen = []
    with atomic(db_session):
        write(db_session, "a")
        for name in ("first", "second", "third"):
            after_commit(db_session, lambda name=name: seen.append(name))
    with atomic(db_session):
        write(db_session, "b")
    assert seen == ["first", "second", "third"]


def test_a_transition_defers_its_side_effects_until_commit(db_session):
    seen = []
    with atomic(db_session):
        transition = Transition(session=db_session, registry=None,  # type: ignore[arg-type]
                                name="confirm", from_status="approved",
                                to_status="confirmed")
        transition.after_commit(lambda: seen.append("confirmation mail"))
        assert seen == []
    assert seen == ["confirmation mail"]


def test_everything_written_in_a_refused_block_is_rolled_back(db_session, engine):
    with pytest.raises(ValueError), atomic(db_session):
        write(db_session, "a")
        db_session.flush()
        raise ValueError("plugin bug")
    assert markers(engine) == []


# --- refusals and failures are attributed to the plugin that raised ------------------


def test_a_refusal_names_the_plugin_that_raised_it(distributions):
    distributions.add("erpkit-picky", {"picky": "erpkit_picky"}, {"erpkit_picky.py": '''
        from erpkit import PluginMeta, TransitionRefused, hookimpl

        PLUGIN = PluginMeta(name="picky")

        @hookimpl
        def erpkit_order_confirmed(order):
            raise TransitionRefused("line 1: not enough stock", field="lines.0.quantity")
    '''})
    registry = load_plugins({"picky"})
    with pytest.raises(TransitionRefused) as refused:
        registry.call("erpkit_order_confirmed", order=None, transition=None)
    assert refused.value.plugin == "picky"
    assert refused.value.as_dict() == {"message": "line 1: not enough stock", "code": "refused",
                                       "field": "lines.0.quantity", "plugin": "picky"}


def test_a_plugin_failure_becomes_a_transition_failure_naming_the_plugin(distributions):
    distributions.add("erpkit-buggy", {"buggy": "erpkit_buggy"}, {"erpkit_buggy.py": '''
        from erpkit import PluginMeta, hookimpl

        PLUGIN = PluginMeta(name="buggy")

        @hookimpl
        def erpkit_order_shipped(order):
            return {}["carrier"]
    '''})
    registry = load_plugins({"buggy"})
    with pytest.raises(TransitionFailed) as failed:
        registry.call("erpkit_order_shipped", order=None, shipment=None, transition=None)
    assert failed.value.plugin == "buggy"
    assert "plugin 'buggy' failed: KeyError" in str(failed.value)
