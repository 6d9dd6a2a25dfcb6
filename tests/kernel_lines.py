"""Kernel report headlines as the real corpus shows them, for the tests of both readers of
:mod:`lostbeat.kernel_forms` (the agent's matcher, the analyzer's report scanner).

Each line is found in its case's files by a piece of it and taken off its container (syslog,
journal, dmesg stamps) by the analyzer's framer: what is left is the message as ``/dev/kmsg``
gives it to the agent.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lostbeat.analyzer.parsers._frames import frame

CORPUS = Path(__file__).resolve().parent / "corpus" / "real-linux"


@dataclass(frozen=True, slots=True)
class Headline:
    case: str
    """The case folder's number."""
    piece: str
    """A piece of the line, to find it: the first kernel line of the case holding it."""
    form: str
    pid: int | None = None
    comm: str | None = None


REAL = (
    Headline("065", "Kernel panic - not syncing: Out of memory", "panic"),
    # the panic, not the lockup its reason repeats
    Headline("057", "Kernel panic - not syncing: Watchdog detected", "panic"),
    Headline("022", "invoked oom-killer", "oom-invoked", comm="systemd-journal"),
    Headline("033", "invoked oom-killer", "oom-invoked", comm="CPU 0/KVM"),
    Headline("032", "invoked oom-killer", "oom-invoked", comm="df_inode"),  # 2.6.23
    Headline("019", "Kill process 3080", "oom-select", 3080, "forward"),
    Headline(
        "015", "(oom_kill_allocating_task): Kill process 663", "oom-select", 663, "in:imjournal"
    ),
    Headline(
        "025", "Memory cgroup out of memory: Kill process", "oom-select", 42453, "memcg_test_1"
    ),
    Headline("016", "Killed process 16432", "oom-kill", 16432, "(journald)"),
    Headline("024", "Memory cgroup out of memory: Killed process", "oom-kill", 63214, "uwsgi"),
    Headline("021", "Out of memory: Killed process", "oom-kill", 1811, "stress-ng"),
    Headline("001", "Killed process 27541", "oom-killed", 27541, "bash"),
    Headline("015", "Killed process 918", "oom-killed", 918, "mysqld"),  # 3.10: ", UID 27," after
    Headline("019", "Killed process 3080, UID 0,", "oom-killed", 3080, "forward"),  # 2.6.32
    Headline("031", "no killable processes", "oom-no-victim"),
    Headline("067", "no killable processes", "oom-no-victim"),
    Headline("021", "oom-kill:constraint=", "oom-context", 1811, "stress-ng"),
    Headline("037", "blocked for more than", "hung-task", 15341, "FwgThread OpFor"),
    Headline("041", "blocked for more than", "hung-task", 110640, "kworker/0:2"),
    Headline("070", "blocked for more than", "hung-task", 1511, "kworker/u48:7"),
    Headline("047", "soft lockup", "soft-lockup", 149, "kswapd1"),
    Headline("053", "soft lockup", "soft-lockup", 2073, "kworker/u3:3"),
    Headline("054", "hard LOCKUP", "hard-lockup"),
    Headline("055", "hard LOCKUP", "hard-lockup"),
    Headline("058", "detected stall on CPU", "rcu-stall"),  # about 3.0: rcu_sched_state
    Headline("058", "detected stalls on CPUs/tasks", "rcu-stall"),
    Headline("059", "self-detected stall", "rcu-stall"),
    Headline("060", "rcu: INFO: rcu_preempt detected stalls", "rcu-stall"),
    Headline("062", "detected expedited stalls", "rcu-stall"),
    Headline("091", "not syncing: Watchdog detected hard LOCKUP", "panic"),
    Headline("092", "Watchdog CPU:59 Hard LOCKUP", "hard-lockup"),  # powerpc's own watchdog
    Headline("099", "Kill process 31490", "oom-select", 31490, "corerun"),
    Headline("098", "Killed process 11726, UID 498,", "oom-killed", 11726, "mysqld"),
    Headline("096", "invoked oom-killer", "oom-invoked", comm="postgres"),  # 6.16
    Headline("075", "Out of memory: Killed process 7899", "oom-kill", 7899, "python"),
    Headline("079", "blocked for more than 1228", "hung-task", 931, "khugepaged"),  # 6.12
    Headline("090", "hard LOCKUP", "hard-lockup"),
    Headline("085", "rcu_sched detected stalls", "rcu-stall"),
)
"""At least one real line of every form of the table but those of :data:`DOCUMENTED`."""

DOCUMENTED = {
    "BUG: soft lockup detected on CPU#1!": "soft-lockup-old",
    "INFO: RCU detected CPU 1 stall (t=4295232323/15000 jiffies)": "rcu-stall-old",
    "NMI Watchdog detected LOCKUP on CPU 1": "hard-lockup",
}
"""Forms no case shows, as the kernel printed them (2.6.x: kernel/softlockup.c before 2.6.25,
kernel/rcutree.c before 2.6.34, arch/x86/kernel/nmi.c's NMI watchdog; unverified: from the
sources as recalled, no real log of them found)."""


def case_dir(case: str) -> Path:
    (found,) = CORPUS.glob(f"{case}-*")
    return found


def kernel_texts(case: str) -> list[str]:
    """The kernel messages of a case's files, in order, off their containers."""
    texts = []
    for path in sorted(case_dir(case).iterdir()):
        if path.name == "case.json":
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            f = frame(line, n)
            if f is not None and f.text and f.kernelish:
                texts.append(f.text)
    return texts


def text_of(h: Headline) -> str:
    """The line of a headline, as the kernel wrote it."""
    found = next((t for t in kernel_texts(h.case) if h.piece in t), None)
    assert found is not None, f"case {h.case}: no kernel line holds {h.piece!r}"
    return found
