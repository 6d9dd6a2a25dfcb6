"""The HTML report in a real headless Chromium (Debian's), offline, driven by Playwright."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lostbeat.analyzer.result import AnalysisResult
from lostbeat.report.html import write_html

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Per plot: its size on the page, and how many of its paths have a non-empty box.
_PLOT_GEOMETRY = """() => Array.from(document.querySelectorAll('figure svg')).map(svg => {
  const box = svg.getBoundingClientRect();
  const drawn = Array.from(svg.querySelectorAll('path')).filter(p => {
    const b = p.getBBox(); return b.width > 0 || b.height > 0; }).length;
  return {id: svg.closest('figure').id, width: box.width, height: box.height, drawn: drawn};
})"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} not found: install Debian's chromium (scripts/setup-system)"
        print(f"SKIP: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


def _open(browser: Any, result: AnalysisResult, out: Path) -> tuple[Any, dict[str, list[str]]]:
    write_html(result, out / "report.html")
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    seen: dict[str, list[str]] = {"console": [], "errors": [], "dialogs": [], "requests": []}
    page.on("console", lambda m: seen["console"].append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))

    def on_dialog(dialog: Any) -> None:
        seen["dialogs"].append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("request", lambda r: seen["requests"].append(r.url))
    page.goto((out / "report.html").as_uri(), wait_until="load")
    return page, seen


def _screenshot(page: Any, tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    shots = tmp_path_factory.getbasetemp() / "report-screenshots"
    shots.mkdir(exist_ok=True)
    path = shots / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    assert path.stat().st_size > 10_000
    return path


@pytest.mark.parametrize("case", ["leak", "month", "no_crash"])
def test_report_renders_with_plots_drawn(
    browser: Any,
    case: str,
    request: pytest.FixtureRequest,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    result: AnalysisResult = request.getfixturevalue(case)
    page, seen = _open(browser, result, tmp_path)
    try:
        assert not [m for m in seen["console"] if m.startswith(("error", "warning"))], seen
        assert not seen["errors"], seen["errors"]
        assert seen["requests"] == [(tmp_path / "report.html").as_uri()]
        plots = page.evaluate(_PLOT_GEOMETRY)
        assert plots, "no plot on the page"
        for plot in plots:
            assert plot["width"] > 300 and plot["height"] > 80, plot
            assert plot["drawn"] >= 5, plot  # lines, axes, ticks, glyphs
        ids = [p["id"] for p in plots]
        assert ids[-1] == "plot-swap" and ids[0] == "plot-consumer-1"
        assert page.inner_text("#verdict").index("Crash") < page.inner_text("body").index("Plan")
        _screenshot(page, tmp_path_factory, case)
    finally:
        page.close()


def test_hostile_page_runs_nothing(
    browser: Any, hostile: AnalysisResult, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    page, seen = _open(browser, hostile, tmp_path)
    try:
        assert page.evaluate("document.scripts.length") == 0
        assert page.evaluate("document.querySelectorAll('img, iframe, object, embed').length") == 0
        assert not seen["dialogs"] and not seen["errors"]
        assert not [m for m in seen["console"] if m.startswith("error")], seen["console"]
        assert '<script>alert("x")</script>' in page.inner_text("#evidence")
        assert page.title().startswith('lostbeat: <script>alert("x")</script>')
        _screenshot(page, tmp_path_factory, "hostile")
    finally:
        page.close()


def test_empty_page_renders_a_sentence_instead_of_plots(
    browser: Any, empty: AnalysisResult, tmp_path: Path
) -> None:
    page, seen = _open(browser, empty, tmp_path)
    try:
        assert page.evaluate(_PLOT_GEOMETRY) == []
        assert "nothing to plot" in page.inner_text("#memory")
        assert not seen["errors"] and not seen["console"]
    finally:
        page.close()
