"""What ``lostbeat simulate`` is asked to do, and what it checks before it makes anything."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from lostbeat.agent.cgroup import CgroupVersion
from lostbeat.errors import AgentError
from lostbeat.procfs import Procfs
from lostbeat.simulate import cgroups, plans

__all__ = ["MIB", "MIN_RAM", "SimulationConfig", "preflight"]

MIB = 1 << 20
MIN_RAM = 96 * MIB
"""Below this the interpreters of the heartbeat and the steady programs fill the group."""


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    """What ``lostbeat simulate`` is asked to do."""

    scenario: plans.Scenario
    ram_bytes: int = 256 * MIB
    timeout_s: float = 5.0
    """The monitor's heartbeat timeout."""
    keep: Path | None = None
    """Keep the run's folder there; None: a temporary folder, removed at the end."""
    python: str = sys.executable
    sample_interval_s: float = 0.5
    beat_interval_s: float = 0.5
    proc_root: Path = Path("/proc")


def preflight(config: SimulationConfig) -> cgroups.Controllers:
    """Check what the run needs before anything is made.

    Raises:
        AgentError: not root, no memory cgroup controller, no stress-ng for third-party, a
            RAM size out of bounds, or a ``--keep`` folder that is not empty.
    """
    if os.geteuid() != 0:
        raise AgentError(
            "needs root: it creates a memory cgroup and moves processes into it (try sudo)"
        )
    controllers = cgroups.host_controllers(config.proc_root)
    if controllers.memory is None:
        raise AgentError(
            f"{config.proc_root}/self/mountinfo: no memory cgroup controller (expected a v1 "
            "'cgroup' mount with 'memory', or a 'cgroup2' mount offering 'memory')"
        )
    if controllers.memory.version is CgroupVersion.V2 and not _has_capability(
        config.proc_root, _CAP_SYS_RESOURCE
    ):
        raise AgentError(
            "cgroup v2: needs CAP_SYS_RESOURCE, to protect the group's programs from the OOM "
            "killer (oom_score_adj -1000), which is how the group hangs on v2"
        )
    if config.scenario is plans.Scenario.THIRD_PARTY:
        if shutil.which(plans.STRESS_NG) is None:
            raise AgentError(
                "scenario third-party runs stress-ng, which is not installed (Debian package "
                "stress-ng; scripts/setup-system installs it)"
            )
        if controllers.cpu is None:
            raise AgentError(
                f"{config.proc_root}/self/mountinfo: no cpu cgroup controller to pace stress-ng"
            )
    if config.ram_bytes < MIN_RAM:
        raise AgentError(
            f"--ram: expected at least {MIN_RAM // MIB}M, got {config.ram_bytes / MIB:g}M"
        )
    available = Procfs(config.proc_root).meminfo().get("MemAvailable")
    if available is not None and config.ram_bytes > available // 2:
        raise AgentError(
            f"--ram: expected at most half the memory available ({available // 2 // MIB}M)"
        )
    keep = config.keep
    if keep is not None and keep.exists() and (not keep.is_dir() or any(keep.iterdir())):
        raise AgentError(f"{config.keep}: expected a new or empty folder for --keep")
    return controllers


_CAP_SYS_RESOURCE = 24  # linux/capability.h


def _has_capability(proc_root: Path, bit: int) -> bool:
    with contextlib.suppress(OSError, ValueError):
        for line in (proc_root / "self" / "status").read_text().splitlines():
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) >> bit & 1)
    return False
