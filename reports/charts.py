"""Charts drawn on the server as SVG: no script, Japanese text in the page's font, printable.

Open homework is a line (with its area), homework closed in the week are bars, so the two
stay apart in black-and-white print as well as in colour.
"""

from __future__ import annotations

from datetime import date, timedelta

from markupsafe import Markup, escape

from reports.trend_queries import Week

WIDTH, HEIGHT = 960, 320
LEFT, RIGHT, TOP, BOTTOM = 52, 16, 36, 44
MONTHS_EN = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def nice_ceiling(value: int) -> tuple[int, int]:
    """A round top for the axis and the step between its grid lines (about 4–5 lines)."""
    if value <= 4:
        return 4, 1
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if value / step <= 5:
            top = -(-value // step) * step
            return top, step
    step = 10 ** (len(str(value)) - 1)
    return -(-value // step) * step, step


def month_label(day: date, locale: str) -> str:
    return MONTHS_EN[day.month - 1] if locale == "en" else f"{day.month}月"


def weekly_chart(
    weeks: list[Week], *, title: str, open_label: str, closed_label: str, locale: str = "ja"
) -> Markup:
    """An SVG of open homework (line) and homework closed per week (bars)."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    n = max(len(weeks), 1)
    slot = plot_w / n
    top, step = nice_ceiling(max([w.open for w in weeks] + [w.closed for w in weeks] + [1]))

    def x(i: float) -> float:
        return LEFT + slot * (i + 0.5)

    def y(v: float) -> float:
        return TOP + plot_h - plot_h * v / top

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'class="chart" role="img" aria-labelledby="chart-title" '
        f'font-family="&quot;Noto Sans CJK JP&quot;, &quot;Noto Sans JP&quot;, sans-serif" '
        f'font-size="13">',
        f'<title id="chart-title">{escape(title)}</title>',
        f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#fff"/>',
    ]
    for v in range(0, top + 1, step):  # grid and y axis
        out.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
            f'stroke="{"#555" if v == 0 else "#ddd"}" stroke-width="1"/>'
            f'<text x="{LEFT - 6}" y="{y(v) + 4:.1f}" text-anchor="end" fill="#333">{v}</text>'
        )
    last_month = None
    for i, w in enumerate(weeks):  # month labels under the first week of each month
        month = (w.start + timedelta(days=3)).month  # a week belongs to its Thursday's month
        if month != last_month:
            last_month = month
            out.append(
                f'<line x1="{x(i) - slot / 2:.1f}" x2="{x(i) - slot / 2:.1f}" y1="{TOP + plot_h}" '
                f'y2="{TOP + plot_h + 6}" stroke="#555"/>'
                f'<text x="{x(i) - slot / 2 + 2:.1f}" y="{TOP + plot_h + 20}" fill="#333">'
                f"{escape(month_label(w.start + timedelta(days=3), locale))}</text>"
            )
    bar_w = max(slot * 0.6, 1)
    for i, w in enumerate(weeks):
        if w.closed:
            out.append(
                f'<rect class="closed" x="{x(i) - bar_w / 2:.1f}" y="{y(w.closed):.1f}" '
                f'width="{bar_w:.1f}" height="{y(0) - y(w.closed):.1f}" fill="#7fbf95" '
                f'stroke="#1b7a3d" stroke-width="0.5"><title>{w.start.isoformat()}: '
                f"{escape(closed_label)} {w.closed}</title></rect>"
            )
    if weeks:
        points = " ".join(f"{x(i):.1f},{y(w.open):.1f}" for i, w in enumerate(weeks))
        area = f"{x(0):.1f},{y(0):.1f} {points} {x(len(weeks) - 1):.1f},{y(0):.1f}"
        out.append(f'<polygon points="{area}" fill="#1f5fbf" fill-opacity="0.08"/>')
        out.append(
            f'<polyline class="open" points="{points}" fill="none" stroke="#1f5fbf" '
            f'stroke-width="2.5" stroke-linejoin="round"/>'
        )
        last = weeks[-1]
        out.append(
            f'<circle cx="{x(len(weeks) - 1):.1f}" cy="{y(last.open):.1f}" r="4" fill="#1f5fbf"/>'
            f'<text x="{x(len(weeks) - 1) - 6:.1f}" y="{y(last.open) - 9:.1f}" '
            f'text-anchor="end" font-weight="bold" fill="#1f5fbf">{last.open}</text>'
        )
    legend_y = 18
    out.append(
        f'<line x1="{LEFT}" x2="{LEFT + 28}" y1="{legend_y - 4}" y2="{legend_y - 4}" '
        f'stroke="#1f5fbf" stroke-width="2.5"/>'
        f'<text x="{LEFT + 34}" y="{legend_y}" fill="#222">{escape(open_label)}</text>'
        f'<rect x="{LEFT + 220}" y="{legend_y - 11}" width="14" height="12" fill="#7fbf95" '
        f'stroke="#1b7a3d" stroke-width="0.5"/>'
        f'<text x="{LEFT + 240}" y="{legend_y}" fill="#222">{escape(closed_label)}</text>'
    )
    out.append("</svg>")
    return Markup("".join(out))
