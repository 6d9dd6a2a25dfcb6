"""The recording: what ``lostbeat record`` writes and the analyzer reads.

``schema`` holds the values, ``codec``/``reader``/``writer`` the line format, ``store`` the
directory of daily shards in three tiers, ``downsample`` the minute and hour aggregates,
``replay`` the table at a moment, ``marker`` the file that makes a directory a recording.
"""

from __future__ import annotations
