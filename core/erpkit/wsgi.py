"""WSGI entry point for production servers: ``gunicorn 'erpkit.wsgi:app'``."""

from erpkit.app import create_app

app = create_app()
