"""Small charts drawn on the server as inline SVG: horizontal bars and one stacked bar.

Why not a chart library: the pages are server-rendered for cadres on old laptops and phones,
often on a weak connection. An SVG written into the HTML needs no JavaScript, no CDN and no
download, prints as it shows, and can link a bar to the list behind its number. The output
carries only attributes (x, y, width, height, class) and never a `style="..."`, so it stays
within the Content-Security-Policy; colours come from the `svg.chart` classes of the site
stylesheet (`static/app.css`).

Every label and value goes through markupsafe escaping: labels come from user data (village
and school names), and a village called "<script>" must stay text.

Bars are horizontal so that long Chinese labels sit on one line on a narrow screen; the SVG
has a `viewBox` and `width="100%"`, so it shrinks to the screen instead of overflowing it.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

SVG_NS = "http://www.w3.org/2000/svg"
NO_VALUE = "—"
EMPTY_TEXT = "暂无数据"

FONT_SIZE = 13
# Rough advance widths at 13px: full-width (CJK) characters are a full em, the rest about
# half. Used only to size the label and value columns, so erring wide is safe.
WIDE_CHAR_PX = 13.5
NARROW_CHAR_PX = 7.5

ROW_GAP = 8
EDGE_PAD = 4
TEXT_GAP = 6
TARGET_LABEL_SPACE = 18
MAX_LABEL_SHARE = 0.4
MIN_PLOT_WIDTH = 40

STACK_HEIGHT = 22
SWATCH = 12
LEGEND_ROW = 22
LEGEND_ITEM_GAP = 16

CSS_CLASS = re.compile(r"^[a-z0-9_-]+$")



@dataclass(frozen=True)
class Bar:
    """One row of a bar chart. `value` None means "no data" (drawn as a dash, not as zero)."""

    label: str
    value: float | None
    href: str = ""
    alert: bool = False


@dataclass(frozen=True)
class Segment:
    """One part of a stacked bar; `css_class` picks the colour (`seg-<css_class>`)."""

    label: str
    value: float
    css_class: str
    href: str = ""


# --- numbers -------------------------------------------------------------------------------

def format_number(value: float | None, unit: str = "") -> str:
    """Integers without decimals, other numbers with at most two; the unit is appended."""
    if value is None or not math.isfinite(value):
        return NO_VALUE
    if float(value).is_integer():
        text = str(int(value))
    else:
        text = f"{value:.2f}".rstrip("0").rstrip(".")
        if text == "-0":
            text = "0"
    return f"{text}{unit}"


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 × 10^n at or above `value`, so the scale ends on a round number.

    Nothing positive to show still gives a scale of 1, so no width is ever divided by zero.
    """
    if not math.isfinite(value) or value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        candidate = step * 10.0 ** exponent
        # log10 and powers of ten are inexact: 0.2 must not round up to 0.5.
        if candidate >= value * (1 - 1e-9):
            return float(f"{candidate:.12g}")
    return 10.0 ** (exponent + 1)


def _coord(value: float) -> str:
    """A coordinate with two decimals at most: short attributes, no "1e-05" surprises."""
    return f"{value:.2f}".rstrip("0").rstrip(".") or "0"


def _finite(value: float | None) -> float | None:
    """A value to draw, or None; NaN and infinity are treated as missing data."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)


# --- text measuring --------------------------------------------------------------------------

def text_width(text: str) -> float:
    """Estimated width in px of `text` at the chart's font size."""
    return sum(WIDE_CHAR_PX if unicodedata.east_asian_width(ch) in "WF" else NARROW_CHAR_PX
               for ch in text)


def fit_text(text: str, max_width: float) -> str:
    """`text`, cut with "…" if it would not fit in `max_width`: a long name must not run into the bars."""
    if text_width(text) <= max_width:
        return text
    kept = ""
    for ch in text:
        if text_width(kept + ch + "…") > max_width:
            break
        kept += ch
    return kept + "…"


# --- SVG writing -----------------------------------------------------------------------------

def _tag(name: str, attrs: Mapping[str, object], content: str = "") -> str:
    """One element; every attribute value is escaped. `content` must already be safe markup."""
    rendered = "".join(f' {key}="{escape(str(value))}"' for key, value in attrs.items())
    if not content:
        return f"<{name}{rendered}/>"
    return f"<{name}{rendered}>{content}</{name}>"


def _text(x: float, y: float, content: str, css_class: str, *, anchor: str = "start",
          centred: bool = True) -> str:
    """A text element; `content` is plain text unless it is already Markup (then kept as is)."""
    attrs = {"x": _coord(x), "y": _coord(y), "class": css_class}
    if anchor != "start":
        attrs["text-anchor"] = anchor
    if centred:
        # Centred on y, so a label lines up with the middle of its bar whatever the font.
        attrs["dominant-baseline"] = "central"
    return _tag("text", attrs, str(escape(content)))


