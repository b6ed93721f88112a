"""Every JSON endpoint, fed generated input from its own OpenAPI document: no input a
client sends may produce a server error (a 500), and the document must be valid."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings


@pytest.mark.slow
def test_no_generated_request_gets_a_server_error(app, users):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    headers = users.headers("admin")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40  # every module's endpoints are in the document

    for operation in operations:

        @settings(max_examples=15, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def no_server_error(case: schemathesis.Case) -> None:
            response = case.call(headers=headers)
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path} query={case.query} body={case.body!r}: "
                f"{response.status_code} {response.text[:300]}")

        no_server_error()
