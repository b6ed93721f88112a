"""The versioned public API: every JSON endpoint under ``/api/v1``, the old ``/api``
paths kept as aliases, and the webhooks in the OpenAPI document.

A WSGI path rewrite serves ``/api/v1/...`` with the routes of ``/api/...``: one set of
routes (and of permission guards) for both, rather than every blueprint registered twice.
The OpenAPI document lists the ``/api/v1`` paths, the ones integrators should use; it
also lists the event catalogue as OpenAPI 3.1 ``webhooks`` with a schema per payload.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask
    from flask_smorest import Api

    from erpkit.plugins import Registry

PREFIX = "/api"
VERSIONED = "/api/v1"


class VersionedPaths:
    """WSGI middleware: ``/api/v1/x`` is served as ``/api/x``."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        if path == VERSIONED or path.startswith(VERSIONED + "/"):
            environ["PATH_INFO"] = PREFIX + path[len(VERSIONED):]
            environ["erpkit.api_version"] = "v1"
        return self.app(environ, start_response)


def serve_versioned(app: Flask, api: Api, registry: Registry) -> None:
    """Serve ``/api/v1`` and document it; call once every blueprint is registered."""
    app.wsgi_app = VersionedPaths(app.wsgi_app)  # type: ignore[method-assign]
    paths = api.spec._paths  # apispec keeps them in registration order
    for path in list(paths):
        if path.startswith(PREFIX + "/") and not path.startswith(VERSIONED + "/"):
            paths[VERSIONED + path[len(PREFIX):]] = paths.pop(path)
    document_webhooks(api, registry)


def document_webhooks(api: Api, registry: Registry) -> None:
    """The event catalogue as OpenAPI 3.1 ``webhooks``: one POST per event, its payload
    schema in the components, the Standard Webhooks headers as parameters."""
    from erpkit.events import catalogue

    name_of = api.ma_plugin.schema_name_resolver
    headers = [
        {"in": "header", "name": name, "required": True, "schema": {"type": "string"},
         "description": description}
        for name, description in (
            ("webhook-id", "The event's id: the same on every attempt and replay."),
            ("webhook-timestamp", "Seconds since the epoch when this attempt was signed."),
            ("webhook-signature", "v1,<base64 HMAC-SHA256> per signing secret, "
                                  "space-separated (Standard Webhooks)."),
        )]
    webhooks: dict[str, Any] = {}
    for event in catalogue(registry).values():
        component = name_of(event.schema)
        if component not in api.spec.components.schemas:
            api.spec.components.schema(component, schema=event.schema)
        webhooks[event.name] = {"post": {
            "summary": event.description or event.name,
            "parameters": headers,
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object",
                "required": ["type", "version", "timestamp", "data"],
                "properties": {
                    "type": {"type": "string", "const": event.name},
                    "version": {"type": "integer", "const": event.version},
                    "timestamp": {"type": "string", "format": "date-time"},
                    "data": {"$ref": f"#/components/schemas/{component}"},
                }}}}},
            "responses": {"2XX": {"description": "Received; any other answer is tried "
                                                 "again later."}},
        }}
    api.spec.options["webhooks"] = webhooks
