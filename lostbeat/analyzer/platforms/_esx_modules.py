"""Who wrote the code in a VMkernel backtrace: the VMkernel core, VMware's other modules, a
device driver and its vendor (not a parser, not a rule: the ESX profiles' knowledge).

The suspect of a purple screen is the first module in the backtrace that is not the VMkernel
core (``vmkernel``, and vmklinux's driver API, the glue that calls a Linux-era driver). A
frame whose module is blank or ``<None>`` (the quoted screens of ESXi 5.x show ``be_probe@#``)
is named by its function's prefix where a driver's prefix is known (``be_`` is be2net,
Emulex's OneConnect NIC driver); a frame with no module part at all (gdb's, a bare name) names
no module. Vendors are those of the drivers' VIBs (BACKGROUND:
common knowledge of the ESXi driver catalogue, unverified here); a module the panic report
marks ``(External)`` is a partner's.

Examples:
    >>> suspect([("Util_Udelay", "vmkernel", "nover"), ("be_probe", "", None)], ())
    Suspect(module='be2net', version=None, vendor='Emulex', driver=True)
    >>> suspect([("be_probe", None, None)], ()) is None
    True
    >>> suspect([("rw_wlock", "tcpip4", "<None>")], ()).vendor
    'VMware'
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "DRIVERS",
    "Suspect",
    "hardware_frame",
    "management_frame",
    "prefix_driver",
    "suspect",
    "world_suspect",
]

CORE = frozenset({"vmkernel", "k", "com.vmware.driverAPI", "vmklinux", "vmklinux_9"})
"""The VMkernel and the vmklinux layer: never the suspect."""

VMWARE = frozenset(
    {"esx", "tcpip4", "tcpip3", "tcpip2", "dvfilter", "dvfilter-generic-fastpath", "vsan"}
    | {"lsom", "plog", "vdfs", "nfsclient", "nfs41client", "vmfs3", "vmfs6", "deltadisk"}
    | {"etherswitch", "netsched", "vmkapei", "iofilters", "hbr_filter", "vflash", "cbt"}
    | {"nsx-vsip", "nsxt-vsip", "vdrb", "vdl2", "nsx-vdrb", "nsx-vdl2", "vmw_satp_alua"}
    | {"vmw_psp_rr", "vmw_satp_local", "migrate", "fdm", "heartbeat", "vmkusb"}
)
"""VMware's own modules that are not device drivers (VMFS, TCP/IP, vSAN, NSX, ...)."""

DRIVERS: dict[str, str] = {
    **dict.fromkeys(
        ("i40en", "i40e", "ixgben", "ixgbe", "igbn", "igb", "e1000e", "e1000"), "Intel"
    ),
    **dict.fromkeys(("icen", "iavmd", "iavf", "irdman", "ixgbevf", "iesnvme"), "Intel"),
    **dict.fromkeys(
        ("bnxtnet", "bnxtroce", "bnx2", "bnx2x", "bnx2fc", "bnx2i", "tg3", "ntg3"), "Broadcom"
    ),
    **dict.fromkeys(
        ("lsi_mr3", "lsi_msgpt3", "lsi_msgpt2", "lsi_msgpt35", "mpt2sas", "mpt3sas"),
        "Broadcom (LSI)",
    ),
    **dict.fromkeys(("megaraid_sas", "megaraid_perc9", "mptsas", "mptspi"), "Broadcom (LSI)"),
    **dict.fromkeys(
        ("elxnet", "be2net", "be2iscsi", "lpfc", "lpfc820", "brcmfcoe", "elxiscsi"), "Emulex"
    ),
    **dict.fromkeys(
        ("qlnativefc", "qla2xxx", "qla4xxx", "qedentv", "qedf", "qedi", "qedrntv"),
        "QLogic (Marvell)",
    ),
    **dict.fromkeys(
        ("qfle3", "qfle3f", "qfle3i", "qcnic", "qlcnic", "nx_nic", "qlge"), "QLogic (Marvell)"
    ),
    **dict.fromkeys(
        ("nmlx4_core", "nmlx4_en", "nmlx4_rdma", "nmlx5_core", "nmlx5_rdma"), "Mellanox (NVIDIA)"
    ),
    **dict.fromkeys(("mlx4_en", "mlx4_core", "mlx5_core"), "Mellanox (NVIDIA)"),
    **dict.fromkeys(("hpsa", "nhpsa", "hpvsa", "hpdsa", "ilo", "hpilo"), "HPE"),
    **dict.fromkeys(("smartpqi", "aacraid"), "Microchip"),
    **dict.fromkeys(("enic", "nenic", "fnic", "nfnic"), "Cisco"),
    **dict.fromkeys(("sfvmk", "sfc"), "Solarflare (AMD)"),
    **dict.fromkeys(("ionic_en",), "AMD Pensando"),
    **dict.fromkeys(("nvidia",), "NVIDIA"),  # the vGPU manager's host driver (KB 394974)
    **dict.fromkeys(
        ("vmw_ahci", "ahci", "nvme", "nvme_pcie", "nvmerdma", "pvscsi", "vmxnet3"), "VMware"
    ),
    **dict.fromkeys(("ne1000", "nvmxnet3", "vmkata", "ipmi_si_drv", "ipmi"), "VMware"),
}
"""Device drivers and their vendors."""

