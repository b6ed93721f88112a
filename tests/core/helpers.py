"""Helpers for the core's tests: in-process plugins, plugins installed as real
distributions on ``sys.path``, and the ``erpkit`` command line run in-process."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result

from erpkit.db import create_engine, db


class Distributions:
    """Write plugin packages and their ``.dist-info`` into one folder meant for ``sys.path``.

    ``importlib.metadata`` finds their entry points exactly as it finds those of an
    installed wheel, so discovery runs through the real entry-point code path.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def add(self, distribution: str, plugins: dict[str, str], files: dict[str, str],
            version: str = "1.0") -> None:
        """Install ``distribution`` publishing ``plugins`` (entry point name -> module)
        whose source is ``files`` (relative path -> text)."""
        for relative, text in files.items():
            path = self.root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text))
        dist_info = self.root / f"{distribution.replace('-', '_')}-{version}.dist-info"
        dist_info.mkdir(exist_ok=True)
        (dist_info / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {distribution}\nVersion: {version}\n"
        )
        lines = "".join(f"{name} = {module}\n" for name, module in plugins.items())
        (dist_info / "entry_points.txt").write_text(f"[erpkit.plugins]\n{lines}")


class Cli:
    """Run ``erpkit ...`` in-process against one database, as a user would type it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, url: str) -> None:
        self.monkeypatch = monkeypatch
        self.url = url

    def __call__(self, *args: str, input: str | None = None,
                 plugins: str | None = None) -> Result:
        """``plugins`` sets ERPKIT_PLUGINS for this call (default: every installed one)."""
        from erpkit.cli import main

        self.monkeypatch.setenv("ERPKIT_DATABASE_URL", self.url)
        if plugins is None:
            self.monkeypatch.delenv("ERPKIT_PLUGINS", raising=False)
        else:
            self.monkeypatch.setenv("ERPKIT_PLUGINS", plugins)
        state: dict[str, Any] = {}
        result = CliRunner().invoke(main, list(args), input=input, obj=state)
        app = state.get("app")
        if app is not None:  # each invocation builds an app: give its connections back
            with app.app_context():
                db.engine.dispose()
        return result


def table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return set(sa.inspect(connection).get_table_names())
    finally:
        engine.dispose()


def version_rows(url: str) -> set[str]:
    """The rows of ``alembic_version``: one per applied leaf revision."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            if not sa.inspect(connection).has_table("alembic_version"):
                return set()
            return set(connection.scalars(sa.text("SELECT version_num FROM alembic_version")))
    finally:
        engine.dispose()


# --- sample plugins with tables and migrations ------------------------------------------
# "widgets" and "gadgets" (which requires widgets) are complete plugins: models, hand-
# written migrations, entry points.

WIDGETS = '''
    import sqlalchemy as sa
    from sqlalchemy.orm import Mapped, mapped_column

    from erpkit import PluginMeta, hookimpl
    from erpkit.db import Base

    PLUGIN = PluginMeta(name="widgets", migrations="erpkit_test_widgets:migrations")


    class Widget(Base):
        __tablename__ = "widgets_widget"

        id: Mapped[int] = mapped_column(primary_key=True)
        name: Mapped[str] = mapped_column(sa.String(50))


    @hookimpl
    def erpkit_models():
        return [Widget]
'''

WIDGETS_0001 = '''
    import sqlalchemy as sa
    from alembic import op

    revision = "widgets_0001"
    down_revision = None
    branch_labels = ("widgets",)
    depends_on = "core_0001"


    def upgrade():
        op.create_table(
            "widgets_widget",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("name", sa.String(length=50), nullable=False),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_widgets_widget")),
        )


    def downgrade():
        op.drop_table("widgets_widget")
'''

GADGETS = '''
    import sqlalchemy as sa
    from sqlalchemy.orm import Mapped, mapped_column

    from erpkit import PluginMeta, hookimpl
    from erpkit.db import Base

    PLUGIN = PluginMeta(name="gadgets", requires=("widgets",),
                        migrations="erpkit_test_gadgets:migrations")


    class Gadget(Base):
        __tablename__ = "gadgets_gadget"

        id: Mapped[int] = mapped_column(primary_key=True)
        widget_id: Mapped[int] = mapped_column(sa.ForeignKey("widgets_widget.id"))


    @hookimpl
    def erpkit_models():
        return [Gadget]
'''

GADGETS_0001 = '''
    import sqlalchemy as sa
    from alembic import op

    revision = "gadgets_0001"
    down_revision = None
    branch_labels = ("gadgets",)
    depends_on = "widgets_0001"


    def upgrade():
        op.create_table(
            "gadgets_gadget",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("widget_id", sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(["widget_id"], ["widgets_widget.id"],
                                    name=op.f("fk_gadgets_gadget_widget_id_widgets_widget")),
            sa.PrimaryKeyConstraint("id", name=op.f("pk_gadgets_gadget")),
        )


    def downgrade():
        op.drop_table("gadgets_gadget")
'''


def write_sample_plugins(root: Path) -> None:
    dists = Distributions(root)
    dists.add("erpkit-test-widgets", {"widgets": "erpkit_test_widgets"}, {
        "erpkit_test_widgets/__init__.py": WIDGETS,
        "erpkit_test_widgets/migrations/widgets_0001.py": WIDGETS_0001,
    })
    dists.add("erpkit-test-gadgets", {"gadgets": "erpkit_test_gadgets"}, {
        "erpkit_test_gadgets/__init__.py": GADGETS,
        "erpkit_test_gadgets/migrations/gadgets_0001.py": GADGETS_0001,
    })
