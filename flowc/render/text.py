"""How the renderers (report, notebook) write times: `12.5 µs`, with one spelling of the micro
sign and a space that never breaks a number from its unit."""

from __future__ import annotations

from flowc.units import format_duration


def duration(seconds: float | None) -> str:
    """`12.5 µs`, `3.20 ms`, `1.50 s` (a no-break space between); `-` for None."""
    return format_duration(seconds, sep="\u00a0").replace("\u00a0us", "\u00a0µs")
