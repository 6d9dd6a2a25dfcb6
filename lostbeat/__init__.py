"""lostbeat: find out why a host lost its heartbeat, and keep it from happening again."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
