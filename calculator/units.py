"""Human-readable numbers: decimal SI prefixes (K = 1e3, as in the survey's Table 1) and times."""

from __future__ import annotations

__all__ = ["number", "seconds", "si"]

_PREFIXES = ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K"))


def si(value: float, digits: int = 3, unit: str = "") -> str:
    """`value` with a decimal prefix and `digits` significant digits: si(68719476736) -> '68.7G'."""
    if value != value:
        return "nan"
    magnitude = abs(value)
    for scale, prefix in _PREFIXES:
        if magnitude >= scale * (1 - 0.5 * 10 ** -digits):
            return f"{number(value / scale, digits)}{prefix}{unit}"
    return f"{number(value, digits)}{unit}"


def number(value: float, digits: int = 3) -> str:
    """`digits` significant digits but never rounding the integer part: 1214.7 -> '1215',
    113.8 -> '114', 0.9918 -> '0.99' (two decimals below 10), 1.0 -> '1'."""
    if value == float("inf"):
        return "inf"
    whole = len(str(int(abs(value)))) if abs(value) >= 1 else 1
    decimals = max(0, digits - whole)
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def seconds(value: float, digits: int = 3) -> str:
    """A duration: seconds(0.000443) -> '443us', seconds(0.23) -> '230ms'."""
    magnitude = abs(value)
    if magnitude >= 1:
        return f"{number(value, digits)}s"
    if magnitude >= 1e-3:
        return f"{number(value * 1e3, digits)}ms"
    if magnitude >= 1e-6:
        return f"{number(value * 1e6, digits)}us"
    if magnitude == 0:
        return "0s"
    return f"{number(value * 1e9, digits)}ns"
