"""The recorder: samples every process's memory into a recording, and writes the hourly
ESX-format ``vmksummary`` line (``lostbeat record``).

``_procfs`` is the only module that reads ``/proc``; ``sampler`` makes snapshots;
``summary`` and ``summary_log`` the hourly line; ``daemon`` the loop.
"""

from __future__ import annotations
