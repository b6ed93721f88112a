"""WSGI entry point for production servers: ``gunicorn 'erpkit.wsgi:app'``."""

from erpkit.app import create_app
from erpkit.db import DatabaseDriverMissing
from erpkit.plugins import PluginError
from erpkit.serving import settle_after_startup

try:
    app = create_app()
except (PluginError, DatabaseDriverMissing) as exc:
    # The message names the fix; a traceback from the factory would bury it.
    raise SystemExit(f"erpkit cannot start: {exc}") from None

settle_after_startup()
