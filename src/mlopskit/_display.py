"""Rich display for notebooks and progress bars for waits (private).

Two halves, both standard-library only at import time:

- HTML: ``card`` and friends build the ``_repr_html_`` of jobs, endpoints, packages and
  pipelines; every piece of user text goes through :func:`esc`. ``dag_svg`` draws a pipeline
  DAG as inline SVG with a layered layout (no JavaScript, no network), and
  ``objective_chart`` a tuning job's objective over its trials. ``safe_html`` turns
  any failure while rendering into a short note: a repr never raises.
- Progress: :func:`progress_enabled` decides whether a wait shows a bar (argument, then
  ``MLOPSKIT_PROGRESS``, then: off under pytest and CI, on in a Jupyter kernel or when
  stderr is a terminal). :class:`WaitProgress` draws it with tqdm, imported on first use
  only, and is silent when tqdm is not installed; :func:`progress_sink` feeds one from a
  backend's ``on_progress`` callback.

Example:
    >>> esc("<script>alert(1)</script>")
    '&lt;script&gt;alert(1)&lt;/script&gt;'
    >>> duration_text(_dt.datetime(2024, 1, 1), _dt.datetime(2024, 1, 1, 0, 1, 5))
    '1 min 5 s'
"""

from __future__ import annotations

import collections
import contextlib
import datetime as _dt
import functools
import html
import importlib
import importlib.util
import itertools
import math
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import IO, Any, Generic, TypeVar

__all__ = [
    "Html",
    "WaitProgress",
    "badge",
    "card",
    "dag_svg",
    "duration_text",
    "environment_names",
    "esc",
    "kv_table",
    "note",
    "objective_chart",
    "progress_enabled",
    "progress_sink",
    "safe_html",
    "table",
    "time_text",
    "unavailable",
]

T = TypeVar("T")

PROGRESS_ENV = "MLOPSKIT_PROGRESS"
_ON = {"1", "true", "yes", "on"}
_OFF = {"0", "false", "no", "off", ""}


# -- HTML --------------------------------------------------------------------------------


class Html(str):
    """Markup that is already safe (built here); anything else is escaped when rendered."""

    __slots__ = ()


def esc(value: object) -> Html:
    """``value`` as text, HTML-escaped (quotes included); ``Html`` passes through."""
    if isinstance(value, Html):
        return value
    return Html(html.escape("" if value is None else str(value), quote=True))


_GREEN, _BLUE, _RED, _GREY, _AMBER = "#2e7d32", "#1565c0", "#c62828", "#616161", "#ef6c00"
_STATUS_COLOURS: dict[str, str] = {
    **dict.fromkeys(("Completed", "Succeeded", "InService", "Approved", "Started"), _GREEN),
    **dict.fromkeys(("InProgress", "Executing", "Creating", "Updating", "Starting",
                     "SystemUpdating", "RollingBack", "Training", "Downloading",
                     "Uploading"), _BLUE),
    **dict.fromkeys(("Failed", "Rejected", "OutOfService"), _RED),
    **dict.fromkeys(("Stopping", "PendingManualApproval", "Deleting",
                     "CompletedWithViolations"), _AMBER),
}


def status_colour(status: str | None) -> str:
    """The badge colour of ``status`` (grey for Stopped and anything unknown)."""
    return _STATUS_COLOURS.get(status or "", _GREY)


def badge(status: str | None) -> Html:
    """A coloured pill showing ``status``."""
    colour = status_colour(status)
    return Html(f'<span class="mlopskit-status" style="background:{colour};color:#fff;'
                f'border-radius:0.8em;padding:0.1em 0.6em;font-size:0.85em;'
                f'white-space:nowrap">{esc(status or "unknown")}</span>')


def note(text: str) -> Html:
    """A small muted remark (e.g. a part that could not be read)."""
    return Html(f'<div class="mlopskit-note" style="color:#757575;font-style:italic;'
                f'margin:0.3em 0">{esc(text)}</div>')


