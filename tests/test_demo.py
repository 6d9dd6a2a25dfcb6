"""``make demo``'s command: the built-in example read whole and its verdict the article's."""

from __future__ import annotations

import json
import subprocess
import sys


def test_the_demo_reads_every_file_and_names_the_leak() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "lostbeat", "demo", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    doc = json.loads(done.stdout)
    broken = [i for i in doc["inputs"] if i.get("status") == "broken"]
    assert broken == [], broken
    assert doc["crash"]["type"] == "lost_heartbeat"
    assert (doc["root_cause"]["kind"], doc["root_cause"]["process"]) == ("leak", "VMap")
