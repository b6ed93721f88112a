"""Durations kept as a log-scale histogram, so percentiles come from a rollup.

A duration of ``s`` seconds falls in bucket ``b = floor(log(s) / log(RATIO)) + 1`` (bucket 0
holds zero and less than a second). Bucket ``b`` covers ``[RATIO**(b-1), RATIO**b)`` and is
represented by its geometric middle, so a median or 90th percentile read from the histogram
is within 1% of the exact one: the precision HdrHistogram-style latency reports use.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

RATIO = 1.02
_LOG = math.log(RATIO)


def bucket_of(seconds: float) -> int:
    if seconds < 1:
        return 0
    return math.floor(math.log(seconds) / _LOG) + 1


def bucket_value(bucket: int) -> float:
    """The seconds a bucket stands for (its geometric middle)."""
    if bucket <= 0:
        return 0.0
    return RATIO ** (bucket - 0.5)


def percentile(counts: Mapping[int, int], fraction: float) -> float | None:
    """The ``fraction`` (0.5, 0.9) percentile of a histogram, nearest rank, in seconds."""
    total = sum(counts.values())
    if total <= 0:
        return None
    rank = max(1, math.ceil(fraction * total))
    seen = 0
    for bucket in sorted(counts):
        seen += counts[bucket]
        if seen >= rank:
            return bucket_value(bucket)
    return bucket_value(max(counts))
