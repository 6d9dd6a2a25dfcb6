"""A Linux incident speaks Linux in every report: the watched cgroup, lostbeat hbd, the core
dumps of the top consumers, no swap configured; never the Service Console, COS cores,
vmkernel dumps, Misc.CosCoreFile or vmksummary. The culprit carries its pid, command line
and unit."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from rich.console import Console

from lostbeat.analyzer.engine import analyze
from lostbeat.analyzer.result import AnalysisResult
from lostbeat.recording.marker import open_directory
from lostbeat.recording.schema import Identity, ProcessKey, ProcSample, Snapshot, SystemSample
from lostbeat.recording.store import Store
from lostbeat.report.html import render_html
from lostbeat.report.jsonout import dumps
from lostbeat.report.terminal import render

T0 = 1_800_000_000.0
ESX_WORDS = re.compile(
    r"Service Console|COS core|\bCOS\b|vmkernel dump|VMkernel dump|CosCore|vmksummary|"
    r"vmnixhbd|VMware|hourly",
    re.IGNORECASE,
)
LEAKER = 4300
CMD = "python3 /srv/app/leaky.py --workers 4"


def _recording(root: Path) -> Path:
    rec = root / "recording"
    open_directory(rec, host="web1", interval_s=1.0, now=T0)
    store = Store(rec, host="web1", interval_s=1.0, fsync_every_s=3600.0)
    procs = {
        LEAKER: ("python3", CMD),
        4301: ("python3", "python3 /srv/app/worker.py"),
        4302: ("python3", "python3 -m http.server"),
        4242: ("lostbeat-hbd", "lostbeat hbd --socket /run/lostbeat.sock"),
    }
    idents = {
        pid: Identity(ProcessKey(name, cmd, pid, T0 - 50), ppid=1, uid=0)
        for pid, (name, cmd) in procs.items()
    }
    for i in range(60):
        kb = {LEAKER: 20_000 + 3_000 * i, 4301: 30_000, 4302: 25_000, 4242: 9_000}
        rows = tuple(
            (idents[pid], ProcSample(value, 0, 2 * value, 1, 3, "S")) for pid, value in kb.items()
        )
        store.append(Snapshot(T0 + i, T0 - 100, SystemSample(8 << 30, 6 << 30, 0, 0), rows))
    store.close()
    return rec


def _capture(root: Path) -> Path:
    cap = root / "lost-heartbeat-web1-20270115T080104Z"
    (cap / "cores").mkdir(parents=True)
    when = "2027-01-15T08:01:04.000Z"  # T0 + 64
    (cap / "screen.txt").write_text(
        "lostbeat 0.1.0 [Linux 6.1.0-28-amd64 x86_64] host=web1\n"
        "Lost heartbeat\n"
        "@BlueScreen: Lost heartbeat (comm=lostbeat-hbd pid=4242 t=5 to=5 clt=1)\n"
        f"Declared: {when}\n"
        "Memory: total=8388608 kB available=6291456 kB free=6000000 kB\n"
        "Swap: total=0 kB free=0 kB used=0 kB\n"
        "Cgroup: v2 /app.slice usage=268435456 limit=268435456 under_oom=1\n"
        "Top consumers (cgroup /app.slice):\n"
        "     PID COMM             S     RSS_KB    SWAP_KB  GROWTH_KB WCHAN\n"
        f"    {LEAKER} python3          D     197000          0      +3000 -\n"
        "    4301 python3          S      30000          0         +0 -\n"
        "    4302 python3          S      25000          0         +0 -\n"
        "    4242 lostbeat-hbd     D       9000          0         +0 -\n"
    )
    for pid, cmd in ((LEAKER, CMD), (4301, "python3 /srv/app/worker.py")):
        (cap / "proc" / str(pid)).mkdir(parents=True)
        (cap / "proc" / str(pid) / "cmdline").write_bytes(cmd.replace(" ", "\0").encode() + b"\0")
        (cap / "proc" / str(pid) / "cgroup").write_text("0::/app.slice/leaky.service\n")
    (cap / "cores" / f"core.python3.{LEAKER}").write_bytes(b"\x7fELF")
    return cap


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> AnalysisResult:
    root = tmp_path_factory.mktemp("linux")
    return analyze([_recording(root), _capture(root)])


def test_the_culprit_is_told_apart_from_its_namesakes(result: AnalysisResult) -> None:
    cause = result.root_cause
    assert (cause.kind.value, cause.process, cause.pid) == ("leak", "python3", LEAKER)
    assert (cause.cmdline, cause.unit) == (CMD, "leaky.service")
    assert result.platform.name == "linux"
    assert result.platform.domain == "the watched cgroup /app.slice"


def test_the_terminal_speaks_linux(result: AnalysisResult) -> None:
    out = io.StringIO()
    render(result, Console(file=out, width=200, color_system=None))
    text = out.getvalue()
    assert ESX_WORDS.findall(text) == []
    assert f"pid {LEAKER}, command '{CMD}', unit leaky.service" in text
    assert "Lost heartbeat (the watched cgroup /app.slice stopped heartbeating)" in text
    assert "core dumps of the top consumers" in text and "Swap         none configured" in text


def test_json_and_html_speak_linux(result: AnalysisResult) -> None:
    doc = json.loads(dumps(result))
    assert doc["coredumps"]["cos"] == [] and doc["coredumps"]["vmkernel"] == []
    assert doc["coredumps"]["dumps"][0]["label"] == "core dumps of the top consumers"
    assert (doc["root_cause"]["pid"], doc["root_cause"]["unit"]) == (LEAKER, "leaky.service")
    words = [w for f in doc["findings"] for w in ESX_WORDS.findall(f["title"] + f["detail"])]
    assert words == [] and ESX_WORDS.findall(" ".join(a["text"] for a in doc["actions"])) == []
    page = render_html(result)
    visible = re.sub(r"<[^>]+>", " ", page.split("<body", 1)[1])
    assert ESX_WORDS.findall(visible) == []
    assert "core dumps of the top consumers" in visible and str(LEAKER) in visible
