"""Percentiles and small summaries."""
import math


def percentile(values, q):
    """The q-th percentile (0-100) by the nearest-rank method; None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, int(math.ceil(q / 100.0 * len(ordered))))
    return ordered[min(rank, len(ordered)) - 1]


def summary(values):
    """count, p50, p95, p99, max and mean of a list of seconds."""
    values = [v for v in values if v is not None]
    if not values:
        return {"count": 0, "p50": None, "p95": None, "p99": None, "max": None, "mean": None}
    return {"count": len(values), "p50": percentile(values, 50), "p95": percentile(values, 95),
            "p99": percentile(values, 99), "max": max(values), "mean": sum(values) / len(values)}


def rounded(data, digits=4):
    if isinstance(data, float):
        return round(data, digits)
    if isinstance(data, dict):
        return {key: rounded(value, digits) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [rounded(value, digits) for value in data]
    return data
