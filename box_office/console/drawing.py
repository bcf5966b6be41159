"""Seat maps drawn as SVG on the server (the venue preview, the stock page). No I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape

STATUS_COLOURS = {
    "available": "#2e7d32",
    "held": "#f9a825",
    "sold": "#c62828",
    "reserved": "#6a1b9a",
    "blocked": "#424242",
    "removed": "#cfd8dc",
}


def seat_svg(
    seats: Iterable[tuple[str, float, float, str]],
    colours: Mapping[str, str] = STATUS_COLOURS,
    width: int = 600,
) -> str:
    """(label, x, y, kind) per seat, scaled to fit ``width``; the label is each dot's tooltip."""
    seats = list(seats)
    if not seats:
        return f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} 40" class="seatmap"></svg>'
    xs = [s[1] for s in seats]
    ys = [s[2] for s in seats]
    min_x, min_y = min(xs), min(ys)
    span_x, span_y = (max(xs) - min_x) or 1, (max(ys) - min_y) or 1
    scale = (width - 20) / span_x
    height = int(span_y * scale) + 20 if span_y * scale < 2000 else 2000
    scale_y = (height - 20) / span_y
    radius = max(1.5, min(6.0, scale * 0.4))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" class="seatmap" role="img">'
    ]
    for label, x, y, kind in seats:
        cx = 10 + (x - min_x) * scale
        cy = 10 + (y - min_y) * scale_y
        colour = colours.get(kind, "#90a4ae")
        parts.append(
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{radius:.1f}" fill="{colour}" data-kind="{escape(kind)}">'  # noqa: E501
            f"<title>{escape(label)} {escape(kind)}</title></circle>"
        )
    parts.append("</svg>")
    return "".join(parts)
