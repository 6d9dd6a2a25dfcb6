"""ESX 3.0 to ESXi 8.0 Update 3 releases as their screens, logs and commands print them.

The generator's own table (never the analyzer's): build numbers and names from
docs/reference/esx-builds.md, verified rows only, with the release named the way the real
corpus writes it (``ESXi 7.0 U1``, ``ESXi 8.0b``, ``ESXi 5.1 GA``). ESX 3.x builds have no
verified release name there, so they carry none and an incident on one names no release.

The era decides what a purple screen and a log look like (docs/reference/esx-builds.md, last
table; the real corpus): 32-bit registers and bare frames on ESX 3.x; 64-bit registers on 4.x;
``Function@module#version`` frames and ISO log stamps from ESXi 5.0; native drivers' frames
``func@(module)#<None>`` from 6.5; the ``In(182) vmkernel:`` log header and ``LogEFI.log`` on 8.0
Update 3.

Examples:
    >>> RELEASES[16850804].release, RELEASES[16850804].version
    ('ESXi 7.0 U1', '7.0.1')
    >>> RELEASES[16850804].header()
    'VMware ESXi 7.0.1 [Releasebuild-16850804 x86_64]'
    >>> RELEASES[123630].header(), RELEASES[123630].release
    ('VMware ESX Server [Releasebuild-123630]', None)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

__all__ = ["RELEASES", "Release", "releases"]


@dataclass(frozen=True, slots=True)
class Release:
    number: int
    release: str | None
    """As the corpus writes it; None where no verified name exists (ESX 3.x, patches)."""
    version: str
    """``vmware -v``'s dotted version: ``3.5.0``, ``4.1.0``, ``7.0.3``, ``8.0.3``."""
    family: str
    """``3.0``, ``3.5``, ``4.0``, ``4.1``, ``5.0`` ... ``8.0``."""
    released: dt.date
    esxi: bool = True
    """ESXi (no Service Console); ESX 3.x and 4.x classic hosts are False."""

    @property
    def major(self) -> int:
        return int(self.family.split(".")[0])

    @property
    def wide(self) -> bool:
        """64-bit VMkernel registers (``rax=``): from 4.0."""
        return self.major >= 4

    @property
    def modules_in_frames(self) -> bool:
        """Frames name their module (``Func@vmkernel#nover+0x1f``): from ESXi 5.0."""
        return self.major >= 5

    @property
    def native_drivers(self) -> bool:
        """Native drivers print ``func@(i40en)#<None>``: from 6.5 (vmklinux before)."""
        return (self.major, int(self.family.split(".")[1])) >= (6, 5)

    @property
    def iso_logs(self) -> bool:
        """vmkernel.log lines start with an ISO time (``2021-10-20T03:11:41.679Z``)."""
        return self.major >= 5

    @property
    def syslog_header(self) -> bool:
        """8.0 Update 3's ``In(182) vmkernel:`` after the ISO time (KB 433552)."""
        return self.version == "8.0.3"

    def header(self) -> str:
        """The first line of its purple screen."""
        if self.major == 3:
            return f"VMware ESX Server [Releasebuild-{self.number}]"
        if self.major == 4:
            product = "ESXi" if self.esxi else "ESX"
            return f"VMware {product} {self.version} [Releasebuild-{self.number} X86_64]"
        return f"VMware ESXi {self.version} [Releasebuild-{self.number} x86_64]"

    def vmware_v(self) -> str:
        """``vmware -v`` (verified forms for 4.1 and 5.x; the same shape assumed after)."""
        product = "VMware ESX Server" if self.major == 3 else (
            "VMware ESXi" if self.esxi else "VMware ESX")  # fmt: skip
        return f"{product} {self.version} build-{self.number}"

    def vmware_l(self) -> str:
        """``vmware -l``: ``VMware ESXi 5.1.0 GA`` (verified), ``... Update 1`` (assumed)."""
        words = (self.release or "").split()
        level = "GA"
        if len(words) > 2 and words[2].startswith("U"):
            level = f"Update {words[2][1:]}"
        return f"{self.vmware_v().rsplit(' ', 1)[0]} {level}"


def _esxi(number: int, name: str, version: str, date: str) -> Release:
    family = version.rsplit(".", 1)[0]
    y, m, d = (int(x) for x in date.split("/"))
    return Release(number, name, version, family, dt.date(y, m, d))


def _classic(
    number: int, name: str | None, version: str, date: str, *, esxi: bool = False
) -> Release:
    y, m, d = (int(x) for x in date.split("/"))
    return Release(number, name, version, version[:3], dt.date(y, m, d), esxi=esxi)


