"""Builders of facts for rule tests: parser outputs as the parsers would make them, turned
into neutral facts by the profile that recognises them; rules are tested on facts, not files."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest

from lostbeat.analyzer.facts import Facts
from lostbeat.analyzer.findings import Evidence
from lostbeat.analyzer.parsers.coredumps import CoredumpInventory
from lostbeat.analyzer.parsers.esx_conf import ConfEntry, EsxConf
from lostbeat.analyzer.parsers.meminfo import MemInfo
from lostbeat.analyzer.parsers.processes import ProcessEntry, ProcessTable
from lostbeat.analyzer.parsers.vmkernel_log import Signal, SignalKind, VmkernelLog
from lostbeat.analyzer.parsers.vmksummary import Consumer, LineKind, SummaryLine, VmkSummary
from lostbeat.analyzer.platforms import Parsed, choose
from lostbeat.analyzer.result import Crash

HOUR = 3600.0
T0 = 1_258_000_000  # Nov 2009, the article's era


class Build:
    """Makes parser outputs as the parsers would."""

    def __init__(self) -> None:
        self.n = 0

    def _ev(self, text: str, path: str = "var/log/vmksummary") -> Evidence:
        self.n += 1
        return Evidence(path, self.n, text)

    def hb(
        self,
        epoch: float,
        top: Sequence[tuple[str, int]] = (),
        *,
        swap: int | None = 0,
        uptime: float | None = None,
        vms: int = 10,
        build: int = 153875,
    ) -> SummaryLine:
        tokens = ", ".join(f"{t}-{kb}" for t, kb in top)
        text = f"(epoch {int(epoch)}) hb: vmk loaded, ..., {swap}, {tokens}"
        return SummaryLine(
            LineKind.HEARTBEAT,
            int(epoch),
            "Nov 13 03:01:35",
            "esx1",
            self._ev(text),
            cos_uptime_s=uptime,
            vmk_uptime_s=uptime,
            vms=vms,
            vmk_build=build,
            vmm_build=build,
            swap_used_bytes=swap,
            top=tuple(Consumer(t, kb) for t, kb in top),
        )

    def event(self, kind: LineKind, epoch: float) -> SummaryLine:
        return SummaryLine(
            kind, int(epoch), "Nov 13 07:13:58", "esx1", self._ev(f"({int(epoch)}) {kind.value}")
        )

    def series(
        self,
        hours: int,
        consumers: dict[str, Any],
        *,
        start: float = T0,
        swap: Any = 0,
        seed: int = 1,
        vms: int = 10,
    ) -> list[SummaryLine]:
        """Hourly lines; each consumer value is a function of the hour index (or a constant)."""
        rng = random.Random(seed)
        lines = []
        for h in range(hours):
            top = []
            for token, value in consumers.items():
                kb = value(h, rng) if callable(value) else value
                if kb is not None:
                    top.append((token, int(kb)))
            top.sort(key=lambda c: -c[1])
            sw = swap(h, rng) if callable(swap) else swap
            lines.append(
                self.hb(start + h * HOUR, top[:3], swap=sw, uptime=1000.0 + h * HOUR, vms=vms)
            )
        return lines

    def meminfo(self, total_kb: int = 799732, swap_kb: int = 554168) -> MemInfo:
        return MemInfo(
            total_kb * 1024,
            None,
            swap_kb * 1024,
            swap_kb * 1024,
            total_kb * 1024,
            0,
            (self._ev(f"MemTotal: {total_kb} kB", "proc/meminfo"),),
        )

    def signal(
        self,
        kind: SignalKind,
        *,
        message: str | None = None,
        uptime: float | None = None,
        comm: str | None = None,
        t: int | None = None,
        to: int | None = None,
    ) -> Signal:
        return Signal(
            kind,
            self._ev(f"{kind.value} {message}", "root/vmkernel-log.1"),
            uptime_s=uptime,
            message=message,
            comm=comm,
            t=t,
            to=to,
        )

    def ps(self, name: str, *, vsz: int = 10_000, command: str | None = None) -> ProcessEntry:
        cmd = command or f"/usr/sbin/{name}"
        return ProcessEntry(
            100 + self.n, name, cmd, vsz // 2, vsz, "root", self._ev(cmd, "tmp/ps.4711.txt")
        )

    def conf(self, values: dict[str, str]) -> EsxConf:
        return EsxConf(
            tuple(
                ConfEntry(k, v, self._ev(f'{k} = "{v}"', "etc/vmware/esx.conf"))
                for k, v in values.items()
            )
        )

    def parsed(
        self,
        summary: Sequence[SummaryLine] = (),
        *,
        signals: Sequence[Signal] = (),
        screens: Sequence[Any] = (),
        meminfo: MemInfo | None = None,
        esx_conf: EsxConf | None = None,
        versions: Sequence[Any] = (),
        processes: Sequence[ProcessEntry] = (),
        coredumps: CoredumpInventory | None = None,
        recording: Any = None,
        captures: Sequence[Any] = (),
    ) -> Parsed:
        """The parser outputs of one host, as the engine collects them."""
        return Parsed(
            host="esx1",
            summaries=[VmkSummary(tuple(summary))] if summary else [],
            logs=[VmkernelLog(tuple(signals), None)] if signals else [],
            screens=list(screens),
            meminfo=[meminfo] if meminfo else [],
            conf=[esx_conf] if esx_conf else [],
            versions=list(versions),
            tables=[ProcessTable(tuple(processes))] if processes else [],
            recordings=[recording] if recording is not None else [],
            captures=list(captures),
            cores=coredumps or CoredumpInventory((), ()),
        )

    def facts(
        self, summary: Sequence[SummaryLine] = (), *, crash: Crash | None = None, **kw: Any
    ) -> Facts:
        """The neutral facts the profile that owns the inputs reads from them; ``crash``
        stands in for the one the inputs show."""
        parsed = self.parsed(summary, **kw)
        facts = choose(parsed).facts(parsed)
        return replace(facts, crash=crash) if crash is not None else facts


@pytest.fixture
def make() -> Build:
    return Build()
