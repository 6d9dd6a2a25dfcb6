from __future__ import annotations

import dataclasses
import math
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from lostbeat.analyzer.result import AnalysisResult, History
from lostbeat.errors import LostbeatError
from lostbeat.report.html import render_html, write_html
from lostbeat.report.plots import MAX_CONSUMERS, memory_plots


class _Tags(HTMLParser):
    """Every start tag with its attributes, as a browser's tokenizer sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _tags(page: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(page)
    parser.close()
    return parser.tags


def test_hostile_strings_are_escaped(hostile: AnalysisResult, hostile_text: str) -> None:
    page = render_html(hostile)
    tags = _tags(page)
    assert "script" not in {tag for tag, _ in tags}
    assert not any(name.startswith("on") for _, attrs in tags for name in attrs)
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert page.count("&lt;script&gt;") >= 10  # host, process, finding, evidence, action, ...
    assert "\x1b" not in page and "\u202e" not in page
    assert hostile_text not in page


def test_plot_svg_carries_no_bundle_text(hostile: AnalysisResult) -> None:
    plots = memory_plots(hostile)
    assert [p.key for p in plots] == ["plot-consumer-1", "plot-swap"]
    for plot in plots:
        assert "script" not in plot.svg.lower()
        assert "frac" not in plot.svg and "alert" not in plot.svg
        assert "<!--" not in plot.svg and "<?xml" not in plot.svg
    assert "<script>" in plots[0].caption  # raw here: the template escapes captions


def test_self_contained_no_remote_resources(any_result: AnalysisResult) -> None:
    page = render_html(any_result)
    for tag, attrs in _tags(page):
        for name in ("src", "href", "xlink:href", "action", "data", "poster"):
            value = attrs.get(name)
            if value is not None:
                assert value.startswith("#"), (tag, name, value)
    assert not re.search(r"https?://", page)
    assert "@import" not in page
    assert all(ref.startswith("#") for ref in re.findall(r"url\(\s*['\"]?([^)'\"]*)", page))
    assert "<link" not in page and "<script" not in page and "<iframe" not in page


def test_page_has_verdict_evidence_plan_and_plots_in_order(leak: AnalysisResult) -> None:
    page = render_html(leak)
    marks = [
        page.index('<section id="verdict">'),
        page.index("memory leak in VMap [VMware component], confidence 90 %"),
        page.index('<section id="evidence">'),
        page.index("var/log/vmksummary:8072"),
        page.index('<section id="plan">'),
        page.index("(KB 1006797)"),
        page.index('<section id="memory">'),
        page.index('<figure id="plot-consumer-1">'),
        page.index('<figure id="plot-swap">'),
    ]
    assert marks == sorted(marks)
    assert "541 MB of 541 MB used (100 %)" in page
    assert "VMap: 572 MB of the Service Console&#39;s 780 MB (73 %)" in page
    assert page.count("<svg") == 4
    assert "dashed: the leak&#39;s projected line to exhaustion" in page


def test_projection_is_drawn_dashed_on_the_culprits_plot(leak: AnalysisResult) -> None:
    plots = memory_plots(leak)
    culprit, others = plots[0], plots[1:3]
    assert "stroke-dasharray" in culprit.svg
    assert culprit.caption.startswith("VMap: peak 572 MB")
    assert all("projected" not in p.caption for p in others)


def test_projection_without_its_process_gets_a_plot_of_its_own(leak: AnalysisResult) -> None:
    history = dataclasses.replace(leak.history, consumers=leak.history.consumers[1:])
    plots = memory_plots(dataclasses.replace(leak, history=history))
    assert [p.key for p in plots] == [
        "plot-consumer-1",
        "plot-consumer-2",
        "plot-projection",
        "plot-swap",
    ]


def test_no_history_gives_a_sentence_not_plots(empty: AnalysisResult) -> None:
    page = render_html(empty)
    assert "<svg" not in page
    assert "No memory history was found in the inputs, so there is nothing to plot." in page
    assert "No findings: no rule found anything to report." in page
    assert "<title>lostbeat: unknown host</title>" in page


def test_series_without_points_are_left_out(leak: AnalysisResult) -> None:
    consumers = (dataclasses.replace(leak.history.consumers[0], points=()),)
    result = dataclasses.replace(leak, history=History(consumers=consumers))
    assert memory_plots(result) == ()


def test_month_of_hourly_data_stays_small(month: AnalysisResult) -> None:
    page = render_html(month)
    assert page.count("<svg") == MAX_CONSUMERS + 1
    assert "2 more consumer(s) not plotted" in page
    assert len(page.encode()) < 1_500_000, len(page.encode())


def test_output_is_deterministic(leak: AnalysisResult) -> None:
    assert render_html(leak) == render_html(leak)


def test_write_html_writes_utf8(tmp_path: Path, hostile: AnalysisResult) -> None:
    out = tmp_path / "report.html"
    write_html(hostile, out)
    assert out.read_text(encoding="utf-8") == render_html(hostile)


def test_write_html_error_names_the_file(tmp_path: Path, leak: AnalysisResult) -> None:
    target = tmp_path / "missing-dir" / "report.html"
    with pytest.raises(
        LostbeatError, match=r"missing-dir/report\.html: cannot write the HTML report"
    ):
        write_html(leak, target)


def test_series_break_at_gaps_and_boots() -> None:
    from lostbeat.report.plots import _broken

    hour = 3600.0
    points = [(0.0, 1.0), (hour, 2.0), (2 * hour, 3.0), (5 * hour, 4.0), (7 * hour, 5.0)]
    points += [(8 * hour, 6.0), (9 * hour, 7.0)]
    _, ys = _broken(points, boots=[8.5 * hour], max_gap=1.5 * hour)
    shown = ["gap" if math.isnan(y) else y for y in ys]
    assert shown == [1.0, 2.0, 3.0, "gap", 4.0, "gap", 5.0, 6.0, "gap", 7.0]


def test_a_gappy_series_still_plots(leak: AnalysisResult) -> None:
    series = leak.history.consumers[0]
    gappy = dataclasses.replace(series, points=series.points[::3])  # every third hour
    history = dataclasses.replace(leak.history, consumers=(gappy,))
    plots = memory_plots(dataclasses.replace(leak, history=history))
    assert plots[0].key == "plot-consumer-1" and "<path" in plots[0].svg
