"""Quantities for people: byte counts, durations and event rates as short text."""

from __future__ import annotations

_BINARY_UNITS = ("KiB", "MiB", "GiB", "TiB", "PiB")


def format_bytes(size: int) -> str:
    """A byte count in binary units: `512 B`, `16.0 KiB`, `12.3 MiB`."""
    if size < 1024:
        return f"{size} B"
    value = size / 1024
    unit = 0
    while value >= 1024 and unit < len(_BINARY_UNITS) - 1:
        value /= 1024
        unit += 1
    return f"{value:.1f} {_BINARY_UNITS[unit]}"


def format_duration(seconds: float | None, sep: str = " ") -> str:
    """`12.5 us`, `3.20 ms`, `1.50 s` (`sep=""` for table cells: `12.5us`); `-` for None."""
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f}{sep}us"
    if seconds < 1:
        return f"{seconds * 1e3:.2f}{sep}ms"
    return f"{seconds:.2f}{sep}s"


def format_rate(per_second: float) -> str:
    """Events per second: `0/s`, `0.25/s`, `950/s`, `12.3k/s`, `1.20M/s`."""
    if per_second < 999.5:
        if 0 < per_second < 1:
            return f"{per_second:.2f}/s"
        return f"{per_second:.0f}/s"
    if per_second < 999.5e3:
        return f"{per_second / 1e3:.1f}k/s"
    return f"{per_second / 1e6:.2f}M/s"
