"""The recorder: samples every process's memory into a recording, and writes the hourly
ESX-format ``vmksummary`` line (``lostbeat record``).

``sampler`` makes snapshots (reading ``/proc`` through :mod:`lostbeat.procfs`);
``summary`` and ``summary_log`` the hourly line; ``daemon`` the loop.
"""

from __future__ import annotations