def unavailable(what: str, exc: BaseException) -> Html:
    """A note saying ``what`` could not be read, with a short reason (never a traceback)."""
    reason = " ".join(str(exc).split())
    if len(reason) > 160:
        reason = reason[:157] + "..."
    return note(f"{what} unavailable ({type(exc).__name__}: {reason})" if reason
                else f"{what} unavailable ({type(exc).__name__})")


def environment_names(value: Any) -> Any:
    """``value`` (JSON-like data) with every environment map, at any depth, replaced by
    its sorted names: environment values may be secrets, and are never displayed.

    A map is an environment when its key is ``environment`` or ``Environment`` (a spec,
    a describe, a SageMaker request or step properties).

    Example:
        >>> environment_names({"name": "job", "Environment": {"TOKEN": "s3cr3t", "A": "1"},
        ...                    "steps": [{"environment": {"B": "2"}}]})
        {'name': 'job', 'Environment': ['A', 'TOKEN'], 'steps': [{'environment': ['B']}]}
    """
    if isinstance(value, Mapping):
        return {key: (sorted(str(k) for k in inner)
                      if str(key).lower() == "environment" and isinstance(inner, Mapping)
                      else environment_names(inner))
                for key, inner in value.items()}
    if isinstance(value, (list, tuple)):
        return [environment_names(item) for item in value]
    return value


def time_text(value: _dt.datetime | str | None) -> str:
    """A timestamp to the second, with its zone when it has one; '' for None."""
    if value is None:
        return ""
    if isinstance(value, str):
        try:
            value = _dt.datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    text = value.strftime("%Y-%m-%d %H:%M:%S")
    offset = value.utcoffset()
    if offset is not None:
        text += " UTC" if not offset else value.strftime(" %z")
    return text


def duration_text(start: _dt.datetime | None, end: _dt.datetime | None) -> str:
    """``end - start`` for people ('', when either is missing or they do not compare)."""
    if start is None or end is None:
        return ""
    try:
        seconds = (end - start).total_seconds()
    except TypeError:  # one naive, one aware
        return ""
    if seconds < 0:
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


_CELL = "padding:0.15em 0.6em;text-align:left;vertical-align:top;border:none"


def kv_table(rows: Iterable[tuple[str, object]]) -> Html:
    """Two columns, label and value; rows whose value is None or '' are left out."""
    body = "".join(f'<tr><th style="{_CELL};font-weight:600;color:#424242">{esc(k)}</th>'
                   f'<td style="{_CELL}">{esc(v)}</td></tr>'
                   for k, v in rows if v is not None and v != "")
    return Html(f'<table class="mlopskit-kv" style="border-collapse:collapse;margin:0">'
                f"{body}</table>")


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], *,
          caption: str | None = None, limit: int | None = None) -> Html:
    """A small data table; ``limit`` keeps the first rows and says how many were left out."""
    all_rows = list(rows)
    shown = all_rows if limit is None else all_rows[:limit]
    head = "".join(f'<th style="{_CELL};border-bottom:1px solid #bdbdbd">{esc(h)}</th>'
                   for h in headers)
    body = "".join("<tr>" + "".join(f'<td style="{_CELL}">{esc(c)}</td>' for c in row)
                   + "</tr>" for row in shown)
    cap = (f'<caption style="text-align:left;font-weight:600;padding:0.3em 0">'
           f"{esc(caption)}</caption>" if caption else "")
    more = (note(f"... and {len(all_rows) - len(shown)} more")
            if len(shown) < len(all_rows) else "")
    return Html(f'<table class="mlopskit-table" style="border-collapse:collapse;'
                f'margin:0.3em 0">{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody>'
                f"</table>{more}")


def section(title: str, content: str) -> Html:
    """A titled block inside a card (``content`` must already be safe markup)."""
    return Html(f'<div style="margin-top:0.5em"><div style="font-weight:600;'
                f'margin-bottom:0.2em">{esc(title)}</div>{esc(content)}</div>')


