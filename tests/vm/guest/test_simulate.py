"""``lostbeat simulate`` on cgroup v2: each scenario hangs its group at memory.max (every task
protected from the OOM killer), the heartbeat is declared lost and captured, the analysis
runs, and nothing is left.

The verdict is checked for ``leak``. Under TCG on a loaded machine the other scenarios'
timings stretch (a program takes seconds to start, the recorder's samples come late) and
their verdicts were seen to go wrong in some runs (contention read as a leak of
``churner``); their verdicts are checked on real hardware by benchmarks/simulate.py. Here
each run's verdict is kept with its log (``simulate-<scenario>.log`` in the artifacts).

``third-party`` may end without a loss on v2: stress-ng makes its worker the OOM killer's
first choice (oom_score_adj 1000) and starts a new one when it is killed (VERIFIED in this
guest, ``stress-ng -v``: "assuming killed by OOM killer, restarting again"); simulate sets
its score back to -1000 every 0.2 s, and then no worker was killed (``oom_kill 0``), yet the
heartbeat kept getting a page now and then for 40 to 90 s, once past the run's 119 s budget
(why is not verified). Such a run must still say so and leave nothing behind.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from helpers import CGROUP, keep, lostbeat

from lostbeat.simulate.children import find_marked

MIB = 1 << 20


def _state() -> tuple[set[str], str]:
    groups = {p.name for p in CGROUP.iterdir() if p.name.startswith("lostbeat-sim-")}
    return groups, (CGROUP / "cgroup.subtree_control").read_text()


@pytest.mark.parametrize("scenario", ["leak", "spike", "contention", "third-party"])
def test_each_scenario_on_cgroup_v2_and_nothing_left(scenario: str, tmp_path: Path) -> None:
    groups, controls = _state()
    run_dir = tmp_path / "run"
    status, out, err = lostbeat("simulate", "--scenario", scenario, "--ram", "128M",
                                "--timeout", "5", "--keep", str(run_dir), "--json")  # fmt: skip
    keep(f"simulate-{scenario}.log", err)
    if status == 2 and scenario == "third-party" and "no lost heartbeat within" in err:
        assert _state() == (groups, controls), err  # nothing left, even so
        assert find_marked(f"lostbeat-sim-{os.getpid()}") == []  # simulate runs in this process
        return
    assert status in (0, 1), err  # 2: the run itself failed
    assert status == 0 or scenario != "leak", err
    run = json.loads((run_dir / "simulation.json").read_text())
    keep(f"simulate-{scenario}.json", json.dumps(run, indent=1))
    assert (run["version"], run["failure"], run["limit_bytes"]) == ("v2", "no-victim", 128 * MIB)
    capture = Path(run["capture"])
    cgroup = capture / "cgroup"
    assert (cgroup / "memory.max").read_text().strip() == str(128 * MIB)
    assert (cgroup / "memory.high").read_text().strip() == "max"
    assert (cgroup / "memory.oom.group").read_text().strip() == "1"
    events = dict(line.split() for line in (cgroup / "memory.events").read_text().splitlines())
    assert int(events["oom"]) > 0 and int(events["oom_kill"]) == 0, events
    analysis = json.loads(out)
    assert analysis["crash"]["type"] == "lost_heartbeat"
    # nothing left: no group, no process of the run, the controllers as they were
    assert _state() == (groups, controls)
    assert find_marked(run["run"]) == []
