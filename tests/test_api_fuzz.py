"""Every JSON endpoint, fed generated input from its own OpenAPI document: no input a
client sends may produce a server error (a 500), and the document must be valid.

Two passes over every operation: **positive** (input the document allows) and
**negative** (input it forbids: wrong types, out-of-range numbers, missing fields, odd
strings). The run's seed is printed; repeat a failing run with ``ERPKIT_FUZZ_SEED=<seed>``.
The database holds the demo catalogue first, so ids in paths find rows and the
generated requests reach the business code, not only the 404s.
"""

from __future__ import annotations

import os
import random

import pytest
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from erpkit.db import db

EXAMPLES = int(os.environ.get("ERPKIT_FUZZ_EXAMPLES", "15"))


@pytest.fixture
def fuzz_seed() -> int:
    chosen = int(os.environ.get("ERPKIT_FUZZ_SEED") or random.randrange(2**32))
    print(f"\nerpkit fuzz seed: {chosen} (repeat with ERPKIT_FUZZ_SEED={chosen})")
    return chosen


@pytest.fixture
def demo_data(app) -> None:
    from erpkit.demo import load_demo

    with app.app_context():
        load_demo("demo-password")
        db.session.commit()


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                         ids=["positive", "negative"])
def test_no_generated_request_gets_a_server_error(app, users, demo_data, fuzz_seed, mode):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    headers = users.headers("admin")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 40  # every module's endpoints are in the document
    failures: list[str] = []
    tried = 0

    for operation in operations:

        @seed(fuzz_seed)
        @settings(max_examples=EXAMPLES, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode))
        def no_server_error(case: schemathesis.Case) -> None:
            response = case.call(headers=headers)
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path} query={case.query} body={case.body!r}: "
                f"{response.status_code} {response.text[:300]}")

        try:
            no_server_error()
            tried += 1
        except Unsatisfiable:
            # Negative mode: an operation without parameters or body has nothing to break.
            assert mode is GenerationMode.NEGATIVE, operation.label
        except AssertionError as exc:
            failures.append(str(exc).splitlines()[0][:600])

    assert tried > 30, tried
    assert not failures, f"seed {fuzz_seed}:\n" + "\n".join(failures)
