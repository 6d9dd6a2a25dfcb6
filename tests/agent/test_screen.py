"""The screen's stable layout, the alert lines, and the bounded steps the capture runs."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

from lostbeat.agent import cgroup as cg
from lostbeat.agent.alerts import AlertLog, HbFields, format_uptime
from lostbeat.agent.bounded import BoundedRunner, StepStatus
from lostbeat.agent.clients import BeatRecord, ClientState, ClientView
from lostbeat.agent.consumers import Consumer
from lostbeat.agent.screen import CpuTask, Screen, TopRow, render

HBD = ClientView(
    clt=1, name="lostbeat-hbd", pid=4242, uid=0, state=ClientState.LOST, interval=1.0,
    timeout=30.0, since=30.2, beats=2,
    history=(BeatRecord(1, 1_732_550_000.25, 0.000041, 10.0, 3600.5),
             BeatRecord(2, 1_732_550_001.25, 0.5, 11.0, 3601.5)),
)  # fmt: skip
HOG = Consumer(pid=5150, comm="memhog", state="D", uid=0, starttime=1, rss_kb=204800,
               swap_kb=None, growth_kb=20480)  # fmt: skip


def screen(**changes: object) -> Screen:
    base = dict(
        version="0.1.0", kernel="6.1.0-amd64", machine="x86_64", host="db1", lost=(HBD,),
        declared_utc="2024-11-25T16:00:31.450Z", uptime=3631.45, monitor_cpu=0,
        cpus=(CpuTask(0, 812, "lostbeat-mon"), CpuTask(1, None, "idle1")),
        loadavg="2.00 1.50 0.90 3/210 9999\n",
        meminfo="MemTotal: 1000 kB\nMemFree: 10 kB\nMemAvailable: 20 kB\n"
        "SwapTotal: 500 kB\nSwapFree: 0 kB\n",
        pressure=(("cpu", "some avg10=1.00 avg60=0.50 avg300=0.10 total=5\n"),
                  ("memory", None)),
        cgroup=cg.MemoryCgroup(cg.Hierarchy(cg.CgroupVersion.V1, Path("/sys/fs/cgroup/memory")),
                               "/watched"),
        cgroup_memory=cg.CgroupMemory(100, 100, True, True, 7, 0),
        scope="cgroup /watched",
        top=(TopRow(HOG, "mem_cgroup_oom_synchronize"),),
        alerts=("0:01:00:29.000 cpu0:812)HB: Lost heartbeat (comm=lostbeat-hbd pid=4242 t=29 "
                "to=30 clt=1)",),
        clients=(HBD,), capture_dir="/var/lib/lostbeat/lost-heartbeat-db1-20241125T160031Z",
    )  # fmt: skip
    base.update(changes)
    return Screen(**base)  # type: ignore[arg-type]


EXPECTED = """\
lostbeat 0.1.0 [Linux 6.1.0-amd64 x86_64] host=db1
Lost heartbeat
*0:812/lostbeat-mon 1:0/idle1
@BlueScreen: Lost heartbeat (comm=lostbeat-hbd pid=4242 t=30 to=30 clt=1)
Uptime: 0:01:00:31.450
Declared: 2024-11-25T16:00:31.450Z
Load average: 2.00 1.50 0.90 3/210 9999
Memory: total=1000 kB available=20 kB free=10 kB
Swap: total=500 kB free=0 kB used=500 kB
Pressure cpu: some avg10=1.00 avg60=0.50 avg300=0.10 total=5
Pressure memory: unavailable
Cgroup: v1 /watched usage=100 limit=100 under_oom=1 oom_kill_disable=1 failcnt=7 oom_kill=0
Top consumers (cgroup /watched):
     PID COMM             S     RSS_KB    SWAP_KB  GROWTH_KB WCHAN
    5150 memhog           D     204800          -     +20480 mem_cgroup_oom_synchronize
Log:
0:01:00:29.000 cpu0:812)HB: Lost heartbeat (comm=lostbeat-hbd pid=4242 t=29 to=30 clt=1)
Heartbeat history (clt=1 comm=lostbeat-hbd pid=4242):
  seq=1 at=2024-11-25T15:53:20.250Z took=0.000041 received=0:01:00:00.500
  seq=2 at=2024-11-25T15:53:21.250Z took=0.500000 received=0:01:00:01.500
Clients:
  clt=1 comm=lostbeat-hbd pid=4242 uid=0 state=lost since=30.200 interval=1 to=30 beats=2
Capture: /var/lib/lostbeat/lost-heartbeat-db1-20241125T160031Z
"""


def test_screen_layout_is_stable() -> None:
    assert render(screen()) == EXPECTED


def test_unknowns_are_shown_as_unavailable_never_zero() -> None:
    text = render(screen(cpus=None, top=None, meminfo=None, cgroup=None, uptime=None))
    lines = text.splitlines()
    assert lines[2] == "cpus unavailable" and "Uptime: -" in lines
    assert "Memory: unavailable" in lines and "Swap: unavailable" in lines
    assert lines[lines.index("Top consumers (cgroup /watched):") + 1] == "  unavailable"
    assert not any(line.startswith("Cgroup:") for line in lines)


def test_alert_log_lines_ring_and_rate_limit() -> None:
    out = io.StringIO()
    clock = [100.0]
    log = AlertLog(uptime=lambda: 3682886.308, cpu=lambda: 3, pid=812, stream=out)
    line = log.line("HB", "Lost heartbeat " + HbFields("hbd", 20, 29.9, 30.0, 1).render())
    assert line == "42:15:01:26.308 cpu3:812)HB: Lost heartbeat (comm=hbd pid=20 t=29 to=30 clt=1)"
    for _ in range(500):
        log.limited("bad", "HB", "bad message", now=clock[0])
        clock[0] += 0.01
    log.limited("bad", "HB", "bad message", now=clock[0])
    assert out.getvalue().splitlines()[1:] == [
        "42:15:01:26.308 cpu3:812)HB: bad message",
        "42:15:01:26.308 cpu3:812)HB: bad message (99 more suppressed)",
        "42:15:01:26.308 cpu3:812)HB: bad message (99 more suppressed)",
        "42:15:01:26.308 cpu3:812)HB: bad message (99 more suppressed)",
        "42:15:01:26.308 cpu3:812)HB: bad message (99 more suppressed)",
        "42:15:01:26.308 cpu3:812)HB: bad message (99 more suppressed)",
    ]
    for n in range(1000):
        log.line("X", str(n))
    assert len(log.recent()) == 256 and log.recent()[-1].endswith(")X: 999")
    assert format_uptime(59.9999) == "0:00:01:00.000"


def test_a_step_that_hangs_is_bounded_and_abandoned_threads_are_capped() -> None:
    release = threading.Event()
    runner = BoundedRunner(max_stuck=2)
    pings: list[float] = []
    first = runner.run(release.wait, timeout=0.3, keepalive=lambda: pings.append(1))
    assert first.status is StepStatus.TIMEOUT and first.reason == "no answer within 0.3 s"
    assert pings  # the watchdog was kept alive while waiting
    assert runner.run(release.wait, timeout=0.1).status is StepStatus.TIMEOUT
    refused = runner.run(lambda: 1, timeout=1)
    assert refused.status is StepStatus.SKIPPED and "2 earlier steps" in refused.reason
    release.set()
    time.sleep(0.1)
    assert runner.run(lambda: 1, timeout=1).value == 1  # the stuck threads finished