def _rect(x: float, y: float, width: float, height: float, css_class: str) -> str:
    return _tag("rect", {"x": _coord(x), "y": _coord(y), "width": _coord(width),
                         "height": _coord(height), "class": css_class})


def _linked(href: str, content: str) -> str:
    """Wrap `content` in a link when there is somewhere to go, so a number leads to its list."""
    return _tag("a", {"href": href, "class": "chart-link"}, content) if href else content


def _tooltip(text: str) -> str:
    return _tag("title", {}, str(escape(text)))


def _svg(width: float, height: float, label: str, body: Iterable[str]) -> Markup:
    # width="100%" with a viewBox lets the browser scale the chart down to a phone's width;
    # the font size is an attribute too so the layout estimates hold even without the CSS.
    attrs = {
        "xmlns": SVG_NS,
        "class": "chart",
        "viewBox": f"0 0 {_coord(width)} {_coord(height)}",
        "width": "100%",
        "preserveAspectRatio": "xMinYMin meet",
        "role": "img",
        "aria-label": label,
        "font-size": str(FONT_SIZE),
    }
    return Markup(_tag("svg", attrs, "".join(body)))


def _empty_chart(width: int, title: str) -> Markup:
    height = FONT_SIZE + 2 * ROW_GAP
    text = _text(0, height / 2, EMPTY_TEXT, "chart-empty")
    return _svg(width, height, title or EMPTY_TEXT, [text])


# --- horizontal bar chart ----------------------------------------------------------------------

@dataclass(frozen=True)
class _BarLayout:
    """Where things go: label column, then the plot, then room for the longest value text."""

    plot_x: float
    plot_width: float
    label_width: float
    top: float
    row_height: float
    bar_height: float
    scale_max: float

    def x_of(self, value: float) -> float:
        return self.plot_x + self.length_of(value)

    def length_of(self, value: float) -> float:
        # Negative values have no bar to draw; their number is still printed.
        return max(value, 0.0) / self.scale_max * self.plot_width


def _bar_layout(bars: Sequence[Bar], value_texts: Sequence[str], *, width: int, bar_height: int,
                target: float | None) -> _BarLayout:
    values = [v for v in (_finite(bar.value) for bar in bars) if v is not None]
    if target is not None:
        values.append(target)
    scale_max = nice_ceiling(max(values, default=0.0))

    label_width = min(max(text_width(bar.label) for bar in bars) + TEXT_GAP, width * MAX_LABEL_SHARE)
    value_width = max(text_width(text) for text in value_texts) + TEXT_GAP + EDGE_PAD
    plot_width = max(width - label_width - value_width, MIN_PLOT_WIDTH)
    top = TARGET_LABEL_SPACE if target is not None else EDGE_PAD
    return _BarLayout(plot_x=label_width, plot_width=plot_width, label_width=label_width, top=top,
                      row_height=bar_height + ROW_GAP, bar_height=bar_height, scale_max=scale_max)


def _bar_row(bar: Bar, value_text: str, row_top: float, layout: _BarLayout) -> str:
    middle = row_top + layout.bar_height / 2
    label = fit_text(bar.label, layout.label_width - TEXT_GAP)
    parts = [_tooltip(f"{bar.label}：{value_text}"),
             _text(0, middle, label, "chart-label")]

    value = _finite(bar.value)
    value_x = layout.plot_x + EDGE_PAD
    if value is not None:
        length = layout.length_of(value)
        parts.append(_rect(layout.plot_x, row_top, length, layout.bar_height,
                           "chart-bar alert" if bar.alert else "chart-bar"))
        value_x = layout.plot_x + length + EDGE_PAD
    value_class = "chart-value alert" if bar.alert and value is not None else "chart-value"
    parts.append(_text(value_x, middle, value_text, value_class))
    return _linked(bar.href, _tag("g", {"class": "chart-row"}, "".join(parts)))


def _target_line(target: float, target_label: str, layout: _BarLayout, bottom: float) -> str:
    x = layout.x_of(target)
    line = _tag("line", {"x1": _coord(x), "y1": _coord(layout.top - 4), "x2": _coord(x),
                         "y2": _coord(bottom), "class": "chart-target"})
    if not target_label:
        return line
    # Put the caption on the side with more room so it is not cut off at either edge.
    on_right_half = x > layout.plot_x + layout.plot_width / 2
    anchor = "end" if on_right_half else "start"
    label_x = x - 3 if on_right_half else x + 3
    caption = _text(label_x, layout.top - 7, target_label, "chart-target-label",
                    anchor=anchor, centred=False)
    return line + caption


