"""What a long-running process (gunicorn's worker, ``erpkit serve``, ``erpkit demo``,
``erpkit worker``) does once its app is built, before its first request or job."""

from __future__ import annotations

import gc


def settle_after_startup() -> int:
    """Collect what start-up left behind, then freeze everything left (``gc.freeze``):
    the app, its plugins' models, schemas, admin views and compiled statements, about
    170,000 objects that live as long as the process. Returns how many are frozen.

    Python's cyclic garbage collector walks every tracked object at each full collection,
    and a request that builds many objects (a report of 2,000 products over two years)
    sets off several: they walked the start-up objects each time and took 100 to 170 ms of
    a 100 ms report (bench/README.md, "Issue 17, the garbage collector"). Frozen objects
    are still freed by reference counting; only cycles among them would stay, and
    start-up objects live until the process ends anyway. With gunicorn's ``--preload``
    the frozen pages are also shared, not copied, by the forked workers."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
