"""A metric grouped by a param: :class:`Comparison`, what ``Experiment.compare`` returns.

The chart is one column of dots per distinct param value (the value's runs), each
column's mean marked by a bar. Numeric params sit on a numeric x axis, anything else
in sorted order. It renders as inline SVG (no JavaScript, no network) in a notebook,
and :meth:`Comparison.save` writes ``.svg`` or, through matplotlib, ``.png``.

Example:
    >>> c = Comparison("demo", "auc", "lr", {"0.1": (0.8, 0.82), "0.01": (0.7,)})
    >>> c.numeric, c.means()
    (True, {'0.01': 0.7, '0.1': 0.81})
    >>> c.svg().count('class="mlopskit-run"'), c.svg().count('class="mlopskit-mean"')
    (3, 2)
"""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .._display import Html, esc
from ..errors import ValidationError

__all__ = ["Comparison"]

_W, _H = 520, 260
_LEFT, _RIGHT, _TOP, _BOTTOM = 64, 18, 28, 50
_DOT, _MEAN = "#1565c0", "#ef6c00"


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _label(value: float) -> str:
    return f"{value:.4g}"


@dataclass(frozen=True)
class Comparison:
    """``metric`` of an experiment's finished runs grouped by param ``by``: ``values``
    maps each param value (as MLflow keeps it, a string) to the metric of its runs.

    Example:
        >>> Comparison("demo", "auc", "model", {"xgb": (0.9,), "rf": (0.8, 0.7)}).groups()
        ['rf', 'xgb']
    """

    experiment: str
    metric: str
    by: str
    values: Mapping[str, tuple[float, ...]]

    @property
    def numeric(self) -> bool:
        """Whether every param value is a number (then the x axis is numeric)."""
        return all(_number(key) is not None for key in self.values)

    def groups(self) -> list[str]:
        """The param values in axis order: by number when numeric, else as text."""
        if self.numeric:
            return sorted(self.values, key=lambda key: _number(key) or 0.0)
        return sorted(self.values)

    def means(self) -> dict[str, float]:
        """The mean metric of each param value, in axis order."""
        return {key: statistics.fmean(self.values[key]) for key in self.groups()
                if self.values[key]}

    def _x_positions(self, width: float) -> dict[str, float]:
        """Each group's x within ``[0, width]``: by value when numeric, evenly otherwise."""
        keys = self.groups()
        if self.numeric and len(keys) > 1:
            numbers = {key: _number(key) or 0.0 for key in keys}
            low, high = min(numbers.values()), max(numbers.values())
            return {key: (numbers[key] - low) / (high - low) * width for key in keys}
        step = width / max(len(keys), 1)
        return {key: step * (index + 0.5) for index, key in enumerate(keys)}

    def svg(self) -> Html:
        """The chart as one ``<svg>`` element (every label escaped)."""
        every = [v for values in self.values.values() for v in values if math.isfinite(v)]
        low, high = (min(every), max(every)) if every else (0.0, 1.0)
        margin = (high - low) * 0.08 or abs(high) * 0.05 or 1.0
        bottom_value, top_value = low - margin, high + margin
        inner_w, inner_h = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM
        pad = 16.0  # keeps the outer columns' dots inside the frame
        xs = {key: _LEFT + pad + at for key, at in self._x_positions(inner_w - 2 * pad).items()}

        def y_of(value: float) -> float:
            return _TOP + (top_value - value) / (top_value - bottom_value) * inner_h

        title = f"{self.metric} by {self.by} ({self.experiment})"
        out = [f'<svg class="mlopskit-comparison" xmlns="http://www.w3.org/2000/svg" '
               f'width="{_W}" height="{_H}" viewBox="0 0 {_W} {_H}" '
               f'style="font-family:system-ui,sans-serif;font-size:10px">',
               f"<title>{esc(title)}</title>",
               f'<text x="{_LEFT}" y="16" font-size="12" fill="#212121">{esc(title)}</text>',
               f'<rect x="{_LEFT}" y="{_TOP}" width="{inner_w}" height="{inner_h}" '
               f'fill="#fafafa" stroke="#bdbdbd"/>']
        for value in sorted({low, high}):
            at = y_of(value)
            out.append(f'<text class="mlopskit-tick" x="{_LEFT - 6}" y="{at + 3:.1f}" '
                       f'text-anchor="end" fill="#424242">{esc(_label(value))}</text>')
        axis_y = _TOP + inner_h
        for key in self.groups():
            out.append(f'<text class="mlopskit-tick" x="{xs[key]:.1f}" y="{axis_y + 14}" '
                       f'text-anchor="middle" fill="#424242">{esc(key[:16])}</text>')
        out.append(f'<text x="{_LEFT + inner_w / 2:.1f}" y="{_H - 10}" text-anchor="middle" '
                   f'fill="#424242">{esc(self.by)}</text>')
        middle = _TOP + inner_h / 2
        out.append(f'<text x="14" y="{middle:.1f}" text-anchor="middle" fill="#424242" '
                   f'transform="rotate(-90 14 {middle:.1f})">{esc(self.metric[:32])}</text>')
        for key in self.groups():
            finite = [v for v in self.values[key] if math.isfinite(v)]
            for value in finite:
                out.append(f'<circle class="mlopskit-run" cx="{xs[key]:.1f}" '
                           f'cy="{y_of(value):.1f}" r="3.5" fill="{_DOT}" fill-opacity="0.6">'
                           f"<title>{esc(f'{self.by}={key}: {self.metric}={value:.6g}')}"
                           "</title></circle>")
            if finite:
                mean = statistics.fmean(finite)
                out.append(f'<line class="mlopskit-mean" x1="{xs[key] - 9:.1f}" '
                           f'x2="{xs[key] + 9:.1f}" y1="{y_of(mean):.1f}" '
                           f'y2="{y_of(mean):.1f}" stroke="{_MEAN}" stroke-width="2.5">'
                           f"<title>{esc(f'{self.by}={key}: mean {mean:.6g} of {len(finite)}')}"
                           "</title></line>")
        out.append("</svg>")
        return Html("".join(out))

    def _repr_html_(self) -> str:
        return self.svg()

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the chart to ``path``: ``.svg`` as drawn here, ``.png`` through matplotlib
        (which MLflow installs); returns the path. ValidationError for other suffixes."""
        target = Path(path)
        suffix = target.suffix.lower()
        if suffix == ".svg":
            target.write_text(self.svg(), encoding="utf-8")
        elif suffix == ".png":
            self._save_png(target)
        else:
            raise ValidationError(f"path: {str(target)!r} must end in .svg or .png",
                                  field="path")
        return target

    def _save_png(self, target: Path) -> None:
        # A bare Figure (no pyplot): nothing global changes, no GUI backend is picked.
        from matplotlib.figure import Figure

        figure = Figure(figsize=(6.5, 3.25), dpi=100)
        axes = figure.add_subplot()
        keys = self.groups()
        positions = ({key: _number(key) or 0.0 for key in keys} if self.numeric
                     else {key: float(index) for index, key in enumerate(keys)})
        for key in keys:
            finite = [v for v in self.values[key] if math.isfinite(v)]
            axes.scatter([positions[key]] * len(finite), finite, color=_DOT, alpha=0.6, s=18)
            if finite:
                axes.scatter([positions[key]], [statistics.fmean(finite)], marker="_",
                             color=_MEAN, s=300, linewidths=2.5)
        if not self.numeric:
            axes.set_xticks(list(positions.values()), [key[:16] for key in keys])
        axes.set_xlabel(self.by)
        axes.set_ylabel(self.metric)
        axes.set_title(f"{self.metric} by {self.by} ({self.experiment})")
        figure.tight_layout()
        figure.savefig(target, format="png")
