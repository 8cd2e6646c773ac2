"""Server-drawn SVG charts: well-formed, to scale, escaped, linkable, and free of inline styles."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from markupsafe import Markup

from baoxue.platform.charts import (
    Bar, Segment, bar_chart, format_number, nice_ceiling, stacked_bar,
)

NS = {"svg": "http://www.w3.org/2000/svg"}
SVG = "{http://www.w3.org/2000/svg}"


def parse(markup: Markup) -> ET.Element:
    """The chart as XML; ElementTree refuses anything that is not well-formed."""
    assert isinstance(markup, Markup)
    return ET.fromstring(str(markup))


def classes(element: ET.Element) -> set[str]:
    return set(element.get("class", "").split())


def with_class(root: ET.Element, name: str, tag: str = "*") -> list[ET.Element]:
    return [el for el in root.iter(f"{SVG}{tag}" if tag != "*" else tag) if name in classes(el)]


def bars_of(root: ET.Element) -> list[ET.Element]:
    return with_class(root, "chart-bar", "rect")


def all_text(root: ET.Element) -> list[str]:
    return ["".join(el.itertext()) for el in root.iter(f"{SVG}text")]


def width(element: ET.Element) -> float:
    return float(element.get("width", "nan"))


# --- numbers -------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    (0, 1), (-3, 1), (0.2, 0.2), (0.3, 0.5), (1, 1), (1.01, 2), (2, 2), (2.5, 5), (7, 10),
    (10, 10), (11, 20), (0.07, 0.1), (480, 500), (999, 1000), (float("nan"), 1),
])
def test_nice_ceiling_rounds_up_to_1_2_5(value: float, expected: float) -> None:
    assert nice_ceiling(value) == pytest.approx(expected)


@pytest.mark.parametrize(("value", "unit", "expected"), [
    (3, "", "3"), (3.0, "人", "3人"), (1.25, "%", "1.25%"), (1.5, "%", "1.5%"),
    (2.0 / 3, "", "0.67"), (None, "%", "—"), (-0.001, "", "0"), (float("nan"), "", "—"),
])
def test_format_number(value: float | None, unit: str, expected: str) -> None:
    assert format_number(value, unit) == expected


# --- bar chart -------------------------------------------------------------------------------

def test_bar_chart_is_a_scalable_accessible_svg() -> None:
    root = parse(bar_chart([Bar("板当村", 3), Bar("摆龙村", 5)], title="各村辍学人数"))
    assert root.tag == f"{SVG}svg"
    assert root.get("width") == "100%"
    assert root.get("preserveAspectRatio") == "xMinYMin meet"
    assert root.get("role") == "img"
    assert root.get("aria-label") == "各村辍学人数"
    x, y, w, h = (float(part) for part in root.get("viewBox", "").split())
    assert (x, y, w) == (0, 0, 560) and h > 0
    assert "板当村" in all_text(root) and "5" in all_text(root)


def test_without_a_title_the_aria_label_summarises_the_data() -> None:
    root = parse(bar_chart([Bar("板当村", 3), Bar("摆龙村", None)]))
    label = root.get("aria-label", "")
    assert "板当村" in label and "3" in label and "摆龙村" in label


def test_bar_widths_are_proportional_and_the_largest_value_is_the_longest() -> None:
    values = [4, 10, 1, 7.5]
    root = parse(bar_chart([Bar(f"村{i}", v) for i, v in enumerate(values)]))
    rects = bars_of(root)
    assert len(rects) == len(values)
    widths = [width(r) for r in rects]
    assert widths.index(max(widths)) == values.index(max(values))
    per_unit = widths[1] / 10
    assert per_unit > 0
    for w, v in zip(widths, values):
        assert w == pytest.approx(v * per_unit, abs=0.02)
    # All bars start at the same x: the label column is shared.
    assert len({r.get("x") for r in rects}) == 1


def test_scale_ends_on_a_nice_number_above_the_largest_value() -> None:
    # 30 on a scale of 50: the bar is 60% of the widest possible bar, not 100%.
    root = parse(bar_chart([Bar("a", 30), Bar("b", 50)]))
    a, b = (width(r) for r in bars_of(root))
    assert a / b == pytest.approx(0.6, abs=0.001)
    root = parse(bar_chart([Bar("a", 30)]))
    only = parse(bar_chart([Bar("a", 50)]))
    assert width(bars_of(root)[0]) / width(bars_of(only)[0]) == pytest.approx(0.6, abs=0.001)


def test_values_print_with_their_unit_at_the_end_of_the_bar() -> None:
    root = parse(bar_chart([Bar("a", 1.25), Bar("b", 2)], unit="%"))
    values = with_class(root, "chart-value", "text")
    assert ["".join(v.itertext()) for v in values] == ["1.25%", "2%"]
    for rect, value in zip(bars_of(root), values):
        assert float(value.get("x", "nan")) >= float(rect.get("x", "nan")) + width(rect)


def test_none_draws_no_bar_and_prints_a_dash() -> None:
    root = parse(bar_chart([Bar("有数", 3), Bar("无数", None), Bar("也有", 2)]))
    assert len(bars_of(root)) == 2
    rows = with_class(root, "chart-row", "g")
    missing = rows[1]
    assert missing.find("svg:rect", NS) is None
    assert [t for t in all_text(missing) if t in ("—", "0")] == ["—"]


def test_target_line_sits_at_the_target_on_the_scale() -> None:
    root = parse(bar_chart([Bar("a", 1.0), Bar("b", 1.5)], unit="%", target=2,
                           target_label="控制线 2%"))
    line = with_class(root, "chart-target", "line")
    assert len(line) == 1
    rect = bars_of(root)[0]  # value 1.0 on a scale that ends at 2 (the target): half the plot
    expected_x = float(rect.get("x", "nan")) + width(rect) * 2 / 1.0
    assert float(line[0].get("x1", "nan")) == pytest.approx(expected_x, abs=0.02)
    assert line[0].get("x1") == line[0].get("x2")
    assert "控制线 2%" in all_text(root)


def test_a_target_above_every_value_stretches_the_scale() -> None:
    plain = parse(bar_chart([Bar("a", 1)]))
    with_target = parse(bar_chart([Bar("a", 1)], target=4))
    # Scale 1 without the target, 5 with it.
    assert width(bars_of(plain)[0]) / width(bars_of(with_target)[0]) == pytest.approx(5, rel=0.01)


def test_labels_are_escaped() -> None:
    out = str(bar_chart([Bar("<script>x</script>", 1)]))
    assert "<script>" not in out
    assert "&lt;script&gt;x&lt;/script&gt;" in out
    root = parse(Markup(out))
    assert "<script>x</script>" in all_text(root)  # the text reads as typed
    assert root.find(".//svg:script", NS) is None


def test_quotes_in_an_href_and_a_title_cannot_break_out_of_the_attribute() -> None:
    out = bar_chart([Bar("a", 1, href='/x?q="><script>')], title='"onload="x')
    root = parse(out)
    link = root.find(".//svg:a", NS)
    assert link is not None and link.get("href") == '/x?q="><script>'
    assert root.get("aria-label") == '"onload="x' and root.get("onload") is None


def test_href_wraps_the_bar_and_its_label_in_a_link() -> None:
    root = parse(bar_chart([Bar("板当村", 3, href="/cases?village=7"), Bar("摆龙村", 2)]))
    links = root.findall(".//svg:a", NS)
    assert len(links) == 1
    assert links[0].get("href") == "/cases?village=7"
    assert len(bars_of(links[0])) == 1
    assert "板当村" in all_text(links[0]) and "摆龙村" not in all_text(links[0])


def test_alert_bars_carry_the_alert_class() -> None:
    root = parse(bar_chart([Bar("a", 1), Bar("b", 3, alert=True)], target=2))
    normal, alerted = bars_of(root)
    assert "alert" not in classes(normal)
    assert classes(alerted) == {"chart-bar", "alert"}


@pytest.mark.parametrize("bars", [
    [Bar("a", 0), Bar("b", 0)],
    [Bar("a", None)],
    [Bar("a", 0)],
    [Bar("负", -2), Bar("正", 1)],
])
def test_degenerate_data_renders_without_dividing_by_zero(bars: list[Bar]) -> None:
    root = parse(bar_chart(bars, target=0))
    for rect in bars_of(root):
        assert width(rect) >= 0


def test_empty_data_renders_a_short_notice() -> None:
    root = parse(bar_chart([]))
    assert all_text(root) == ["暂无数据"]
    assert root.get("role") == "img" and root.get("aria-label")
    assert bars_of(root) == []


def test_a_very_long_label_is_cut_and_does_not_take_the_whole_width() -> None:
    long_name = "某某县某某镇某某村某某组某某某某某某某某某某某某某某某某某某"
    root = parse(bar_chart([Bar(long_name, 1)]))
    label = "".join(with_class(root, "chart-label", "text")[0].itertext())
    assert label.endswith("…") and len(label) < len(long_name)
    assert float(bars_of(root)[0].get("x", "nan")) <= 560 * 0.4
    assert long_name in root.find(".//svg:title", NS).text  # the full name is still there


def test_no_inline_style_anywhere() -> None:
    outputs = [
        bar_chart([Bar("a", 1, href="/a", alert=True), Bar("b", None)], target=1, target_label="t"),
        bar_chart([]),
        stacked_bar([Segment("a", 1, "identified", href="/a"), Segment("b", 0, "other")]),
        stacked_bar([]),
    ]
    for out in outputs:
        assert "style=" not in str(out)
        for element in parse(out).iter():
            assert "style" not in element.attrib
            assert "fill" not in element.attrib  # colours come from the classes


# --- stacked bar -------------------------------------------------------------------------------

STAGES = [
    Segment("摸排发现", 5, "identified", href="/cases?stage=identified"),
    Segment("已上报", 3, "reported"),
    Segment("劝返中", 0, "persuading"),
    Segment("依法控辍", 1, "enforcing"),
    Segment("其他", 2, "other"),
]


def segments_of(root: ET.Element) -> list[ET.Element]:
    return with_class(root, "chart-seg", "rect")


def test_stacked_segments_fill_the_bar_exactly() -> None:
    root = parse(stacked_bar(STAGES, width=333))
    rects = segments_of(root)
    assert sum(width(r) for r in rects) == pytest.approx(333, abs=1)
    # Contiguous: each segment starts where the previous one ends.
    edge = 0.0
    for rect in rects:
        assert float(rect.get("x", "nan")) == pytest.approx(edge, abs=0.01)
        edge += width(rect)


def test_stacked_segment_widths_follow_their_values() -> None:
    root = parse(stacked_bar(STAGES, width=550))
    widths = {next(c for c in classes(r) if c.startswith("seg-")): width(r) for r in segments_of(root)}
    assert widths["seg-identified"] == pytest.approx(550 * 5 / 11, abs=0.02)
    assert widths["seg-other"] == pytest.approx(550 * 2 / 11, abs=0.02)


def test_zero_segments_leave_the_bar_but_stay_in_the_legend() -> None:
    root = parse(stacked_bar(STAGES))
    in_bar = {c for r in segments_of(root) for c in classes(r)}
    assert "seg-persuading" not in in_bar
    assert {"seg-identified", "seg-reported", "seg-enforcing", "seg-other"} <= in_bar
    legend = with_class(root, "chart-legend-item", "g")
    assert len(legend) == len(STAGES)
    assert "劝返中 0" in [t for item in legend for t in all_text(item)]
    assert with_class(root, "seg-persuading", "rect")[0] in legend[2].iter()


def test_stacked_links_and_escaping() -> None:
    root = parse(stacked_bar([Segment("<b>x</b>", 2, "identified", href="/a?x=1&y=2"),
                              Segment("b", 1, "other")]))
    links = root.findall(".//svg:a", NS)
    assert links and all(link.get("href") == "/a?x=1&y=2" for link in links)
    assert "<b>x</b> 2" in all_text(root)
    assert root.find(".//svg:b", NS) is None


def test_stacked_bar_with_nothing_to_show() -> None:
    root = parse(stacked_bar([Segment("a", 0, "identified"), Segment("b", 0, "other")]))
    assert segments_of(root) == []
    assert len(with_class(root, "chart-legend-item", "g")) == 2
    assert all_text(parse(stacked_bar([]))) == ["暂无数据"]


def test_a_css_class_cannot_smuggle_in_other_classes() -> None:
    with pytest.raises(ValueError):
        stacked_bar([Segment("a", 1, 'x" onclick="y')])


def test_the_stylesheet_colours_every_class_the_charts_use() -> None:
    from pathlib import Path

    css = (Path(__file__).parents[2] / "platform" / "static" / "app.css").read_text(encoding="utf-8")
    for name in ("chart-bar", "chart-bar.alert", "chart-target", "chart-label", "chart-value",
                 "seg-identified", "seg-reported", "seg-persuading", "seg-enforcing", "seg-other"):
        assert f"svg.chart .{name}" in css
