#!/usr/bin/env python3
"""Render an HTML report and photograph it in headless Chromium (docs/img/report-example.png).

Usage:
    .venv/bin/python scripts/screenshot_report.py                      # the documented example
    .venv/bin/python scripts/screenshot_report.py --json analysis.json --out shot.png

The page is opened offline from a file:// URL in Debian's chromium (/usr/bin/chromium),
driven by Playwright; console errors fail the run.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from lostbeat.errors import LostbeatError
from lostbeat.report.example import example_result
from lostbeat.report.html import write_html
from lostbeat.report.jsonout import loads

ROOT = Path(__file__).resolve().parent.parent
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="a lostbeat.analysis/2 document to show")
    parser.add_argument("--out", type=Path, default=ROOT / "docs/img/report-example.png")
    parser.add_argument("--html", type=Path, help="also keep the HTML page here")
    parser.add_argument("--width", type=int, default=1100)
    args = parser.parse_args()
    if not CHROMIUM.exists():
        print(
            f"screenshot_report: {CHROMIUM} not found (scripts/setup-system installs it)",
            file=sys.stderr,
        )
        return 2
    try:
        result = (
            loads(args.json.read_text(), path=str(args.json)) if args.json else example_result()
        )
    except (OSError, LostbeatError) as err:
        print(f"screenshot_report: {err}", file=sys.stderr)
        return 2

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        page_path = args.html or Path(tmp) / "report.html"
        write_html(result, page_path)
        errors: list[str] = []
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            page = browser.new_page(viewport={"width": args.width, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(page_path.resolve().as_uri(), wait_until="load")
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.out), full_page=True)
            browser.close()
    if errors:
        print("screenshot_report: the page logged errors: " + "; ".join(errors), file=sys.stderr)
        return 1
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
