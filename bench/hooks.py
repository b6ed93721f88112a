"""What the hook machinery costs: one call against a direct call, and its share of the
pipeline.

    .venv/bin/python bench/hooks.py --orders 1000 [--db sqlite|postgresql]

1. Micro: ``erpkit_order_status_changed`` through pluggy (``pm.hook...``) and through
   ``Registry.call`` (what the lifecycle uses) with every installed module registered,
   against calling the same implementations directly; and the same with one no-op
   implementation per module, the worst case for a hook every module implements.
2. In the pipeline: N orders as in ``pipeline.py``, with pluggy's inner call and every
   hook implementation wrapped in timers. Dispatch time is the time inside pluggy that
   is not spent in an implementation; it is reported as a share of the pipeline's
   wall-clock time, beside the time spent in hooks all together (implementations'
   work included: reserving stock, evaluating rules).

Target: dispatch under 2% of the pipeline. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import time
import timeit
from collections import Counter
from types import SimpleNamespace
from typing import Any

from _common import active_plugins, build_app, emit, fresh_database, machine, migrate, progress
from workload import SEED, run_pipeline, seed_catalogue

TARGET_SHARE = 0.02
HOOK = "erpkit_order_status_changed"


def _best_ns(statement: Any, number: int) -> float:
    """Nanoseconds per call: the best of five runs of ``number`` calls."""
    return min(timeit.repeat(statement, number=number, repeat=5)) / number * 1e9


def micro(registry: Any, number: int = 50_000) -> dict[str, Any]:
    """One lifecycle hook call, three ways, in nanoseconds."""
    from erpkit.transitions import Transition

    order = SimpleNamespace(id=1, number="SO-1", status="approved", submitted_by="x")
    transition = Transition(
        session=None,  # type: ignore[arg-type]
        registry=registry,
        name="bench",
        from_status="submitted",
        to_status="approved",
    )
    kwargs = {
        "order": order,
        "old_status": "submitted",
        "new_status": "approved",
        "transition": transition,
    }
    caller = getattr(registry.pm.hook, HOOK)
    impls = list(reversed(caller.get_hookimpls()))  # pluggy calls the last registered first
    direct = [(impl.function, {k: kwargs[k] for k in impl.argnames}) for impl in impls]

    def call_directly() -> None:
        for function, arguments in direct:
            function(**arguments)

    def via_pluggy() -> None:
        caller(**kwargs)

    def via_registry() -> None:
        registry.call(HOOK, **kwargs)

    def nothing(**_: Any) -> None:
        return None

    result: dict[str, Any] = {
        "hook": HOOK,
        "implementations": [impl.plugin_name for impl in impls],
        "direct_call_of_the_implementations_ns": round(_best_ns(call_directly, number)),
        "pm_hook_call_ns": round(_best_ns(via_pluggy, number)),
        "registry_call_ns": round(_best_ns(via_registry, number)),
        "empty_function_call_ns": round(_best_ns(lambda: nothing(**kwargs), number)),
    }
    result["overhead_per_call_ns"] = (
        result["registry_call_ns"] - result["direct_call_of_the_implementations_ns"]
    )
    result["every_module_implements_it"] = _every_module(kwargs, len(registry.plugins) + 1, number)
    return result


def _every_module(kwargs: dict[str, Any], modules: int, number: int) -> dict[str, Any]:
    """A plugin manager with erpkit's specs and one no-op implementation per module."""
    import pluggy

    from erpkit import hookimpl, hookspecs

    pm = pluggy.PluginManager("erpkit")
    pm.add_hookspecs(hookspecs)
    functions = []
    for index in range(modules):

        def implementation(order: Any, old_status: str, new_status: str, transition: Any) -> None:
            return None

        functions.append(implementation)
        pm.register(
            SimpleNamespace(erpkit_order_status_changed=hookimpl(implementation)),
            name=f"module{index}",
        )
    caller = getattr(pm.hook, HOOK)

    def call_directly() -> None:
        for function in functions:
            function(**kwargs)

    hook_ns = _best_ns(lambda: caller(**kwargs), number)
    direct_ns = _best_ns(call_directly, number)
    return {
        "modules": modules,
        "pm_hook_call_ns": round(hook_ns),
        "direct_calls_ns": round(direct_ns),
        "overhead_per_call_ns": round(hook_ns - direct_ns),
    }


