"""journald holds the monitor's lines with their fields (native protocol), once each, and
``journalctl -u`` shows them."""

from __future__ import annotations

from pathlib import Path

from helpers import Loss, journal, sh

from lostbeat.agent.journald import MESSAGE_IDS


def test_the_loss_and_the_capture_carry_structured_fields(loss: Loss) -> None:
    unit = "lostbeat-monitor.service"
    (lost,) = journal(f"MESSAGE_ID={MESSAGE_IDS['lost']}", unit=unit, since=loss.started)
    assert lost["PRIORITY"] == "2" and lost["_TRANSPORT"] == "journal"
    assert (lost["LOSTBEAT_CLIENT"], lost["LOSTBEAT_CLIENT_PID"]) == (
        "lostbeat-hbd",
        str(loss.hbd_pid),
    )
    assert lost["_SYSTEMD_UNIT"] == unit and lost["SYSLOG_IDENTIFIER"] == "lostbeat"
    doc = lost["DOCUMENTATION"]
    assert doc.startswith(
        "file:///opt/lostbeat/lib/python3.11/site-packages/lostbeat/data/agent.md#"
    )
    assert Path(doc.removeprefix("file://").partition("#")[0]).is_file()
    # the loss's capture, once (an early warning before it may have captured as well)
    captures = journal(f"MESSAGE_ID={MESSAGE_IDS['captured']}", unit=unit, since=loss.started)
    (captured,) = [c for c in captures if c.get("LOSTBEAT_CAPTURE") == str(loss.capture)]
    others = [Path(c["LOSTBEAT_CAPTURE"]).name for c in captures if c is not captured]
    assert all(name.startswith(("pre-loss-", "kernel-")) for name in others), others
    assert captured["LOSTBEAT_CAPTURE"] == str(loss.capture)
    assert captured["LOSTBEAT_CAPTURE_COMPLETE"] == "yes" and captured["PRIORITY"] == "5"
    late = journal(f"MESSAGE_ID={MESSAGE_IDS['late']}", unit=unit, since=loss.started)
    assert late and all(e["PRIORITY"] == "4" for e in late)


def test_each_line_is_in_the_journal_once(loss: Loss) -> None:
    entries = journal(unit="lostbeat-monitor.service", since=loss.started)
    ours = [e for e in entries if e.get("SYSLOG_IDENTIFIER") == "lostbeat"]
    assert ours and all(e["_TRANSPORT"] == "journal" for e in ours)  # none on the stdout stream
    texts = [str(e["MESSAGE"]) for e in ours]
    assert len(texts) == len(set(texts))


def test_journalctl_u_shows_them(loss: Loss) -> None:
    out = sh("journalctl", "--no-pager", "-u", "lostbeat-monitor.service")
    assert "Host: Error: Lost heartbeat (comm=lostbeat-hbd" in out
    assert f"Dump: Capture complete: '{loss.capture}/manifest.json'" in out
    verbose = sh("journalctl", "--no-pager", "-o", "verbose", "-u", "lostbeat-monitor.service",
                 f"MESSAGE_ID={MESSAGE_IDS['lost']}")  # fmt: skip
    assert f"MESSAGE_ID={MESSAGE_IDS['lost']}" in verbose and "DOCUMENTATION=file://" in verbose
