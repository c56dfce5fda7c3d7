"""The SVG charts: well-formed, labelled for screen readers, escaped, with
gaps for days without data."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from reviewapp.charts import (
    Marker,
    Series,
    as_percent,
    bar_chart,
    line_chart,
    nice_ticks,
)

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own markup, not untrusted input


def test_nice_ticks_reach_the_top_in_round_steps() -> None:
    assert nice_ticks(1.0) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(37) == [0.0, 10.0, 20.0, 30.0, 40.0]
    assert nice_ticks(0) == [0.0, 1.0]


def test_a_line_chart_is_named_described_and_has_a_point_per_value() -> None:
    svg = parse(
        line_chart(
            title="Straight-through rate",
            description="Share approved with no human edit, per day",
            x_labels=["1 Jan", "2 Jan", "3 Jan"],
            series=[Series("All", [0.5, None, 1.0]), Series("<b>", [0.1, 0.2, 0.3])],
            y_format=as_percent,
            y_max=1.0,
            marker=Marker(1, "now"),
        )
    )
    assert svg.get("role") == "img"
    assert svg.find(f"{SVG}title").text == "Straight-through rate"
    labelled_by = svg.get("aria-labelledby").split()
    assert {element.get("id") for element in svg.iter() if element.get("id")} == set(
        labelled_by
    )
    point_titles = [t.text for t in svg.iter(f"{SVG}title")][1:]
    assert "All, 3 Jan: 100 %" in point_titles
    assert "<b>, 1 Jan: 10 %" in point_titles  # escaped in the markup, intact here
    # The gap on 2 Jan splits "All" into two runs of one point each.
    all_series = next(g for g in svg.iter(f"{SVG}g") if g.get("data-series") == "All")
    assert len(all_series.findall(f"{SVG}polyline")) == 2
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert "100 %" in texts and "now" in texts and "<b>" in texts  # legend


def test_a_bar_chart_labels_each_bar_with_its_value_and_says_when_empty() -> None:
    svg = parse(
        bar_chart(
            title="Exceptions by reason",
            description="Documents per reason",
            bars=[("Duplicate", 3), ("Low confidence", 12)],
            colours=["#111111", "#222222"],
        )
    )
    rects = svg.findall(f".//{SVG}rect")
    assert [r.get("fill") for r in rects] == ["#111111", "#222222"]
    assert float(rects[1].get("width")) > float(rects[0].get("width"))
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert "Duplicate" in texts and "12" in texts
    empty = parse(bar_chart(title="Nothing", description="none", bars=[]))
    assert "No data in this range" in [t.text for t in empty.iter(f"{SVG}text")]