# 3.x dates are background (the builds are seen in KB artefacts: docs/reference/esx-builds.md)
RELEASES: dict[int, Release] = {
    r.number: r
    for r in (
        _classic(42531, None, "3.0.0", "2006/06/15"),
        _classic(64607, None, "3.5.0", "2007/12/10"),
        _classic(110268, None, "3.5.0", "2008/07/25"),
        _classic(123630, None, "3.5.0", "2008/11/06"),
        _classic(153875, None, "3.5.0", "2009/03/30"),
        _classic(164009, "ESX 4.0 GA", "4.0.0", "2009/05/21"),
        _classic(208167, "ESX 4.0 U1", "4.0.0", "2009/11/19"),
        _classic(261974, "ESX 4.0 U2", "4.0.0", "2010/06/10"),
        _classic(260247, "ESX 4.1 GA", "4.1.0", "2010/07/13"),
        _classic(502767, "ESX 4.1 U2", "4.1.0", "2011/10/27"),
        _classic(800380, "ESX 4.1 U3", "4.1.0", "2012/08/30"),
        _classic(702113, None, "4.1.0", "2012/05/03", esxi=True),
        _esxi(469512, "ESXi 5.0 GA", "5.0.0", "2011/08/24"),
        _esxi(623860, "ESXi 5.0 U1", "5.0.0", "2012/03/15"),
        _esxi(914586, "ESXi 5.0 U2", "5.0.0", "2012/12/20"),
        _esxi(799733, "ESXi 5.1 GA", "5.1.0", "2012/09/10"),
        _esxi(1065491, "ESXi 5.1 U1", "5.1.0", "2013/04/25"),
        _esxi(2323236, "ESXi 5.1 U3", "5.1.0", "2014/12/04"),
        _esxi(1331820, "ESXi 5.5 GA", "5.5.0", "2013/09/22"),
        _esxi(2068190, "ESXi 5.5 U2", "5.5.0", "2014/09/09"),
        _esxi(3029944, "ESXi 5.5 U3", "5.5.0", "2015/09/16"),
        _esxi(2494585, "ESXi 6.0 GA", "6.0.0", "2015/03/12"),
        _esxi(3620759, "ESXi 6.0 U2", "6.0.0", "2016/03/16"),
        _esxi(5050593, "ESXi 6.0 U3", "6.0.0", "2017/02/24"),
        _esxi(4564106, "ESXi 6.5 GA", "6.5.0", "2016/11/15"),
        _esxi(5969303, "ESXi 6.5 U1", "6.5.0", "2017/07/27"),
        _esxi(13932383, "ESXi 6.5 U3", "6.5.0", "2019/07/02"),
        _esxi(8169922, "ESXi 6.7 GA", "6.7.0", "2018/04/17"),
        _esxi(13006603, "ESXi 6.7 U2", "6.7.0", "2019/04/11"),
        _esxi(14320388, "ESXi 6.7 U3", "6.7.0", "2019/08/20"),
        _esxi(15843807, "ESXi 7.0 GA", "7.0.0", "2020/04/02"),
        _esxi(16324942, "ESXi 7.0b", "7.0.0", "2020/06/23"),
        _esxi(16850804, "ESXi 7.0 U1", "7.0.1", "2020/10/06"),
        _esxi(17630552, "ESXi 7.0 U2", "7.0.2", "2021/03/09"),
        _esxi(18644231, "ESXi 7.0 U3", "7.0.3", "2021/10/05"),
        _esxi(19193900, "ESXi 7.0 U3c", "7.0.3", "2022/01/27"),
        _esxi(21424296, "ESXi 7.0 U3l", "7.0.3", "2023/03/30"),
        _esxi(22348816, "ESXi 7.0 U3o", "7.0.3", "2023/09/28"),
        _esxi(23794027, "ESXi 7.0 U3q", "7.0.3", "2024/05/21"),
        _esxi(20513097, "ESXi 8.0 GA", "8.0.0", "2022/10/11"),
        _esxi(21203435, "ESXi 8.0b", "8.0.0", "2023/02/14"),
        _esxi(21495797, "ESXi 8.0 U1", "8.0.1", "2023/04/18"),
        _esxi(22380479, "ESXi 8.0 U2", "8.0.2", "2023/09/21"),
        _esxi(23825572, "ESXi 8.0 U2c", "8.0.2", "2024/05/21"),
        _esxi(24022510, "ESXi 8.0 U3", "8.0.3", "2024/06/25"),
        _esxi(24280767, "ESXi 8.0 U3b", "8.0.3", "2024/09/17"),
        _esxi(24674464, "ESXi 8.0 U3e", "8.0.3", "2025/04/10"),
    )
}


def releases(*families: str, esxi: bool | None = None) -> tuple[Release, ...]:
    """The releases of ``families`` (every family when none is given), ESXi or classic
    only when ``esxi`` says so."""
    return tuple(
        r
        for r in RELEASES.values()
        if (not families or r.family in families) and (esxi is None or r.esxi == esxi)
    )
