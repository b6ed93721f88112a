"""What the logistics module's delivery promise adds per order, in SQL statements.

    .venv/bin/python bench/logistics_promise.py --orders 50 [--db postgresql] [--inventory]

The pipeline of ``pipeline.py`` (create, then submit: confirm, reserve when inventory is
on) runs on two fresh databases: the orders module alone (with inventory when asked),
then the same with logistics, set up as a shop would be: a carrier service with a
pick-up cut-off, a zone and its transit time, shipping rates, product weights, business
calendars with public holidays for the warehouse and the carrier, and (``--made-to-order``)
a work centre making every tenth product. Each order is priced (shipping), quoted at
entry and promised at confirmation. Prints one JSON document: statements per order of
both runs, their difference, and the statements logistics' own modules issued, by
function.
"""

from __future__ import annotations

import argparse
from datetime import time
from decimal import Decimal
from typing import Any

from _common import active_plugins, build_app, emit, fresh_database, migrate, progress
from profile_pipeline import count_statements
from workload import SEED, run_pipeline, seed_catalogue


def set_up_logistics(app: Any, catalogue: Any, made_to_order: bool) -> None:
    """A shop's logistics set-up, through the models an admin edits in the console."""
    from erpkit.db import db
    from erpkit_logistics.models import (
        BusinessCalendar,
        Carrier,
        CarrierService,
        MadeToOrder,
        ProductShipping,
        ShippingRate,
        TransitTime,
        WorkCentre,
        Zone,
    )

    with app.app_context():
        session = db.session
        carrier = Carrier(code="PX", name="Parcel Express")
        session.add(carrier)
        session.flush()
        service = CarrierService(carrier_id=carrier.id, code="standard", name="Standard",
                                 pickup_cutoff=time(16, 0))
        zone = Zone(code="DE", name="Germany", country="DE")
        session.add_all([service, zone])
        session.flush()
        session.add_all([
            TransitTime(service_id=service.id, zone_id=zone.id, days=2),
            ShippingRate(service_id=service.id, zone_id=None, basis="weight",
                         up_to=Decimal(20), price=Decimal("4.90")),
            ShippingRate(service_id=service.id, zone_id=None, basis="weight", up_to=None,
                         price=Decimal("9.90")),
            *(BusinessCalendar(scope=scope, subject=subject, country="DE", subdivision="BY",
                               working_days="01234", opens=time(8), closes=time(17))
              for scope, subject in (("warehouse", "MAIN"), ("carrier", "PX"),
                                     ("work_centre", "WC-1"))),
            *(ProductShipping(product_id=product_id, weight_kg=Decimal("1.5"))
              for product_id in catalogue.product_ids),
        ])
        if made_to_order:
            centre = WorkCentre(code="WC-1", name="Workshop", daily_capacity=Decimal(10**6))
            session.add(centre)
            session.flush()
            session.add_all(MadeToOrder(product_id=product_id, work_centre_id=centre.id,
                                        lead_days=3)
                            for product_id in catalogue.product_ids[::10])
        app.extensions["erpkit"].parameters.set(session, "logistics.default_service",
                                                "PX/standard", actor="bench")
        session.commit()


def measure(backend: str, plugins: list[str], orders: int, made_to_order: bool
            ) -> dict[str, Any]:
    with fresh_database(backend) as database:
        migrate(database.url, plugins)
        app = build_app(database.url, plugins)
        catalogue = seed_catalogue(app, hold_large_orders=False)
        if "logistics" in plugins:
            set_up_logistics(app, catalogue, made_to_order)
        run_pipeline(app, catalogue, 20, seed=SEED - 1)  # warm-up
        progress(f"{','.join(plugins)}: counting statements over {orders} orders")
        counted = count_statements(app, catalogue, orders)
        counted["plugins"] = sorted(active_plugins(app))
        from erpkit.db import db

        with app.app_context():
            db.engine.dispose()
    return counted


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=50)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--inventory", action="store_true", help="with the inventory module")
    parser.add_argument("--made-to-order", action="store_true",
                        help="every tenth product made to order on a work centre")
    args = parser.parse_args(argv)
    base = ["orders", "inventory"] if args.inventory else ["orders"]
    without = measure(args.db, base, args.orders, args.made_to_order)
    with_logistics = measure(args.db, [*base, "logistics"], args.orders, args.made_to_order)
    logistics_callers = {caller: n for caller, n in with_logistics["by_caller"].items()
                         if caller.startswith("erpkit_logistics")}
    result = {
        "benchmark": "logistics_promise", "db": args.db, "orders": args.orders,
        "made_to_order": args.made_to_order,
        "statements_per_order": {"without_logistics": without["statements_per_order"],
                                 "with_logistics": with_logistics["statements_per_order"]},
        "added_by_logistics": round(with_logistics["statements_per_order"]
                                    - without["statements_per_order"], 1),
        "issued_by_logistics": round(sum(logistics_callers.values()), 2),
        "logistics_by_caller": logistics_callers,
        "with_logistics_by_statement": with_logistics["by_statement"],
    }
    emit(result)
    return result


if __name__ == "__main__":
    main()
