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
    # Each plugin in dependency order, so it finds the records of the plugins it requires;
    # a plugin whose demo records exist already adds nothing.
    implementations = list(reversed(current_registry().hook.erpkit_demo_data.get_hookimpls()))
    arguments = {"session": session, "users": users}
    with click.progressbar(implementations, label="loading demo data") as bar:
        for impl in bar:
            impl.function(**{name: arguments[name] for name in impl.argnames})
            session.commit()
    return {role: user.login for role, user in users.items()}
