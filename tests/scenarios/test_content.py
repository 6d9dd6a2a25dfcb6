"""What each bundle says agrees with its ground truth."""

from __future__ import annotations

import random
import re

import pytest

from lostbeat.scenarios import GeneratedCase, generate
from lostbeat.scenarios.model import CauseKind, CrashType, Origin
from lostbeat.scenarios.registry import CLASSIC as SCENARIOS
from lostbeat.scenarios.scenarios import BUILDERS
from lostbeat.scenarios.simulate import simulate
from lostbeat.scenarios.truth import truth_of
from tests.scenarios.conftest import SEEDS
from tests.scenarios.helpers import crashed_boot, entries, members

LEAKS = ("vmware-leak", "cimserver-35", "cimserver-40", "third-party-leak", "sawtooth",
         "two-leakers", "no-core-file", "rotated-year-boundary")  # fmt: skip
ALERT = re.compile(
    r"^(?P<d>\d+):(?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d\.\d{3}) cpu0:1024\)VMNIX: ALERT: HB: \d+: "
    r"Lost heartbeat \(comm=\S+ pid=\d+ t=(?P<t>\d+) to=30 clt=1\)\.$"
)


def _uptime(m: re.Match[str]) -> float:
    return int(m["d"]) * 86400 + int(m["h"]) * 3600 + int(m["m"]) * 60 + float(m["s"])


def _program(command: str) -> str:
    """The program a ps command line runs (a script's name rather than its interpreter)."""
    words = command.split()
    name = words[0].rsplit("/", 1)[-1].strip("[]")
    if name in ("sh", "bash", "perl", "python") and len(words) > 1:
        name = words[1].rsplit("/", 1)[-1]
    return name


def _texts(case: GeneratedCase) -> tuple[str, str]:
    """The zdump's VMkernel log and the transcribed screen ('' when absent)."""
    _, files = members(case.bundle)
    log = files.get("root/vmkernel-log.1", b"").decode()
    screen = "".join(e.read_text() for e in case.extras if e.name == "psod.txt")
    return log, screen


@pytest.mark.parametrize("name", LEAKS)
def test_the_culprits_token_really_grows(
    cases: dict[tuple[str, int], GeneratedCase], name: str
) -> None:
    for seed in SEEDS:
        case = cases[name, seed]
        truth = case.truth
        assert truth.root_cause_kind is CauseKind.LEAK and truth.culprit == truth.culprits[0]
        assert truth.crashed_at is not None
        _, files = members(case.bundle)
        boot = crashed_boot(entries(files), truth.crashed_at)
        assert len(boot) >= 6
        for culprit in truth.culprits:
            values = [kb for e in boot for token, kb in e.top if token == culprit[:8]]
            assert len(values) >= 4, (name, seed, culprit)
            assert values[-1] > values[0] + 20000, (name, seed, culprit, values[0], values[-1])
        last = boot[-1]
        assert truth.culprit[:8] in [token for token, _ in last.top]
        # the console was close to exhaustion when the summaries stopped
        meminfo = files["proc/meminfo"].decode()
        swap_kb = int(re.search(r"^SwapTotal:\s+(\d+)", meminfo, re.M)[1])  # type: ignore[index]
        assert last.swap / 1024 > 0.5 * swap_kb


def test_sawtooth_drops_and_grows_again(cases: dict[tuple[str, int], GeneratedCase]) -> None:
    for seed in SEEDS:
        case = cases["sawtooth", seed]
        assert case.truth.crashed_at is not None
        _, files = members(case.bundle)
        boot = crashed_boot(entries(files), case.truth.crashed_at)
        token = (case.truth.culprit or "")[:8]
        values = [kb for e in boot for t, kb in e.top if t == token]
        drops = sum(1 for a, b in zip(values, values[1:], strict=False) if b < 0.7 * a)
        assert drops >= 1, values
        assert values[-1] == max(values[-20:])


def test_two_leakers_name_both(cases: dict[tuple[str, int], GeneratedCase]) -> None:
    for seed in SEEDS:
        truth = cases["two-leakers", seed].truth
        assert len(set(truth.culprits)) == 2


