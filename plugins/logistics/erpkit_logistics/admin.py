"""Console pages: the set-up admins edit (carriers, services, zones, transit times,
rates, status mappings, vehicles, bins, product weights), and the warehouse's and
drivers' work pages (:mod:`erpkit_logistics.console`).

A status mapping saved here is applied at once to the events already stored with its
code (:func:`erpkit_logistics.tracking.remap`).
"""

from __future__ import annotations

from typing import Any

from wtforms import validators

from erpkit.admin.contrib import AdminView, ModelView
from erpkit.db import db
from erpkit_logistics.models import (
    CALENDAR_SCOPES,
    RATE_BASES,
    STATUSES,
    BinLocation,
    BomLine,
    BusinessCalendar,
    Carrier,
    CarrierService,
    ClosedDay,
    MadeToOrder,
    ProductShipping,
    ShippingRate,
    StatusMapping,
    TransitTime,
    Vehicle,
    WorkCentre,
    Zone,
)

CATEGORY = "Logistics"
SETUP = "Logistics set-up"
CONFIGURE = "logistics.configure"


class CarrierView(ModelView):
    can_delete = False  # shipments and events keep pointing at it: deactivate instead
    column_list = ("code", "name", "own_fleet", "active", "created_at")
    form_columns = ("code", "name", "own_fleet", "webhook_secret", "active")
    column_searchable_list = ("code", "name")
    column_default_sort = "code"
    form_args = {"webhook_secret": {"description": "Standard Webhooks secret (whsec_...) "
                                    "the carrier signs its tracking webhooks with."}}


class ServiceView(ModelView):
    column_list = ("carrier", "code", "name", "pickup_cutoff", "active")
    form_columns = ("carrier", "code", "name", "pickup_cutoff", "active")
    column_labels = {"pickup_cutoff": "Pick-up cut-off (UTC)"}
    column_filters = ("carrier.code",)


class ZoneView(ModelView):
    column_list = ("code", "name", "country", "region", "postal_prefix")
    form_columns = ("code", "name", "country", "region", "postal_prefix")
    column_searchable_list = ("code", "name", "country")
    form_args = {"country": {"validators": [validators.Length(min=2, max=2)],
                             "description": "ISO 3166 two-letter code"}}


class TransitView(ModelView):
    column_list = ("service", "zone", "days")
    form_columns = ("service", "zone", "days")


class RateView(ModelView):
    column_list = ("service", "zone", "basis", "up_to", "price", "free_above")
    form_columns = ("service", "zone", "basis", "up_to", "price", "free_above")
    form_choices = {"basis": [(b, b) for b in RATE_BASES]}
    column_labels = {"up_to": "Up to (kg or value)", "zone": "Zone (empty: all)"}


class MappingView(ModelView):
    column_list = ("carrier", "carrier_code", "status")
    form_columns = ("carrier", "carrier_code", "status")
    form_choices = {"status": [(s, s) for s in STATUSES]}
    column_filters = ("carrier.code", "status")

    def after_model_change(self, form: Any, model: StatusMapping, is_created: bool) -> None:
        from erpkit_logistics.tracking import remap

        remap(db.session, model)


class VehicleView(ModelView):
    column_list = ("code", "name", "max_weight_kg", "max_stops", "active")
    form_columns = ("code", "name", "max_weight_kg", "max_stops", "depot_latitude",
                    "depot_longitude", "active")


class BinView(ModelView):
    column_list = ("warehouse", "bin", "product")
    form_columns = ("warehouse", "bin", "product")
    column_default_sort = "bin"
    column_filters = ("warehouse",)


class WeightView(ModelView):
    column_list = ("product", "weight_kg")
    form_columns = ("product", "weight_kg")
    column_labels = {"weight_kg": "Shipping weight (kg)"}


class CalendarView(ModelView):
    column_list = ("scope", "subject", "country", "subdivision", "working_days", "opens",
                   "closes")
    form_columns = ("scope", "subject", "country", "subdivision", "working_days", "opens",
                    "closes")
    form_choices = {"scope": [(s, s) for s in CALENDAR_SCOPES]}
    column_labels = {"subject": "Warehouse, carrier or work centre code",
                     "subdivision": "Subdivision (holidays)",
                     "working_days": "Working days (0 = Monday ... 6 = Sunday)",
                     "opens": "Opens (UTC)", "closes": "Closes (UTC)"}
    form_args = {"working_days": {"validators": [validators.Regexp(
        r"^[0-6]{1,7}$", message="digits 0 (Monday) to 6 (Sunday), e.g. 01234")]}}


class ClosedDayView(ModelView):
    column_list = ("calendar", "day", "reason")
    form_columns = ("calendar", "day", "reason")
    column_default_sort = "day"


class WorkCentreView(ModelView):
    column_list = ("code", "name", "daily_capacity")
    form_columns = ("code", "name", "daily_capacity")


class MadeToOrderView(ModelView):
    column_list = ("product", "work_centre", "lead_days")
    form_columns = ("product", "work_centre", "lead_days")
    column_labels = {"lead_days": "Production lead time (working days)"}


class BomView(ModelView):
    column_list = ("product", "component", "quantity")
    form_columns = ("product", "component", "quantity")


def admin_views() -> list[AdminView]:
    """The logistics pages of the console (endpoints ``logistics_*``)."""
    from erpkit_logistics.console import ShipmentsView, TripsView

    def setup(view: type, name: str, endpoint: str, model: type, url: str) -> AdminView:
        return AdminView(view, name, endpoint, CONFIGURE, model=model, category=SETUP,
                         kwargs={"url": f"logistics/{url}"})

    return [
        AdminView(ShipmentsView, "Shipments", "shipments", "logistics.view",
                  category=CATEGORY, kwargs={"url": "logistics/shipments"}),
        AdminView(TripsView, "Trips", "trips", "logistics.view", category=CATEGORY,
                  kwargs={"url": "logistics/trips"}),
        setup(CarrierView, "Carriers", "carriers", Carrier, "carriers"),
        setup(ServiceView, "Services", "services", CarrierService, "services"),
        setup(ZoneView, "Zones", "zones", Zone, "zones"),
        setup(TransitView, "Transit times", "transit", TransitTime, "transit"),
        setup(RateView, "Shipping rates", "rates", ShippingRate, "rates"),
        setup(MappingView, "Status mappings", "mappings", StatusMapping, "mappings"),
        setup(VehicleView, "Vehicles", "vehicles", Vehicle, "vehicles"),
        setup(BinView, "Bins", "bins", BinLocation, "bins"),
        setup(WeightView, "Product weights", "weights", ProductShipping, "weights"),
        setup(CalendarView, "Business calendars", "calendars", BusinessCalendar, "calendars"),
        setup(ClosedDayView, "Closed days", "closed_days", ClosedDay, "closed-days"),
        setup(WorkCentreView, "Work centres", "work_centres", WorkCentre, "work-centres"),
        setup(MadeToOrderView, "Made to order", "made_to_order", MadeToOrder,
              "made-to-order"),
        setup(BomView, "Bills of materials", "bom", BomLine, "bom"),
    ]
