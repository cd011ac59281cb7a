"""The drift report as HTML: a summary table and one baseline-vs-current chart per
feature, drawn as inline SVG (no scripts, no external assets; every user string escaped).

Example:
    >>> svg = bar_chart(["a", "b"], [0.5, 0.5], [0.9, 0.1])
    >>> svg.startswith("<svg") and svg.count("<rect") == 4
    True
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .drift import DriftReport, FeatureDrift

__all__ = ["bar_chart", "render_report", "report_svg"]

BASELINE_COLOUR = "#8c9eff"
CURRENT_COLOUR = "#ff8a65"
_STYLE = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;color:#1f2328}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}
.summary{color:#57606a;margin-bottom:16px}
table.drift{border-collapse:collapse;font-size:13px}
table.drift th,table.drift td{padding:4px 10px;border-bottom:1px solid #d0d7de;text-align:right}
table.drift th:first-child,table.drift td:first-child{text-align:left}
tr.drifted td{background:#fff1ef}.yes{color:#cf222e;font-weight:600}.no{color:#1a7f37}
.cards{display:flex;flex-wrap:wrap;gap:16px}
.card{border:1px solid #d0d7de;border-radius:6px;padding:8px 12px}
.card h3{font-size:14px;margin:0 0 4px}.legend span{display:inline-block;width:10px;
height:10px;margin:0 4px 0 10px}.violations li{margin:2px 0}
"""


def _number(value: float | None, digits: int = 4) -> str:
    if value is None:
        return "&ndash;"
    if value != 0 and (abs(value) < 10 ** -digits or abs(value) >= 10 ** 6):
        return f"{value:.2e}"
    return f"{value:.{digits}f}"


