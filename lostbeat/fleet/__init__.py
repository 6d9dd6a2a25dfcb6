"""Many bundles or hosts at once: discover incidents, analyse them in parallel (a local
process pool or a Dask cluster), store the results in SQLite and roll them up across hosts.

Modules: :mod:`~lostbeat.fleet.discover` (what is an incident), :mod:`~lostbeat.fleet.runner`
(the two parallel paths), :mod:`~lostbeat.fleet.model` (what a worker returns),
:mod:`~lostbeat.fleet.store` (SQLite), :mod:`~lostbeat.fleet.rollup` (aggregation) and
:mod:`~lostbeat.fleet.summary` (terminal and JSON). See docs/fleet.md.
"""

from __future__ import annotations

__all__ = ["DEFAULT_DB"]

DEFAULT_DB = "lostbeat-fleet.sqlite"
"""The database ``lostbeat fleet`` writes when ``--db`` is not given, in the current folder."""