def _bar_summary(bars: Sequence[Bar], value_texts: Sequence[str]) -> str:
    return "、".join(f"{bar.label} {text}" for bar, text in zip(bars, value_texts))


def bar_chart(bars: Sequence[Bar], *, unit: str = "", target: float | None = None,
              target_label: str = "", width: int = 560, bar_height: int = 22,
              title: str = "") -> Markup:
    """A horizontal bar chart: labels on the left, each bar's value printed at its end.

    `target` draws a dashed vertical line at that value, captioned `target_label`. The scale
    runs from 0 to max(values, target) rounded up to 1, 2 or 5 × 10^n.
    """
    if not bars:
        return _empty_chart(width, title)
    target = _finite(target)
    value_texts = [format_number(_finite(bar.value), unit) for bar in bars]
    layout = _bar_layout(bars, value_texts, width=width, bar_height=bar_height, target=target)

    rows = [_bar_row(bar, text, layout.top + index * layout.row_height, layout)
            for index, (bar, text) in enumerate(zip(bars, value_texts))]
    bottom = layout.top + len(bars) * layout.row_height - ROW_GAP
    if target is not None:
        rows.append(_target_line(target, target_label, layout, bottom + 2))
    return _svg(width, bottom + EDGE_PAD, title or _bar_summary(bars, value_texts), rows)


# --- stacked bar ----------------------------------------------------------------------------

def _segment_class(segment: Segment) -> str:
    # The class goes into an attribute: a space would smuggle in other classes.
    if not CSS_CLASS.match(segment.css_class):
        raise ValueError(f"segment css_class must be lower-case letters, digits, - or _: "
                         f"{segment.css_class!r}")
    return f"seg-{segment.css_class}"


def _segment_spans(segments: Sequence[Segment], width: float) -> list[tuple[Segment, float, float]]:
    """(segment, x, width) for each segment with something to show.

    Edges are placed from the running total, so rounding never leaves a gap or an overhang:
    the widths always add up to the full bar.
    """
    amounts = [max(_finite(s.value) or 0.0, 0.0) for s in segments]
    total = sum(amounts)
    if total <= 0:
        return []
    spans = []
    running = 0.0
    for segment, amount in zip(segments, amounts):
        if amount <= 0:
            continue
        start = round(running / total * width, 2)
        running += amount
        end = round(running / total * width, 2)
        spans.append((segment, start, end - start))
    return spans


def _legend(segments: Sequence[Segment], width: float, top: float) -> tuple[list[str], float]:
    """Legend items flowing left to right, wrapping to a new row; returns (items, bottom)."""
    items = []
    x, row_top = 0.0, top
    for segment in segments:
        value_text = format_number(_finite(segment.value))
        item_width = SWATCH + TEXT_GAP + text_width(f"{segment.label} {value_text}")
        if x > 0 and x + item_width > width:
            x, row_top = 0.0, row_top + LEGEND_ROW
        middle = row_top + SWATCH / 2
        swatch = _rect(x, row_top, SWATCH, SWATCH, f"chart-swatch {_segment_class(segment)}")
        # The value is a tspan inside the label's text, so the two can never overlap.
        value = Markup(_tag("tspan", {"class": "chart-value"}, str(escape(value_text))))
        label = _text(x + SWATCH + TEXT_GAP, middle, escape(f"{segment.label} ") + value,
                      "chart-label")
        item = _tag("g", {"class": "chart-legend-item"}, swatch + label)
        items.append(_linked(segment.href, item))
        x += item_width + LEGEND_ITEM_GAP
    return items, row_top + SWATCH


def stacked_bar(segments: Sequence[Segment], *, width: int = 560, title: str = "") -> Markup:
    """One horizontal bar split into segments, with a legend of every label and value beneath.

    Segments of zero take no room in the bar but stay in the legend, so "劝返中 0" is still said.
    """
    if not segments:
        return _empty_chart(width, title)
    parts = [_rect(0, 0, width, STACK_HEIGHT, "chart-track")]
    for segment, x, span in _segment_spans(segments, width):
        value_text = format_number(_finite(segment.value))
        rect = _rect(x, 0, span, STACK_HEIGHT, f"chart-seg {_segment_class(segment)}")
        body = _tooltip(f"{segment.label}：{value_text}") + rect
        parts.append(_linked(segment.href, _tag("g", {"class": "chart-seg-group"}, body)))
    legend, bottom = _legend(segments, width, STACK_HEIGHT + ROW_GAP + 2)
    parts.extend(legend)

    summary = "、".join(f"{s.label} {format_number(_finite(s.value))}" for s in segments)
    return _svg(width, bottom + EDGE_PAD, title or summary, parts)