def bar_chart(labels: Sequence[str], baseline: Sequence[float], current: Sequence[float],
              *, width: int = 360, height: int = 140) -> str:
    """Grouped bars: each label's baseline and current share, side by side."""
    count = max(len(labels), 1)
    top = max([*baseline, *current, 1e-12])
    slot = (width - 20) / count
    bar = max(slot / 2 - 1, 0.5)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 30}" '
             f'viewBox="0 0 {width} {height + 30}" role="img">']
    for index, label in enumerate(labels):
        x = 10 + index * slot
        for offset, (values, colour) in enumerate(((baseline, BASELINE_COLOUR),
                                                   (current, CURRENT_COLOUR))):
            share = values[index] if index < len(values) else 0.0
            h = height * share / top
            parts.append(f'<rect x="{x + offset * bar:.1f}" y="{height - h:.1f}" '
                         f'width="{bar:.1f}" height="{h:.1f}" fill="{colour}">'
                         f"<title>{html.escape(str(label))}: {share:.3f}</title></rect>")
    parts.append(f'<line x1="8" y1="{height}" x2="{width - 8}" y2="{height}" '
                 'stroke="#57606a"/>')
    if labels:
        first, last = html.escape(str(labels[0])), html.escape(str(labels[-1]))
        parts.append(f'<text x="10" y="{height + 16}" font-size="11" fill="#57606a">'
                     f"{first}</text>")
        parts.append(f'<text x="{width - 10}" y="{height + 16}" font-size="11" '
                     f'fill="#57606a" text-anchor="end">{last}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _chart(feature: FeatureDrift) -> str:
    data: dict[str, Any] = feature.histogram
    if not data:
        return f"<p>{html.escape(feature.note or 'nothing to draw')}</p>"
    if "edges" in data:
        edges = data["edges"]
        labels = [f"{edges[i]:.3g}" for i in range(len(edges) - 1)]
        labels[-1] = f"{edges[-1]:.3g}"
    else:
        labels = [str(c) for c in data["categories"]]
    return bar_chart(labels, data["baseline"], data["current"])


def report_svg(report: DriftReport, *, columns: int = 2) -> str:
    """Every feature's chart in one SVG image (for docs and files)."""
    width, height = 380, 200
    rows = (len(report.features) + columns - 1) // columns
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{columns * width}" '
             f'height="{rows * height + 30}" font-family="sans-serif">',
             '<rect width="100%" height="100%" fill="white"/>',
             f'<rect x="10" y="8" width="10" height="10" fill="{BASELINE_COLOUR}"/>'
             '<text x="24" y="17" font-size="12">baseline</text>'
             f'<rect x="90" y="8" width="10" height="10" fill="{CURRENT_COLOUR}"/>'
             '<text x="104" y="17" font-size="12">current</text>']
    for index, feature in enumerate(report.features):
        x, y = (index % columns) * width, (index // columns) * height + 30
        verdict = "drifted" if feature.drifted else "stable"
        colour = "#cf222e" if feature.drifted else "#1a7f37"
        parts.append(f'<text x="{x + 10}" y="{y + 14}" font-size="13" font-weight="bold">'
                     f'{html.escape(feature.name)} <tspan fill="{colour}">({verdict}, '
                     f'PSI {_number(feature.psi, 3)})</tspan></text>')
        chart = _chart(feature)
        if chart.startswith("<svg"):
            inner = chart[chart.index(">") + 1:-len("</svg>")]
            parts.append(f'<g transform="translate({x},{y + 20})">{inner}</g>')
    parts.append("</svg>")
    return "".join(parts)


def _row(feature: FeatureDrift) -> str:
    verdict = '<span class="yes">yes</span>' if feature.drifted else \
        '<span class="no">no</span>'
    distance = feature.ks_statistic if feature.ks_statistic is not None else \
        feature.js_distance
    p_value = feature.ks_p_value if feature.ks_p_value is not None else feature.chi2_p_value
    test = "KS" if feature.ks_statistic is not None else (
        "JS / &chi;&sup2;" if feature.js_distance is not None else "&ndash;")
    return (f'<tr class="{"drifted" if feature.drifted else ""}">'
            f"<td>{html.escape(feature.name)}</td><td>{html.escape(feature.inferred_type)}</td>"
            f"<td>{feature.rows}</td><td>{feature.completeness * 100:.1f}%</td>"
            f"<td>{_number(feature.psi)}</td><td>{test}</td><td>{_number(distance)}</td>"
            f"<td>{_number(p_value)}</td><td>{verdict}</td></tr>")


def render_report(report: DriftReport, *, standalone: bool = True) -> str:
    """The report page (``standalone``) or a fragment for a notebook cell."""
    drifted = report.drifted_features
    limits = report.thresholds
    summary = (f"{report.rows} rows compared with a baseline of {report.baseline_rows}; "
               f"{len(drifted)} of {len(report.features)} features drifted"
               + (f" ({html.escape(', '.join(drifted))})" if drifted else "")
               + f"; {len(report.violations)} violation(s). Thresholds: PSI &gt; {limits.psi}, "
               f"KS distance &gt; {limits.ks_statistic} with p &lt; {limits.ks_p_value}, "
               f"JS &gt; {limits.js_distance} with &chi;&sup2; p &lt; {limits.chi2_p_value}.")
    table = ("<table class='drift'><tr><th>feature</th><th>type</th><th>rows</th>"
             "<th>complete</th><th>PSI</th><th>test</th><th>distance</th><th>p-value</th>"
             "<th>drifted</th></tr>" + "".join(_row(f) for f in report.features) + "</table>")
    violations = "".join(
        f"<li><b>{html.escape(str(v['feature_name']))}</b> "
        f"<code>{html.escape(str(v['constraint_check_type']))}</code>: "
        f"{html.escape(str(v['description']))}</li>" for v in report.violations)
    cards = "".join(
        f"<div class='card'><h3>{html.escape(f.name)}</h3>{_chart(f)}</div>"
        for f in report.features)
    legend = (f"<div class='legend'><span style='background:{BASELINE_COLOUR}'></span>"
              f"baseline<span style='background:{CURRENT_COLOUR}'></span>current</div>")
    body = (f"<h1>Data drift report</h1><div class='summary'>{summary}</div>{table}"
            + (f"<h2>Violations</h2><ul class='violations'>{violations}</ul>"
               if violations else "")
            + f"<h2>Distributions</h2>{legend}<div class='cards'>{cards}</div>")
    if not standalone:
        return f"<div><style>{_STYLE}</style>{body}</div>"
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>Data drift report"
            f"</title><style>{_STYLE}</style></head><body>{body}"
            f"<p class='summary'>Created {html.escape(report.created)}</p></body></html>")
