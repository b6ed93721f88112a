"""The Protocols of ``erpkit.contracts`` describe the real orders models, and stay so.

The hook specs promise plugins an ``OrderLike``; the orders module hands them an
``erpkit_orders.Order``. A column renamed, retyped or made nullable on the model, or a
member added to a Protocol that no model has, fails here, by name.
"""

from __future__ import annotations

import os
import typing
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from types import NoneType, UnionType

import pytest
import sqlalchemy as sa

from erpkit import contracts
from erpkit_orders import Customer, Order, OrderLine, Product, Shipment, ShipmentLine, Status

ROOT = Path(__file__).resolve().parents[2]

PAIRS: dict[type, type] = {
    contracts.OrderLike: Order,
    contracts.OrderLineLike: OrderLine,
    contracts.CustomerLike: Customer,
    contracts.ProductLike: Product,
    contracts.ShipmentLike: Shipment,
    contracts.ShipmentLineLike: ShipmentLine,
}
MODEL_OF = dict(PAIRS)
SCALARS = (int, str, bool, Decimal, date, datetime)


def members(protocol: type) -> dict[str, typing.Any]:
    """Each member of ``protocol`` with the type its property returns."""
    return {
        name: typing.get_type_hints(value.fget)["return"]
        for name, value in vars(protocol).items()
        if isinstance(value, property)
    }


def split_optional(hint: typing.Any) -> tuple[typing.Any, bool]:
    if isinstance(hint, UnionType) or typing.get_origin(hint) is typing.Union:
        args = [arg for arg in typing.get_args(hint) if arg is not NoneType]
        return (args[0] if len(args) == 1 else hint), NoneType in typing.get_args(hint)
    return hint, False


CASES = [(protocol, name, hint) for protocol in PAIRS for name, hint in members(protocol).items()]


def test_every_protocol_has_members():
    for protocol in PAIRS:
        assert len(members(protocol)) >= 4, protocol.__name__


@pytest.mark.parametrize(("protocol", "name", "hint"), CASES,
                         ids=[f"{p.__name__}.{n}" for p, n, _ in CASES])
def test_the_model_has_each_member_with_the_promised_type(protocol, name, hint):
    model = PAIRS[protocol]
    assert hasattr(model, name), (
        f"{protocol.__name__}.{name} promises plugins a member that {model.__name__} lacks: "
        f"add it to the model, or take it out of erpkit.contracts and docs/objects.md"
    )
    mapper = sa.inspect(model)
    expected, optional = split_optional(hint)
    if name in mapper.columns:
        column = mapper.columns[name]
        sql_type = column.type
        if isinstance(sql_type, sa.types.TypeDecorator):  # UTCDateTime wraps DateTime
            sql_type = sql_type.impl_instance
        assert expected in SCALARS, f"{protocol.__name__}.{name}: a column, typed {hint}"
        assert issubclass(sql_type.python_type, expected), (
            f"{model.__name__}.{name} holds {sql_type.python_type.__name__}, "
            f"{protocol.__name__} promises {expected.__name__}")
        # A nullable column promised as never None would hand plugins a None.
        assert column.nullable == optional or (column.primary_key and not optional), (
            f"{model.__name__}.{name} nullable={column.nullable}, {protocol.__name__} "
            f"promises {hint}")
    elif name in mapper.relationships:
        relationship = mapper.relationships[name]
        if relationship.uselist:
            assert typing.get_origin(expected) is not None, f"{name} is a list on the model"
            (expected,) = typing.get_args(expected)
        assert relationship.mapper.class_ is MODEL_OF[expected], (
            f"{model.__name__}.{name} leads to {relationship.mapper.class_.__name__}, "
            f"{protocol.__name__} promises a {expected.__name__}")
    else:  # a plain Python property of the model
        returned = typing.get_type_hints(getattr(model, name).fget)["return"]
        assert returned == hint, f"{model.__name__}.{name} returns {returned}, not {hint}"


def test_order_status_is_one_of_the_exported_statuses():
    column = sa.inspect(Order).columns["status"]
    assert column.default.arg == Status.DRAFT
    assert {status.value for status in Status} >= {"draft", "confirmed", "shipped"}


def test_mypy_accepts_the_models_where_the_hook_specs_promise_protocols(tmp_path):
    from mypy import api

    snippet = tmp_path / "uses_contracts.py"
    snippet.write_text(
        "from erpkit.contracts import (CustomerLike, OrderLike, OrderLineLike, ProductLike,\n"
        "                              ShipmentLike, ShipmentLineLike)\n"
        "from erpkit_orders import Customer, Order, OrderLine, Product, Shipment, ShipmentLine\n"
        "\n"
        "def hand_over(o: Order, l: OrderLine, c: Customer, p: Product, s: Shipment,\n"
        "              sl: ShipmentLine) -> tuple[OrderLike, OrderLineLike, CustomerLike,\n"
        "                                         ProductLike, ShipmentLike, ShipmentLineLike]:\n"
        "    return o, l, c, p, s, sl\n"
    )
    out, err, status = api.run([
        "--config-file", str(ROOT / "pyproject.toml"), "--cache-dir", os.devnull,
        str(snippet),
    ])
    assert status == 0, out + err
