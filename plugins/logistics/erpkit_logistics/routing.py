"""The order of a trip's stops, from OR-Tools' routing solver.

OR-Tools is a large wheel, installed with the extra ``erpkit-logistics[routing]`` and
imported only inside :func:`shortest_order`, so the rest of erpkit never pays for it.
Distances are great-circle distances in metres between the coordinates; the route starts
and ends at the vehicle's depot, or, without one, is an open path from any stop.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from decimal import Decimal

from erpkit import TransitionRefused

Point = tuple[Decimal, Decimal]  # latitude, longitude in degrees

EARTH_RADIUS_M = 6_371_000
#: How long the solver may improve its first solution, per trip.
SEARCH_SECONDS = 1


class RoutingUnavailable(TransitionRefused):
    """OR-Tools, the route optimiser, is not installed: a 503 naming the reason (the
    server lacks a part; the request was fine), the console's flash, the CLI's error."""

    status_code = 503

    def __init__(self) -> None:
        super().__init__("trip planning orders the stops with OR-Tools, which is not "
                         "installed on this server. Fix: pip install "
                         "\"erpkit-logistics[routing]\" and restart.",
                         code="routing_unavailable")


def metres(a: Point, b: Point) -> int:
    """Great-circle distance (haversine), rounded to whole metres."""
    lat1, lon1, lat2, lon2 = (math.radians(float(v)) for v in (*a, *b))
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return round(2 * EARTH_RADIUS_M * math.asin(math.sqrt(h)))


def route_metres(points: Sequence[Point], depot: Point | None = None) -> int:
    """Length of visiting ``points`` in the given order (from and back to ``depot``)."""
    path = [depot, *points, depot] if depot is not None else list(points)
    return sum(metres(a, b) for a, b in itertools.pairwise(path))


def shortest_order(points: Sequence[Point], depot: Point | None = None) -> list[int]:
    """The indexes of ``points`` in the order that makes the route shortest, as found by
    OR-Tools (cheapest-arc first solution, then guided local search for a second)."""
    if len(points) < 3:
        return list(range(len(points)))
    try:
        from ortools.constraint_solver import pywrapcp, routing_enums_pb2
    except ImportError as exc:
        raise RoutingUnavailable() from exc

    # Node 0 is the depot; without one, a depot at distance 0 from everything makes the
    # closed tour an open path.
    nodes: list[Point | None] = [depot, *points]

    def distance(i: int, j: int) -> int:
        a, b = nodes[i], nodes[j]
        return 0 if a is None or b is None else metres(a, b)

    matrix = [[distance(i, j) for j in range(len(nodes))] for i in range(len(nodes))]
    manager = pywrapcp.RoutingIndexManager(len(nodes), 1, 0)
    model = pywrapcp.RoutingModel(manager)

    def transit(from_index: int, to_index: int) -> int:
        return matrix[manager.IndexToNode(from_index)][manager.IndexToNode(to_index)]

    model.SetArcCostEvaluatorOfAllVehicles(model.RegisterTransitCallback(transit))
    parameters = pywrapcp.DefaultRoutingSearchParameters()
    parameters.first_solution_strategy = (
        routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC)
    parameters.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH)
    parameters.time_limit.FromSeconds(SEARCH_SECONDS)
    solution = model.SolveWithParameters(parameters)
    if solution is None:  # pragma: no cover - a single vehicle always has a tour
        return list(range(len(points)))
    order: list[int] = []
    index = model.Start(0)
    while not model.IsEnd(index):
        node = manager.IndexToNode(index)
        if node != 0:
            order.append(node - 1)
        index = solution.Value(model.NextVar(index))
    return order