@pytest.mark.parametrize("name", ["clean-reboot", "clean-halt"])
def test_a_clean_stop_is_logged_before_the_next_start(
    cases: dict[tuple[str, int], GeneratedCase], name: str
) -> None:
    word = "Rebooting system..." if name == "clean-reboot" else "Halting system..."
    for seed in SEEDS:
        case = cases[name, seed]
        assert case.truth.crash_type is CrashType.NONE
        assert case.truth.root_cause_kind is CauseKind.NOT_MEMORY and case.truth.culprit is None
        assert case.truth.action_kbs == ()
        _, files = members(case.bundle)
        kinds = [e.kind for e in entries(files) if e.kind != "hb"]
        last_start = len(kinds) - 1 - kinds[::-1].index("Starting system...")
        assert kinds[last_start - 1] == word
        assert "VMkernel error" not in kinds[last_start:]


@pytest.mark.parametrize("name", [n for n in SCENARIOS if n not in ("clean-reboot", "clean-halt")])
def test_a_crash_has_no_clean_stop_before_its_start(
    cases: dict[tuple[str, int], GeneratedCase], name: str
) -> None:
    for seed in SEEDS:
        _, files = members(cases[name, seed].bundle)
        kinds = [e.kind for e in entries(files) if e.kind != "hb"]
        error = len(kinds) - 1 - kinds[::-1].index("VMkernel error")
        assert kinds[error - 1] == "Starting system..."
        assert kinds[error - 2] not in ("Rebooting system...", "Halting system...")


def test_year_boundary_logs_span_december_to_january(
    cases: dict[tuple[str, int], GeneratedCase],
) -> None:
    for seed in SEEDS:
        _, files = members(cases["rotated-year-boundary", seed].bundle)
        assert "var/log/vmksummary.1" in files
        assert any(p.startswith("var/log/vmksummary.") and p.endswith(".gz") for p in files)
        lines = entries(files)
        months = [e.text[:3] for e in lines]
        assert "Dec" in months and "Jan" in months
        assert months.index("Dec") < len(months) - 1 - months[::-1].index("Jan")
        epochs = [e.epoch for e in lines]
        assert epochs == sorted(epochs)


def test_pegasus_known_issue_only_on_35_update_2_to_5(
    cases: dict[tuple[str, int], GeneratedCase],
) -> None:
    for seed in SEEDS:
        on35, on40 = cases["cimserver-35", seed].truth, cases["cimserver-40", seed].truth
        assert on35.culprit == on40.culprit == "cimserver"
        assert on35.origin is on40.origin is Origin.VMWARE
        assert on35.build in (110268, 123630, 153875, 207095)
        assert on35.known_issues == ("1009607",) and "1009607" in on35.action_kbs
        assert on40.build in (164009, 208167)
        assert on40.known_issues == () and "1009607" not in on40.action_kbs
    for name in SCENARIOS:
        if name not in ("cimserver-35", "vmkernel-psod"):
            assert all(cases[name, s].truth.known_issues == () for s in SEEDS), name


def test_a_boot_failure_at_util_c83_is_kb_1016239_on_35_and_40_only() -> None:
    seen = set()
    for seed in range(40):
        rng = random.Random(f"vmkernel-psod:{seed}")
        spec = BUILDERS["vmkernel-psod"](rng, seed)
        truth = truth_of("vmkernel-psod", seed, spec, simulate(spec, rng))
        applies = spec.boot_failure and spec.host.build.family in ("3.5", "4.0")
        seen.add((spec.boot_failure, applies))
        assert truth.known_issues == (("1016239",) if applies else ()), seed
        assert ("1016239" in truth.action_kbs) is applies
    assert {(True, True), (False, False)} <= seen


def test_no_core_file_means_no_cos_core_and_kb_1032962(
    cases: dict[tuple[str, int], GeneratedCase],
) -> None:
    for seed in SEEDS:
        case = cases["no-core-file", seed]
        assert not case.truth.cos_core_file_valid
        assert "1032962" in case.truth.action_kbs
        _, files = members(case.bundle)
        assert not [p for p in files if p.endswith(".core.gz")]
        log, screen = _texts(case)
        assert "Dumping core to" not in log + screen


