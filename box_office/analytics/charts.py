"""Server-side SVG charts: no JavaScript, no CDN, readable at 390 px (they scale to the width).

Pure string building; every label is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape


def line_chart(
    points: Sequence[tuple[float, float]],
    *,
    title: str,
    y_max: float | None = None,
    x_labels: tuple[str, str] = ("", ""),
    y_format: str = "{:.0f}",
    width: int = 420,
    height: int = 200,
) -> str:
    """A line chart of (x, y) points, scaled to the box; the first and last x labels at the ends."""
    pad_l, pad_r, pad_t, pad_b = 44, 12, 28, 28
    plot_w, plot_h = width - pad_l - pad_r, height - pad_t - pad_b
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" class="chart" preserveAspectRatio="xMidYMid meet">',
        f'<text x="{pad_l}" y="18" class="chart-title">{escape(title)}</text>',
        f'<line x1="{pad_l}" y1="{pad_t + plot_h}" x2="{pad_l + plot_w}" y2="{pad_t + plot_h}" class="axis"/>',  # noqa: E501
        f'<line x1="{pad_l}" y1="{pad_t}" x2="{pad_l}" y2="{pad_t + plot_h}" class="axis"/>',
    ]
    top = y_max if y_max else max((y for _, y in points), default=0) or 1
    parts.append(
        f'<text x="{pad_l - 4}" y="{pad_t + 4}" class="tick" text-anchor="end">{escape(y_format.format(top))}</text>'  # noqa: E501
    )
    parts.append(f'<text x="{pad_l - 4}" y="{pad_t + plot_h}" class="tick" text-anchor="end">0</text>')
    if points:
        x0, x1 = points[0][0], points[-1][0]
        span = (x1 - x0) or 1
        coords = [
            (pad_l + (x - x0) / span * plot_w, pad_t + plot_h - min(y, top) / top * plot_h) for x, y in points
        ]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        parts.append(f'<polyline points="{path}" class="line" fill="none"/>')
        last_x, last_y = coords[-1]
        parts.append(f'<circle cx="{last_x:.1f}" cy="{last_y:.1f}" r="3" class="dot"/>')
    parts.append(f'<text x="{pad_l}" y="{height - 8}" class="tick">{escape(x_labels[0])}</text>')
    parts.append(
        f'<text x="{pad_l + plot_w}" y="{height - 8}" class="tick" text-anchor="end">{escape(x_labels[1])}</text>'  # noqa: E501
    )
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(bars: Sequence[tuple[str, float, str]], *, title: str, width: int = 420) -> str:
    """Horizontal bars: (label, value, value text), one per row, scaled to the largest."""
    row_h, pad_t, label_w = 30, 28, 110
    height = pad_t + row_h * len(bars) + 8
    top = max((v for _, v, _ in bars), default=0) or 1
    plot_w = width - label_w - 80
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" class="chart" preserveAspectRatio="xMidYMid meet">',
        f'<text x="4" y="18" class="chart-title">{escape(title)}</text>',
    ]
    for i, (label, value, text) in enumerate(bars):
        y = pad_t + i * row_h
        w = max(1.0, value / top * plot_w) if value else 0
        parts.append(f'<text x="4" y="{y + 19}" class="label">{escape(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row_h - 10}" class="bar"/>')
        parts.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 19}" class="value">{escape(text)}</text>')
    parts.append("</svg>")
    return "".join(parts)
