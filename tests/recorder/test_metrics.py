"""``lostbeat record --metrics``, scraped by Prometheus's own parsers (prometheus_client):
over HTTP in both formats, with a real monitor's heartbeat ages and a real leaker among the
suspects, and as a node_exporter textfile."""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as parse_openmetrics,
)
from prometheus_client.parser import text_string_to_metric_families as parse_text

WEIRD = 'lb"a\\b'  # a name a process may give itself: a quote and a backslash
LEAKER = textwrap.dedent("""\
    import ctypes, sys, time
    ctypes.CDLL(None).prctl(15, sys.argv[1].encode(), 0, 0, 0)  # PR_SET_NAME
    keep = []
    print("leaking", flush=True)
    while True:
        keep.append(bytearray(b"x") * (1 << 20))
        time.sleep(0.2)
""")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _lostbeat(log: Path, *args: str) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "lostbeat", *args], stdout=out, stderr=out)


def _wait(predicate, what: str, timeout: float = 20.0):  # type: ignore[no-untyped-def]
    until = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < until, f"timed out waiting for {what}"
        time.sleep(0.1)
    return value


def _samples(families) -> dict[str, list]:  # type: ignore[no-untyped-def]
    out: dict[str, list] = {}  # type: ignore[type-arg]
    for family in families:
        for sample in family.samples:
            out.setdefault(sample.name, []).append(sample)
    return out


@pytest.fixture
def workdir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="lbt-m-", dir="/tmp"))  # short: a UNIX socket path
    try:
        yield path
    finally:
        subprocess.run(["rm", "-rf", str(path)], check=False)


@pytest.mark.timeout(90)
def test_the_endpoint_is_scraped_by_prometheus_parsers(workdir: Path) -> None:
    port, status = _free_port(), workdir / "monitor.status"
    procs = [
        _lostbeat(workdir / "monitor.log", "monitor", "--socket", str(workdir / "hb.sock"),
                  "--datastore", str(workdir / "ds"), "--status", str(status), "--no-mlock"),
    ]  # fmt: skip
    try:
        _wait(lambda: "listening on" in (workdir / "monitor.log").read_text(), "the monitor")
        procs.append(
            _lostbeat(workdir / "hbd.log", "hbd", "--socket", str(workdir / "hb.sock"),
                      "--name", "hbd", "--interval", "0.5")
        )  # fmt: skip
        leaker = subprocess.Popen([sys.executable, "-c", LEAKER, WEIRD], stdout=subprocess.PIPE)
        procs.append(leaker)
        assert leaker.stdout is not None and leaker.stdout.readline() == b"leaking\n"
        procs.append(
            _lostbeat(workdir / "record.log", "record", "--dir", str(workdir / "rec"),
                      "--interval", "0.2", "--trend-window", "5s", "--no-kernel-log",
                      "--metrics", f"127.0.0.1:{port}", "--monitor-status", str(status),
                      "--top", "5000")  # every process: the leaker among them on a busy host
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}/metrics"
        _wait(lambda: "metrics on" in (workdir / "record.log").read_text(), "the recorder")
        time.sleep(6)  # a window's worth of samples

        om = urllib.request.Request(url, headers={"Accept": "application/openmetrics-text"})
        with urllib.request.urlopen(om, timeout=10) as reply:
            assert reply.headers["Content-Type"].startswith("application/openmetrics-text")
            scraped = _samples(parse_openmetrics(reply.read().decode()))
        with urllib.request.urlopen(url, timeout=10) as reply:
            assert reply.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            plain = _samples(parse_text(reply.read().decode()))
    finally:
        for proc in reversed(procs):
            proc.kill()
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()

    assert set(plain) >= set(scraped) - {"lostbeat_recorder_samples"}
    (age,) = scraped["lostbeat_heartbeat_age_seconds"]
    assert age.labels["client"] == "hbd" and 0 <= age.value < 2.0
    assert scraped["lostbeat_heartbeat_timeout_seconds"][0].value == 30
    assert scraped["lostbeat_monitor_status_age_seconds"][0].value < 3
    (tte,) = scraped["lostbeat_time_to_exhaustion_seconds"]
    assert tte.value > 0  # a number, +Inf, never 0 on an idle 24 GB host
    assert scraped["lostbeat_recorder_samples_total"][0].value >= 20
    mine = [s for s in scraped["lostbeat_process_resident_bytes"] if s.labels["comm"] == WEIRD]
    assert mine and mine[0].labels["pid"] == str(leaker.pid) and mine[0].value > 8 << 20
    (suspect,) = [
        s for s in scraped["lostbeat_leak_suspect_growth_bytes_per_second"]
        if s.labels["pid"] == str(leaker.pid)
    ]  # fmt: skip
    assert 1 << 20 < suspect.value < 8 << 20  # it leaks 5 MiB a second, less on a busy host
    assert set(suspect.labels) == {"pid", "comm", "cgroup"}  # never the command line


@pytest.mark.timeout(60)
def test_the_textfile_is_node_exporter_text_replaced_whole(workdir: Path) -> None:
    prom = workdir / "lostbeat.prom"
    done = subprocess.run(
        [sys.executable, "-m", "lostbeat", "record", "--dir", str(workdir / "rec"), "--interval",
         "0.2", "--duration", "2s", "--no-kernel-log", "--metrics", str(prom)],
        capture_output=True, text=True, timeout=40, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    scraped = _samples(parse_text(prom.read_text()))
    assert scraped["lostbeat_recorder_samples_total"][0].value >= 8
    assert scraped["lostbeat_memory_capacity_bytes"][0].value > 0
    assert "lostbeat_kernel_records_dropped_total" not in scraped  # not read: not zero
    assert not list(workdir.glob(".*.tmp")) and sorted(p.name for p in workdir.iterdir()) == [
        "lostbeat.prom", "rec"
    ]  # fmt: skip
    bad = subprocess.run(
        [sys.executable, "-m", "lostbeat", "record", "--dir", str(workdir / "r2"), "--metrics",
         "/tmp/x.txt"], capture_output=True, text=True, timeout=40, check=False,
    )  # fmt: skip
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        "lostbeat record: /tmp/x.txt: expected a file name ending in .prom (node_exporter's)"
    ]
