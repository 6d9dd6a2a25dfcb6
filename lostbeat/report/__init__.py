"""Reports: views of an AnalysisResult, which is all they read.

- :mod:`lostbeat.report.terminal` - the rich terminal report and the reading progress bar.
- :mod:`lostbeat.report.jsonout` - the versioned JSON document ``lostbeat.analysis/2``.
- :mod:`lostbeat.report.html` - the self-contained HTML page, with :mod:`.plots` (SVG).

Nothing is imported here, so the terminal report starts without jinja2 or matplotlib.
"""

from __future__ import annotations