def card(kind: str, name: str, status: str | None, *,
         rows: Iterable[tuple[str, object]] = (), parts: Iterable[str] = ()) -> Html:
    """The frame of every repr: kind, name, status badge, a key/value table, then parts."""
    head = (f'<div style="margin-bottom:0.4em"><span style="color:#757575">{esc(kind)}</span> '
            f"<b>{esc(name)}</b> {badge(status) if status is not None else ''}</div>")
    body = "".join(esc(p) for p in parts)
    return Html(f'<div class="mlopskit-repr" style="font-family:system-ui,sans-serif;'
                f'font-size:0.9em;border:1px solid #e0e0e0;border-radius:6px;'
                f'padding:0.6em 0.8em;max-width:60em">{head}{kv_table(rows)}{body}</div>')


def safe_html(kind: str, name: Callable[[Any], object]) -> Callable[
        [Callable[[Any], str]], Callable[[Any], str]]:
    """Decorate a ``_repr_html_``: any exception becomes a card with an 'unavailable' note."""

    def decorate(render: Callable[[Any], str]) -> Callable[[Any], str]:
        @functools.wraps(render)
        def wrapper(self: Any) -> str:
            try:
                return render(self)
            except Exception as exc:
                try:
                    label = str(name(self))
                except Exception:
                    label = "?"
                return card(kind, label, None, parts=[unavailable("details", exc)])

        return wrapper

    return decorate


# -- the DAG picture ----------------------------------------------------------------------

_DAG_IDS = itertools.count(1)
_NODE_W, _NODE_H, _GAP_X, _GAP_Y, _PAD = 150, 34, 56, 16, 8


def _layers(nodes: Sequence[str], parents: Mapping[str, Iterable[str]]) -> dict[str, int]:
    """Layer of each node: the length of the longest path from a node without parents
    (cycles, which a checked definition has not, are cut instead of looping)."""
    layer: dict[str, int] = {}
    visiting: set[str] = set()

    def depth(node: str) -> int:
        if node in layer:
            return layer[node]
        visiting.add(node)
        found = [depth(p) + 1 for p in parents.get(node, ()) if p in known and
                 p not in visiting]
        visiting.discard(node)
        layer[node] = max(found, default=0)
        return layer[node]

    known = set(nodes)
    for node in nodes:
        depth(node)
    return layer


