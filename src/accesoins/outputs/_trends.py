"""A unit's indicators across every snapshot of its territory, safe to publish, and a small SVG chart.

Reads :func:`accesoins.store.unit_trend` (each row from its own snapshot). A snapshot where the
unit has fewer than ``k`` residents loses its people counts and per-resident figures (population,
densities, APL), as the public gate does for a unit it cannot merge; practitioners stay (public).
The chart is plain SVG built here, the same in the web fiche and in the PDF fiche.
"""

from __future__ import annotations

from html import escape
from typing import Any

import numpy as np
import pandas as pd

from accesoins.errors import StoreError
from accesoins.french import format_number
from accesoins.store import Store, unit_trend

__all__ = ["trend_section", "trend_svg"]

_PER_RESIDENT = ("population", "density_per_100k", "apl")
_WIDTH, _HEIGHT, _PAD, _SIDE = 420, 150, 36, 60  # _SIDE: room for a date label at each end


def trend_section(
    store: Store, snapshot_id: str, *, level: str, unit_id: str, k: int, profession: str = "generaliste"
) -> dict[str, Any]:
    """Points of the unit's trend (oldest first), the SVG chart of its APL and a French line.

    ``first`` is True when the territory has a single snapshot holding the unit: no trend yet.
    """
    try:
        trend = unit_trend(store, snapshot_id, level=level, unit_id=unit_id, profession=profession)
    except StoreError:
        trend = pd.DataFrame()
    points = []
    for row in trend.itertuples(index=False):
        small = 0 < float(getattr(row, "population", 0) or 0) < k
        point: dict[str, Any] = {
            "snapshot_id": row.snapshot_id,
            "date": pd.Timestamp(row.created_at).strftime("%d/%m/%Y"),
            "apl_vintage": None if pd.isna(row.apl_vintage) else int(row.apl_vintage),
        }
        for column in ("apl", "density_per_100k", "etp", "headcount", "population"):
            value = getattr(row, column, None)
            masked = small and column in _PER_RESIDENT
            point[column] = None if masked or value is None or pd.isna(value) else float(value)
        points.append(point)
    dates = [pd.Timestamp(t) for t in trend.get("created_at", [])]
    if len({d.date() for d in dates}) < len(dates):  # several snapshots a day: the time tells them apart
        for point, when in zip(points, dates, strict=True):
            point["date"] = when.strftime("%d/%m/%Y %H:%M")
    if len(points) < 2:
        return {
            "first": True,
            "points": points,
            "svg": "",
            "text": "Un seul instantané de ce territoire contient cette unité : l'évolution s'affichera "
            "après la prochaine mise à jour des données.",
        }
    first, last = points[0], points[-1]
    text = (
        f"APL aux médecins généralistes sur {len(points)} instantanés, "
        f"du {first['date']} au {last['date']} : {_fr(first['apl'])} → {_fr(last['apl'])}."
    )
    return {"first": False, "points": points, "svg": trend_svg(points), "text": text}


def trend_svg(points: list[dict[str, Any]], measure: str = "apl") -> str:
    """A small line chart (SVG text) of ``measure`` over the snapshots, labelled in French."""
    values = np.array([np.nan if p.get(measure) is None else p[measure] for p in points], dtype=float)
    finite = values[np.isfinite(values)]
    top = float(finite.max()) * 1.15 if finite.size and finite.max() > 0 else 1.0
    n = len(points)
    xs = [_SIDE + i * (_WIDTH - 2 * _SIDE) / max(n - 1, 1) for i in range(n)]
    ys = [_HEIGHT - _PAD - (v / top) * (_HEIGHT - 2 * _PAD) if np.isfinite(v) else None for v in values]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True) if y is not None)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_WIDTH} {_HEIGHT}" width="{_WIDTH}" '
        f'height="{_HEIGHT}" role="img" aria-label="Évolution de l\'APL par instantané" '
        'font-family="sans-serif" font-size="10">',
        f'<line x1="{_SIDE}" y1="{_HEIGHT - _PAD}" x2="{_WIDTH - _SIDE}" y2="{_HEIGHT - _PAD}" '
        'stroke="#888"/>',
        '<text x="4" y="12" fill="#444">APL (consultations par an et par habitant)</text>',
        f'<polyline points="{line}" fill="none" stroke="#2166ac" stroke-width="2"/>',
    ]
    for x, y, v, p in zip(xs, ys, values, points, strict=True):
        parts.append(
            f'<text x="{x:.1f}" y="{_HEIGHT - _PAD + 14}" text-anchor="middle" fill="#444">'
            f"{escape(p['date'])}</text>"
        )
        if y is not None:
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="#2166ac"/>')
            parts.append(
                f'<text x="{x:.1f}" y="{y - 7:.1f}" text-anchor="middle" fill="#222">{_fr(float(v))}</text>'
            )
        else:
            parts.append(
                f'<text x="{x:.1f}" y="{_HEIGHT / 2:.1f}" text-anchor="middle" fill="#888">masqué</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _fr(value: float | None) -> str:
    return "—" if value is None else format_number(value, 2)
