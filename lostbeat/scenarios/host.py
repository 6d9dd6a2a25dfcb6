"""A generated ESX host: its release, Service Console sizing, processes and settings.

Everything a real fleet varies is drawn here from the seed: COS RAM 272-800 MB (KB 1016239),
swap partition size, build, PCPUs, VM count, the third-party agents installed, HA and SNMP,
the webAccess flavour (``vmware-webAccess`` shares ``vmware-w`` with ``vmware-watchdog``),
the time zone, syslog day padding and the COS core file setting.

Examples:
    >>> import random
    >>> h = sample_host(random.Random(1), families=("3.5",))
    >>> 272 <= h.cos_ram_mb <= 800 and h.build.family == "3.5"
    True
    >>> CoreFile("/adv/Misc/CosCorefile", "/root/cos-core").valid
    False
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from lostbeat.scenarios.catalog import (
    BUILDS,
    DELL,
    EMC,
    HOST_NAMES,
    HP,
    SYSTEM,
    TIME_ZONES,
    Build,
    Proc,
    vmware_procs,
)

__all__ = ["CoreFile", "Host", "sample_host"]

_RAM_COMMON = (272, 272, 300, 350, 400, 512, 512, 600, 800, 800)
# MB; 544 as the 3.5 installer's default swap partition is background, unverified
_SWAP_COMMON = (544, 544, 544, 600, 800, 1024, 1200, 1600)


@dataclass(frozen=True, slots=True)
class CoreFile:
    """``/adv/Misc/CosCorefile`` in esx.conf (§4.1): either spelling, or absent."""

    key: str | None
    value: str | None

    @property
    def valid(self) -> bool:
        """Set, non-empty and on a VMFS volume (the convention for KB 1032962)."""
        return bool(self.value) and (self.value or "").startswith("/vmfs/volumes/")


@dataclass(frozen=True, slots=True)
class Host:
    name: str
    tz_min: int
    """Minutes east of UTC: syslog stamps are local time, epochs UTC."""
    pad_day: bool
    """Syslog pads the day to two columns ("Nov  3") rather than "Nov 3"."""
    build: Build
    cos_ram_mb: int
    mem_total_kb: int
    swap_mb: int
    swap_total_kb: int
    pcpus: int
    vms: int
    vm_cost_kb: int
    """Real memory each running VM's COS processes cost."""
    kernel_kb: int
    procs: tuple[Proc, ...]
    """Every daemon kind that runs (instances: ``Proc.count``); VMs apart."""
    vendor: str | None
    datastore: str
    core_file: CoreFile

    @property
    def capacity_kb(self) -> int:
        """Memory the Service Console can hand out before it stalls: most of RAM plus swap."""
        return self.ram_room_kb + self.swap_total_kb

    @property
    def ram_room_kb(self) -> int:
        return int(self.mem_total_kb * 0.82)


def _uuid(rng: random.Random) -> str:
    """A VMFS volume UUID as in KB 308590: ``4533e089-1dfcdd21-f1d3-001a140ebdca``."""
    return "-".join(f"{rng.getrandbits(b * 4):0{b}x}" for b in (8, 8, 4, 12))


def _core_file(rng: random.Random, name: str, datastore: str) -> CoreFile:
    key = "/adv/Misc/CosCorefile" if rng.random() < 0.7 else "/adv/Misc/CosCoreFile"
    if rng.random() < 0.75:
        return CoreFile(key, f"/vmfs/volumes/{datastore}/cos-core-{name}")
    label = rng.choice(("datastore1", "local-vmfs", f"{name}-local"))
    return CoreFile(key, f"/vmfs/volumes/{label}/cos-core")


def invalid_core_file(rng: random.Random, host: Host) -> Host:
    """``host`` with its COS core file unset, empty or outside VMFS."""
    key = rng.choice(("/adv/Misc/CosCorefile", "/adv/Misc/CosCoreFile"))
    choice = rng.randrange(4)
    if choice == 0:
        core = CoreFile(None, None)
    elif choice == 1:
        core = CoreFile(key, "")
    else:
        core = CoreFile(key, rng.choice(("/root/cos-core", "/var/core/cos-core-" + host.name)))
    return replace(host, core_file=core)


def _agents(rng: random.Random, vendor: str | None) -> tuple[Proc, ...]:
    if vendor == "HP":
        return HP[:1] + tuple(rng.sample(HP[1:], rng.randint(4, len(HP) - 1)))
    if vendor == "Dell":
        return DELL if rng.random() < 0.6 else DELL[:4]
    if vendor == "EMC":
        return EMC
    return ()


def sample_host(
    rng: random.Random,
    *,
    families: tuple[str, ...] = ("3.5", "4.0", "4.1"),
    builds: tuple[int, ...] | None = None,
    vendor: str | None = "any",
    ram_mb: tuple[int, int] = (272, 800),
    vms: tuple[int, int] = (0, 60),
) -> Host:
    """Draw one host.

    Args:
        rng: the incident's random source.
        families: release lines to draw the build from.
        builds: exact builds to draw from (overrides ``families``).
        vendor: "HP", "Dell", "EMC", None (no agents) or "any" (drawn).
        ram_mb: bounds on the configured COS RAM.
        vms: bounds on the running VMs.
    """
    pool = builds or tuple(b for b, v in BUILDS.items() if v.family in families)
    build = BUILDS[rng.choice(pool)]
    if vendor == "any":
        vendor = rng.choice((None, None, "HP", "HP", "Dell", "EMC"))
    ram_choices = [r for r in _RAM_COMMON if ram_mb[0] <= r <= ram_mb[1]]
    if ram_choices and rng.random() < 0.6:
        ram = rng.choice(ram_choices)
    else:
        ram = rng.randrange(ram_mb[0], ram_mb[1] + 1, 4)
    swap_mb = rng.choice(_SWAP_COMMON)
    name = rng.choice(HOST_NAMES)
    _, tz_min = rng.choice(TIME_ZONES)
    datastore = _uuid(rng)
    webaccess = "vmware-webAccess" if rng.random() < 0.3 else "webAccess"
    procs = (
        SYSTEM
        + vmware_procs(
            build.family, webaccess=webaccess, ha=rng.random() < 0.45, snmp=rng.random() < 0.4
        )
        + _agents(rng, vendor)
    )
    return Host(
        name=name,
        tz_min=tz_min,
        pad_day=rng.random() < 0.6,
        build=build,
        cos_ram_mb=ram,
        mem_total_kb=ram * 1024 - int(ram * 24.3) - rng.randrange(0, 600, 4),
        swap_mb=swap_mb,
        swap_total_kb=swap_mb * 1024 - 4 * rng.randint(0, 60),
        pcpus=rng.choice((2, 4, 4, 8, 8, 16)),
        vms=rng.randint(*vms),
        vm_cost_kb=rng.randint(2500, 7500),
        kernel_kb=rng.randint(30000, 56000),
        procs=procs,
        vendor=vendor,
        datastore=datastore,
        core_file=_core_file(rng, name, datastore),
    )