# A function's prefix -> its driver, for frames that name no module (vmklinux drivers keep
# their Linux names: the be2net driver's functions are be_*, lpfc's lpfc_*).
_PREFIXES: tuple[tuple[str, str], ...] = (
    ("be_", "be2net"), ("beiscsi_", "be2iscsi"), ("lpfc_", "lpfc"), ("elxnet_", "elxnet"),
    ("i40en_", "i40en"), ("i40e_", "i40e"), ("ixgben_", "ixgben"), ("ixgbe_", "ixgbe"),
    ("igbn_", "igbn"), ("igb_", "igb"), ("e1000e_", "e1000e"), ("e1000_", "e1000"),
    ("bnxtnet_", "bnxtnet"), ("bnx2x_", "bnx2x"), ("bnx2_", "bnx2"), ("tg3_", "tg3"),
    ("ntg3_", "ntg3"), ("qla2x00_", "qla2xxx"), ("qla24xx", "qla2xxx"), ("qla27xx", "qla2xxx"),
    ("qlnativefc", "qlnativefc"), ("qedentv_", "qedentv"), ("qfle3_", "qfle3"),
    ("nmlx5_", "nmlx5_core"), ("nmlx4_", "nmlx4_core"), ("mlx4_", "mlx4_en"),
    ("mpt2sas_", "mpt2sas"), ("_scsih_", "mpt2sas"), ("mpt3sas_", "mpt3sas"),
    ("megasas_", "megaraid_sas"), ("mr3_", "lsi_mr3"), ("hpsa_", "hpsa"), ("pqi_", "smartpqi"),
    ("enic_", "enic"), ("fnic_", "fnic"), ("ilo_", "ilo"), ("hpilo_", "hpilo"),
)  # fmt: skip

# Handlers that raise a panic on a hardware error report: PCIe containment (DPC/EDR) and
# advanced error reporting, APEI's hardware error source table, the machine-check handler
# (KB 394393, KB 399748, KB 372284).
_HARDWARE = re.compile(r"PCIE\w*(?:DPC|EDR|AER)|\bAER_|ApeiHEST|HEST\w*Nmi|^MCE|MCA_?Handle", re.I)
# A management controller's driver (iLO, IPMI/BMC, iDRAC): its interrupt handler in a stuck
# CPU's backtrace is an NMI storm from the controller (KB 429117).
_MANAGEMENT = re.compile(r"^(?:ilo|hpilo|ipmi|bmc|idrac|imm)(?:_|\b)", re.I)


