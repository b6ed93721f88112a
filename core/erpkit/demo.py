"""Demo data: one user per built-in role, then each plugin's records through its hook."""

from __future__ import annotations

import click
import sqlalchemy as sa

from erpkit.auth import BUILTIN_ROLES, create_user
from erpkit.db import db
from erpkit.models import User
from erpkit.plugins import current_registry


def load_demo(password: str) -> dict[str, str]:
    """Load the demo once; a second run keeps what is there. Returns role -> login."""
    session = db.session
    users: dict[str, User] = {}
    for role in BUILTIN_ROLES:
        login = f"{role}@demo"
        user = session.scalar(sa.select(User).where(User.login == login))
        if user is None:
            user = create_user(session, login, password, [role], name=f"Demo {role}",
                               email=f"{role}@demo.example")
        users[role] = user
    session.commit()
    # Plugins in dependency order, so each finds the records of the plugins it requires;
    # a wrapper implementation also gets to act after the plugins that require it.
    click.echo("loading demo data ...")
    current_registry().call("erpkit_demo_data", session=session, users=users)
    session.commit()
    return {role: user.login for role, user in users.items()}