def test_lost_heartbeat_alerts_count_up_to_the_timeout(
    cases: dict[tuple[str, int], GeneratedCase],
) -> None:
    seen = 0
    for (_, _), case in cases.items():
        log, screen = _texts(case)
        if case.truth.crash_type is not CrashType.LOST_HEARTBEAT:
            assert "Lost heartbeat" not in log + screen
            continue
        assert "COS Error: Lost heartbeat" in log + screen
        if not log:
            continue
        alerts = [m for m in map(ALERT.match, log.splitlines()) if m]
        ts = [int(m["t"]) for m in alerts]
        assert ts == list(range(ts[0], 31))
        gaps = [_uptime(b) - _uptime(a) for a, b in zip(alerts, alerts[1:], strict=False)]
        assert all(59 < g < 61 for g in gaps)
        assert log.splitlines().index(alerts[-1].string) < len(log.splitlines()) - 1
        seen += 1
    assert seen


@pytest.mark.parametrize(
    ("name", "crash", "pattern"),
    [
        ("cos-oops", CrashType.COS_OOPS, r"COS Error: Oops"),
        ("cos-panic", CrashType.COS_PANIC, r"COS Panic: "),
        ("vmkernel-psod", CrashType.VMKERNEL,
         r"@BlueScreen: (PCPU \d+ locked up|#PF Exception\(14\)|NOT_IMPLEMENTED\s)"),
    ],
)  # fmt: skip
def test_look_alike_screens(
    cases: dict[tuple[str, int], GeneratedCase], name: str, crash: CrashType, pattern: str
) -> None:
    for seed in SEEDS:
        case = cases[name, seed]
        assert case.truth.crash_type is crash
        assert case.truth.root_cause_kind is CauseKind.NOT_MEMORY
        assert "1004250" in case.truth.action_kbs
        log, screen = _texts(case)
        assert re.search(pattern, log + screen)


def test_too_little_history(cases: dict[tuple[str, int], GeneratedCase]) -> None:
    for seed in SEEDS:
        case = cases["too-little-history", seed]
        assert case.truth.crashed_at is not None
        _, files = members(case.bundle)
        assert len(crashed_boot(entries(files), case.truth.crashed_at)) < 6
        assert case.truth.root_cause_kind is CauseKind.INCONCLUSIVE
        assert {"1006797", "653"} <= set(case.truth.action_kbs)


@pytest.mark.parametrize("name", ["spike", "contention"])
def test_spike_and_contention_are_flat_with_no_culprit(
    cases: dict[tuple[str, int], GeneratedCase], name: str
) -> None:
    for seed in SEEDS:
        truth = cases[name, seed].truth
        assert truth.culprit is None and truth.origin is None
        assert truth.crashed_at is not None
        _, files = members(cases[name, seed].bundle)
        boot = crashed_boot(entries(files), truth.crashed_at)
        first, last = boot[0].top[0], boot[-1].top[0]
        assert abs(last[1] - first[1]) < 0.2 * first[1]
        swap_kb = int(re.search(r"^SwapTotal:\s+(\d+)", files["proc/meminfo"].decode(), re.M)[1])  # type: ignore[index]
        used = boot[-1].swap / 1024 / swap_kb
        if name == "spike":
            assert used < 0.7 and truth.crashed_at - boot[-1].epoch < 3600 + 31 * 60
        else:
            assert used > 0.8 and all(e.swap / 1024 / swap_kb > 0.7 for e in boot[-24:])


def test_ps_resolves_every_token_and_shows_collisions(tmp_path: object) -> None:
    collided = 0
    for seed in range(3, 15):
        case = generate("vmware-leak", tmp_path / str(seed), seed=seed)  # type: ignore[operator]
        _, files = members(case.bundle)
        ps = files[next(p for p in files if p.startswith("tmp/ps."))].decode().splitlines()
        names = {_program(line.split(None, 10)[10]) for line in ps[1:]}
        tokens = {t for e in entries(files) for t, _ in e.top}
        for token in tokens:
            assert any(n.startswith(token) for n in names), (seed, token)
        assert (case.truth.culprit or "") in names
        collided += {"vmware-watchdog", "vmware-webAccess"} <= names
    assert collided
