"""A serving process freezes its start-up objects out of the garbage collector's walks
(``erpkit.serving.settle_after_startup``), so a request that builds many objects does not
walk the whole app at every full collection."""

from __future__ import annotations

import json
import os
import subprocess
import sys

GC_STATE = "import gc, json; print(json.dumps([gc.get_freeze_count(), len(gc.get_objects())]))"


def _run(code: str, tmp_path) -> list[int]:
    env = {**os.environ, "ERPKIT_DATABASE_URL": f"sqlite:///{tmp_path / 'erpkit.db'}",
           "ERPKIT_SECRET_KEY": "serving-test"}
    result = subprocess.run([sys.executable, "-c", code + "\n" + GC_STATE], env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_wsgi_entry_freezes_the_app_it_built(tmp_path):
    frozen, walked = _run("import erpkit.wsgi", tmp_path)
    # the app, its plugins' models, schemas and views: far more than what is left to walk
    assert frozen > 50_000 and walked < frozen / 10


def test_an_app_built_without_the_entry_is_walked_whole(tmp_path):
    frozen, walked = _run("from erpkit.app import create_app; app = create_app()", tmp_path)
    assert frozen == 0 and walked > 50_000