def _order(nodes: Sequence[str], layer: Mapping[str, int],
           parents: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Nodes per layer, ordered by the mean position of their parents (one barycentre
    sweep down), which keeps most edges from crossing in small pipelines."""
    count = max(layer.values(), default=-1) + 1
    columns: list[list[str]] = [[] for _ in range(count)]
    for node in nodes:
        columns[layer[node]].append(node)
    position: dict[str, float] = {n: float(i) for i, n in enumerate(columns[0])} if columns \
        else {}
    for column in columns[1:]:
        original = {n: i for i, n in enumerate(column)}

        def key(node: str, original: dict[str, int] = original) -> tuple[float, int]:
            seen = [position[p] for p in parents.get(node, ()) if p in position]
            return (sum(seen) / len(seen) if seen else float(original[node]), original[node])

        column.sort(key=key)
        position.update({n: float(i) for i, n in enumerate(column)})
    return columns


def _short(text: str, limit: int = 20) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "\u2026"


def _curve(a: tuple[float, float], b: tuple[float, float]) -> str:
    bend = max(_GAP_X / 2, (b[0] - a[0]) / 3)
    return (f" C {a[0] + bend:.1f} {a[1]:.1f}, {b[0] - bend:.1f} {b[1]:.1f}, "
            f"{b[0]:.1f} {b[1]:.1f}")


def dag_svg(nodes: Sequence[str], parents: Mapping[str, Iterable[str]], *,
            kinds: Mapping[str, str] | None = None,
            statuses: Mapping[str, str] | None = None) -> Html:
    """The DAG as an inline SVG, left to right: one ``mlopskit-node`` group per node, one
    ``mlopskit-edge`` path per (parent, node) pair. With ``statuses`` nodes are coloured by
    status (steps without one are drawn as not started).

    An edge that skips layers is routed through a free slot in each layer it crosses (a
    placeholder that is laid out like a node but not drawn), so it never runs under a box.
    """
    if not nodes:
        return note("no steps")
    kinds = kinds or {}
    known = set(nodes)
    edges = [(parent, node) for node in nodes
             for parent in sorted(set(parents.get(node, ()))) if parent in known]
    layer = _layers(nodes, parents)
    order_parents: dict[str, list[str]] = {n: [] for n in nodes}
    chains: dict[tuple[str, str], list[str]] = {}
    everything = list(nodes)
    for parent, node in edges:
        previous, chain = parent, []
        for step in range(layer[parent] + 1, layer[node]):
            slot = f"\0{parent}\0{node}\0{step}"  # NUL never occurs in a step name
            layer[slot] = step
            order_parents[slot] = [previous]
            everything.append(slot)
            chain.append(slot)
            previous = slot
        chains[(parent, node)] = chain
        order_parents[node].append(previous)
    columns = _order(everything, layer, order_parents)
    tallest = max(len(c) for c in columns)
    height = float(tallest * _NODE_H + (tallest - 1) * _GAP_Y + 2 * _PAD)
    width = len(columns) * _NODE_W + (len(columns) - 1) * _GAP_X + 2 * _PAD
    where: dict[str, tuple[float, float]] = {}
    for index, column in enumerate(columns):
        left = float(_PAD + index * (_NODE_W + _GAP_X))
        top = (height - (len(column) * _NODE_H + (len(column) - 1) * _GAP_Y)) / 2
        for row, node in enumerate(column):
            where[node] = (left, top + row * (_NODE_H + _GAP_Y))
    marker = f"mlopskit-arrow-{next(_DAG_IDS)}"
    parts = [f'<svg class="mlopskit-dag" xmlns="http://www.w3.org/2000/svg" '
             f'width="{width}" height="{height:g}" viewBox="0 0 {width} {height:g}" '
             f'style="font-family:system-ui,sans-serif;font-size:11px">',
             f'<defs><marker id="{marker}" viewBox="0 0 10 10" refX="10" refY="5" '
             f'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
             f'<path d="M 0 0 L 10 5 L 0 10 z" fill="#757575"/></marker></defs>']
    for parent, node in edges:
        mid = _NODE_H / 2
        point = (where[parent][0] + _NODE_W, where[parent][1] + mid)
        path = f"M {point[0]:.1f} {point[1]:.1f}"
        for slot in chains[(parent, node)]:
            entry = (where[slot][0], where[slot][1] + mid)
            path += _curve(point, entry)
            point = (entry[0] + _NODE_W, entry[1])
            path += f" L {point[0]:.1f} {point[1]:.1f}"
        path += _curve(point, (where[node][0], where[node][1] + mid))
        parts.append(f'<path class="mlopskit-edge" data-from="{esc(parent)}" '
                     f'data-to="{esc(node)}" d="{path}" fill="none" stroke="#9e9e9e" '
                     f'stroke-width="1.5" marker-end="url(#{marker})"/>')
    for node in nodes:
        x, y = where[node]
        status = (statuses or {}).get(node)
        if statuses is None:
            fill, stroke, ink = "#f5f5f5", "#9e9e9e", "#212121"
        elif status is None:
            fill, stroke, ink = "#ffffff", "#bdbdbd", "#9e9e9e"
        else:
            fill = stroke = status_colour(status)
            ink = "#ffffff"
        kind = kinds.get(node, "")
        tip = f"{node} ({kind})" if kind else node
        if statuses is not None:
            tip += f": {status or 'not started'}"
        sub = " \u00b7 ".join(t for t in (kind, status if statuses is not None else "") if t)
        parts.append(
            f'<g class="mlopskit-node" data-step="{esc(node)}"><title>{esc(tip)}</title>'
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{_NODE_W}" height="{_NODE_H}" rx="5" '
            f'fill="{fill}" stroke="{stroke}" stroke-width="1.5"/>'
            f'<text x="{x + _NODE_W / 2:.1f}" y="{y + 14:.1f}" text-anchor="middle" '
            f'fill="{ink}" font-weight="600">{esc(_short(node))}</text>'
            f'<text x="{x + _NODE_W / 2:.1f}" y="{y + 27:.1f}" text-anchor="middle" '
            f'fill="{ink}" font-size="9">{esc(_short(sub, 28))}</text></g>')
    parts.append("</svg>")
    return Html("".join(parts))


# -- the objective chart of a tuning job ---------------------------------------------------

_CHART_W, _CHART_H = 480, 232
_CHART_LEFT, _CHART_RIGHT, _CHART_TOP, _CHART_BOTTOM = 64, 14, 12, 52
_BEST_RING = "#f9a825"
_COUNTED = ("Completed", "Stopped")  # the statuses tuning_search.best_trial ranks


def _tick(value: float) -> str:
    return f"{value:.4g}"


def objective_chart(points: Sequence[tuple[str, str, float | None]], objective_type: str,
                    metric: str, *, best: str | None = None) -> Html:
    """The objective over a tuning job's trials as an inline SVG.

    ``points`` are ``(trial name, status, objective)`` in start order; trial ``i`` (from 1)
    is drawn at ``x = i``. Each trial with a finite objective is one ``mlopskit-trial``
    circle coloured by its status; an ended trial without one (failed, or stopped before
    reporting) is an ``mlopskit-unscored`` cross on the bottom edge. The
    ``mlopskit-best-so-far`` step line follows the running best (max for ``Maximize``, min
    for ``Minimize``) of the trials that count for the best, as in
    ``tuning_search.best_trial``: completed, or stopped with a value (early stopping and
    Hyperband stop trials that then count); the ``best`` trial's circle is ringed.
    No trials give an empty string (no chart).

    Example:
        >>> svg = objective_chart([("t-1", "Completed", 0.8), ("t-2", "Failed", None),
        ...                        ("t-3", "Completed", 0.9)], "Maximize", "auc",
        ...                       best="t-3")
        >>> svg.count("<circle"), svg.count('class="mlopskit-unscored"')
        (2, 1)
        >>> objective_chart([], "Maximize", "auc")
        ''
    """
    if not points:
        return Html("")
    scored = [(i, name, status, value) for i, (name, status, value) in enumerate(points, 1)
              if value is not None and math.isfinite(value)]
    unscored = [(i, name, status) for i, (name, status, value) in enumerate(points, 1)
                if (value is None or not math.isfinite(value)) and status != "InProgress"]
    if not scored and not unscored:
        return Html("")
    values = [value for *_, value in scored] or [0.0]
    low, high = min(values), max(values)
    pad = (high - low) * 0.06 or abs(high) * 0.05 or 1.0
    y_low, y_high = low - pad, high + pad
    plot_w = _CHART_W - _CHART_LEFT - _CHART_RIGHT
    plot_h = _CHART_H - _CHART_TOP - _CHART_BOTTOM
    count = len(points)

    def x(number: float) -> float:  # 10 px inside the frame, so edge dots are whole
        return _CHART_LEFT + 10 + (plot_w / 2 - 10 if count == 1 else
                                   (number - 1) / (count - 1) * (plot_w - 20))

    def y(value: float) -> float:
        return _CHART_TOP + (y_high - value) / (y_high - y_low) * plot_h

    bottom = _CHART_TOP + plot_h
    mid_y = _CHART_TOP + plot_h / 2
    parts = [f'<svg class="mlopskit-objective-chart" xmlns="http://www.w3.org/2000/svg" '
             f'width="{_CHART_W}" height="{_CHART_H}" viewBox="0 0 {_CHART_W} {_CHART_H}" '
             f'style="font-family:system-ui,sans-serif;font-size:10px">',
             f'<title>{esc(f"{metric} ({objective_type}) over trials")}</title>',
             f'<rect x="{_CHART_LEFT}" y="{_CHART_TOP}" width="{plot_w}" height="{plot_h}" '
             f'fill="#fafafa" stroke="#bdbdbd"/>']
    ticks = [(_tick(high), y(high)), (_tick(low), y(low))] if scored else []
    for label, at in ticks[: 1 if low == high else 2]:
        parts.append(f'<line x1="{_CHART_LEFT - 4}" y1="{at:.1f}" x2="{_CHART_LEFT}" '
                     f'y2="{at:.1f}" stroke="#757575"/><text class="mlopskit-tick" '
                     f'x="{_CHART_LEFT - 6}" y="{at + 3:.1f}" text-anchor="end" '
                     f'fill="#424242">{esc(label)}</text>')
    for number in sorted({1, count}):
        parts.append(f'<text class="mlopskit-tick" x="{x(number):.1f}" y="{bottom + 13}" '
                     f'text-anchor="middle" fill="#424242">{number}</text>')
    parts.append(f'<text x="{_CHART_LEFT + plot_w / 2:.1f}" y="{bottom + 27}" '
                 f'text-anchor="middle" fill="#424242">trial (in start order)</text>')
    legend = [(status_colour(status), "\u25cf", f"{status} {n}") for status, n in
              sorted(collections.Counter(status for *_, status, _v in scored).items())]
    legend += [(status_colour(status), "\u2715", f"{status} {n} (no objective)")
               for status, n in sorted(collections.Counter(s for *_, s in unscored).items())]
    if any(status in _COUNTED for *_, status, _v in scored):
        legend.append((_BEST_RING, "\u2014", "best so far"))
    parts.append(f'<text class="mlopskit-legend" x="{_CHART_LEFT}" y="{_CHART_H - 6}" '
                 f'fill="#424242">' + " \u00b7 ".join(
                     f'<tspan fill="{colour}">{mark}</tspan> {esc(label)}'
                     for colour, mark, label in legend) + "</text>")
    parts.append(f'<text class="mlopskit-axis-label" x="12" y="{mid_y:.1f}" '
                 f'text-anchor="middle" fill="#424242" transform="rotate(-90 12 '
                 f'{mid_y:.1f})">{esc(_short(metric, 32))}</text>')
    sign = 1.0 if objective_type == "Maximize" else -1.0
    running: float | None = None
    line: list[tuple[float, float]] = []
    for number, _name, status, value in scored:
        if status not in _COUNTED:
            continue
        if running is None or sign * value > sign * running:
            if running is not None:
                line.append((x(number), y(running)))
            running = value
            line.append((x(number), y(running)))
    if line:
        if line[-1][0] < x(count):
            line.append((x(count), line[-1][1]))
        coordinates = " ".join(f"{a:.1f},{b:.1f}" for a, b in line)
        parts.append(f'<polyline class="mlopskit-best-so-far" points="{coordinates}" '
                     f'fill="none" stroke="{_BEST_RING}" stroke-width="1.5"/>')
    for number, name, status in unscored:
        cx = x(number)
        parts.append(f'<path class="mlopskit-unscored" data-trial="{esc(name)}" '
                     f'd="M {cx - 3:.1f} {bottom - 7} l 6 6 m 0 -6 l -6 6" '
                     f'stroke="{status_colour(status)}" stroke-width="1.5">'
                     f'<title>{esc(f"{name}: {status}, no objective")}</title></path>')
    for number, name, status, value in scored:
        ring = (f' stroke="{_BEST_RING}" stroke-width="2.5"' if name == best
                else ' stroke="#ffffff" stroke-width="0.8"')
        kind = "mlopskit-trial mlopskit-best" if name == best else "mlopskit-trial"
        tip = f"{name}: {status}, {metric}={value:.6g}" + (" (best)" if name == best else "")
        parts.append(f'<circle class="{kind}" data-trial="{esc(name)}" cx="{x(number):.1f}" '
                     f'cy="{y(value):.1f}" r="{5 if name == best else 3.5}" '
                     f'fill="{status_colour(status)}"{ring}><title>{esc(tip)}</title>'
                     f'</circle>')
    parts.append("</svg>")
    return Html("".join(parts))


# -- progress -------------------------------------------------------------------------------

@contextlib.contextmanager
def progress_sink(label: str, *, unit: str, progress: bool | None
                  ) -> Iterator[Callable[[str, int | None, int | None], None] | None]:
    """A ``(status, done, total)`` callback for work a backend does in this process (a
    bar of ``unit`` when :func:`progress_enabled` says so), or None; the bar is closed
    when the block ends."""
    bar = WaitProgress[State].create(label, lambda state: state, unit=unit, progress=progress)
    if bar is None:
        yield None
        return
    try:
        yield lambda status, done, total: bar.update((status, done, total))
    finally:
        bar.close()


def _in_jupyter() -> bool:
    ipython = sys.modules.get("IPython")
    if ipython is None or "ipykernel" not in sys.modules:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:
        return False
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def progress_enabled(progress: bool | None = None, stream: IO[str] | None = None) -> bool:
    """Whether a wait shows a progress bar.

    In order: ``progress`` when given; the ``MLOPSKIT_PROGRESS`` variable (``1``/``0``);
    off under pytest and on CI (``CI`` set); on in a Jupyter kernel; else on when
    ``stream`` (stderr) is a terminal.

    Example:
        >>> progress_enabled(False), progress_enabled(True)
        (False, True)
    """
    if progress is not None:
        return bool(progress)
    setting = os.environ.get(PROGRESS_ENV)
    if setting is not None:
        value = setting.strip().lower()
        if value in _ON:
            return True
        if value in _OFF:
            return False
    if "PYTEST_CURRENT_TEST" in os.environ or os.environ.get("CI", "").lower() in _ON:
        return False
    if _in_jupyter():
        return True
    target = stream if stream is not None else sys.stderr
    try:
        return bool(target is not None and target.isatty())
    except (AttributeError, ValueError, OSError):
        return False


State = tuple[str, int | None, int | None]


class WaitProgress(Generic[T]):
    """A progress bar fed with the values a wait polls.

    ``state(value)`` gives ``(status, done, total)``: with ``total`` the bar counts ``done``
    out of it (records, files, steps), otherwise it shows the status and the time waited.
    The bar appears on the first :meth:`update` (a wait that is over at once shows none)
    and is finished by :meth:`close`. Without tqdm installed nothing is shown.
    """

    def __init__(self, label: str, state: Callable[[T], State], *,
                 file: IO[str] | None = None, unit: str = "step") -> None:
        self.label, self.state, self.file, self.unit = label, state, file, unit
        self._bar: Any = None
        self._broken = False
        self.statuses: list[str] = []  # every status seen, in order (no repeats)

    @classmethod
    def create(cls, label: str, state: Callable[[T], State], *,
               progress: bool | None = None, file: IO[str] | None = None,
               unit: str = "step") -> WaitProgress[T] | None:
        """A bar when :func:`progress_enabled` says so, else None (nothing to pay)."""
        if not progress_enabled(progress, file):
            return None
        return cls(label, state, file=file, unit=unit)

    def _make(self, total: int | None) -> Any:
        try:
            if self.file is None and _in_jupyter() and \
                    importlib.util.find_spec("ipywidgets") is not None:
                notebook = importlib.import_module("tqdm.notebook")  # widgets need ipywidgets
                return notebook.tqdm(total=total, desc=self.label, unit=self.unit, leave=True)
            tqdm = importlib.import_module("tqdm").tqdm
        except ImportError:
            self._broken = True  # tqdm is optional (mlopskit[progress]): no bar
            return None
        bar_format = None if total is not None else "{desc}: {postfix} [{elapsed}]"
        return tqdm(total=total, desc=self.label, unit=self.unit, leave=True,
                    file=self.file if self.file is not None else sys.stderr,
                    bar_format=bar_format, dynamic_ncols=self.file is None)

    def update(self, value: T) -> None:
        """Show the state of ``value``; a display problem never breaks the wait."""
        if self._broken:
            return
        try:
            status, done, total = self.state(value)
            if not self.statuses or self.statuses[-1] != status:
                self.statuses.append(status)
            if self._bar is None:
                self._bar = self._make(total)
                if self._bar is None:
                    return
            bar = self._bar
            if total is not None and bar.total != total:
                bar.total = total
            if done is not None and total is not None:
                bar.n = min(done, total)
            bar.set_postfix_str(status, refresh=False)
            bar.refresh()
        except Exception:
            self._broken = True

    def close(self) -> None:
        if self._bar is not None:
            with contextlib.suppress(Exception):
                self._bar.close()
            self._bar = None