class HookTimer:
    """Times every hook call and every implementation call of a plugin manager.

    Dispatch = a call's duration minus the durations of the implementations it ran, so
    a hook fired from inside another hook's implementation is counted once, as itself.
    """

    def __init__(self, pm: Any) -> None:
        self.pm = pm
        self.calls: Counter[str] = Counter()
        self.dispatch = 0.0
        self.inclusive = 0.0  # outermost hook calls, implementations included
        self.stack: list[float] = []  # per open hook call: time spent in its implementations
        self._inner = pm._inner_hookexec
        self._wrapped: list[tuple[Any, Any]] = []

    def install(self) -> None:
        clock = time.perf_counter
        inner = self._inner

        def timed_hookexec(name: str, methods: Any, kwargs: Any, firstresult: bool) -> Any:
            self.calls[name] += 1
            self.stack.append(0.0)
            started = clock()
            try:
                return inner(name, methods, kwargs, firstresult)
            finally:
                duration = clock() - started
                in_implementations = self.stack.pop()
                self.dispatch += duration - in_implementations
                if not self.stack:
                    self.inclusive += duration

        self.pm._inner_hookexec = timed_hookexec
        for caller in vars(self.pm.hook).values():
            for impl in getattr(caller, "get_hookimpls", list)():
                original = impl.function
                impl.function = self._timed(original)
                self._wrapped.append((impl, original))

    def _timed(self, function: Any) -> Any:
        clock = time.perf_counter
        stack = self.stack

        def timed(*args: Any) -> Any:
            started = clock()
            try:
                return function(*args)
            finally:
                stack[-1] += clock() - started

        return timed

    def remove(self) -> None:
        self.pm._inner_hookexec = self._inner
        for impl, original in self._wrapped:
            impl.function = original


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    result: dict[str, Any] = {"benchmark": "hooks", "db": args.db, "orders": args.orders}
    with fresh_database(args.db) as database:
        migrate(database.url)
        app = build_app(database.url)
        registry = app.extensions["erpkit"]
        result["plugins"] = active_plugins(app)
        progress("timing one hook call")
        result["micro"] = micro(registry)

        catalogue = seed_catalogue(app)
        run_pipeline(app, catalogue, min(50, args.orders), seed=SEED - 1)  # warm-up
        progress(f"pipeline of {args.orders} orders without timers (reference)")
        _, plain_wall = run_pipeline(app, catalogue, args.orders, seed=SEED)
        progress(f"pipeline of {args.orders} orders with every hook timed")
        timer = HookTimer(registry.pm)
        timer.install()
        try:
            _, timed_wall = run_pipeline(app, catalogue, args.orders, seed=SEED + 1)
        finally:
            timer.remove()
        calls = sum(timer.calls.values())
        overhead_ns = result["micro"]["overhead_per_call_ns"]
        result["pipeline"] = {
            "wall_seconds_without_timers": round(plain_wall, 3),
            "wall_seconds_with_timers": round(timed_wall, 3),
            "hook_calls": calls,
            "hook_calls_per_order": round(calls / args.orders, 1),
            "calls_by_hook": dict(timer.calls.most_common()),
            "dispatch_seconds": round(timer.dispatch, 4),
            "dispatch_share": round(timer.dispatch / timed_wall, 4),
            "dispatch_share_estimated_from_micro": round(
                calls * overhead_ns * 1e-9 / plain_wall, 4
            ),
            "in_hooks_seconds_implementations_included": round(timer.inclusive, 3),
            "in_hooks_share_implementations_included": round(timer.inclusive / timed_wall, 4),
        }
        result["target_dispatch_share"] = TARGET_SHARE
        result["target_met"] = result["pipeline"]["dispatch_share"] < TARGET_SHARE
        from erpkit.db import db

        with app.app_context():
            db.engine.dispose()
    result["machine"] = machine()
    emit(result)
    return result


if __name__ == "__main__":
    main()