@dataclass(frozen=True, slots=True)
class Suspect:
    module: str
    version: str | None
    vendor: str | None
    driver: bool
    """A device driver's (not VMware's own modules)."""


def _vendor(module: str, external: bool) -> str | None:
    if module in DRIVERS:
        return DRIVERS[module]
    if module in VMWARE:
        return "VMware"
    return "third party" if external else None


def prefix_driver(function: str | None) -> str | None:
    """The driver a function's name prefix names (``lpfc_do_work``: lpfc), if known."""
    if not function:
        return None
    return next((d for p, d in _PREFIXES if function.startswith(p)), None)


def suspect(
    frames: Iterable[tuple[str | None, str | None, str | None]],
    involved: Iterable[tuple[str, str | None, bool]],
) -> Suspect | None:
    """The first module of the backtrace (function, module, version) that is not the core;
    else the first the panic report names as involved (module, version, external). A module
    ``""`` is a blank one (the function's prefix may name it), ``None`` none shown."""
    reported = {name: (version, external) for name, version, external in involved}
    for function, module, version in frames:
        name = module if module not in ("", "#") else prefix_driver(function)
        if name is None or name in CORE:
            continue
        shown = version if version not in (None, "", "nover", "<None>") else None
        version_, external = reported.get(name, (shown, False))
        return Suspect(name, version_ or shown, _vendor(name, external), name in DRIVERS)
    for name, (version, external) in reported.items():
        if name not in CORE:
            driver = name in DRIVERS or external
            return Suspect(name, version, _vendor(name, external), driver)
    return None


_BY_LENGTH = sorted(DRIVERS, key=len, reverse=True)  # "nmlx5_core" before "nmlx5"
_WORLD_NAME = re.compile(r"\bin world [^\s:]+:(?P<name>[A-Za-z_][\w.\-]*)", re.ASCII)
# a device and the driver that owns it, as a fault names them: "(vmhba2/lpfc)"
_OWNER = re.compile(
    r"\bIOMMU Fault detected for [^()]*\([\w.\-]+/(?P<mod>[a-z][\w.\-]*)\)", re.ASCII
)


def world_suspect(message: str | None) -> Suspect | None:
    """The driver whose own world faulted, by the world's name in the panic message, for a
    screen that shows no module (``#PF Exception 14 in world 2101:lpfc_do_work IP ...``: the
    lpfc driver's worker; a driver names its worlds ``<driver>_<what>``); or the driver that
    owns the device a fault names as ``(<device>/<driver>)`` (``IOMMU Fault detected for
    (vmgpX/nvidia)``, KB 394974: the device's DMA is its driver's doing).

    >>> world_suspect("#PF Exception 14 in world 7:lpfc_do_work IP 0x1 addr 0x0").module
    'lpfc'
    >>> world_suspect("#PF Exception 14 in world 7:vmnic0-pollW IP 0x1") is None
    True
    >>> world_suspect("IOMMU Fault detected for 0000:3b:00.0 (vmhba3/qlnativefc)").vendor
    'QLogic (Marvell)'
    """
    m = _WORLD_NAME.search(message or "")
    world = m["name"] if m else ""
    name = next((d for d in _BY_LENGTH if world.startswith(f"{d}_")), None)
    if name is None and (owner := _OWNER.search(message or "")) and owner["mod"] not in CORE:
        module = owner["mod"]
        return Suspect(module, None, DRIVERS.get(module), True)
    return Suspect(name, None, DRIVERS[name], True) if name else None


def hardware_frame(functions: Iterable[str | None]) -> bool:
    """Whether the backtrace runs through a hardware-error handler."""
    return any(f and _HARDWARE.search(f) for f in functions)


def management_frame(functions: Iterable[str | None], modules: Iterable[str | None]) -> bool:
    """Whether the backtrace holds a management controller's driver."""
    return any(f and _MANAGEMENT.match(f) for f in functions) or any(
        m and _MANAGEMENT.match(m) for m in modules
    )
