"""ESX 3.5/4.x vm-support bundles after a VMkernel purple screen of every kind: the
``vmkernel-psod`` scenario's host, history and bundle, with the screen and the zdump's log
of an exception, a lockup, a Machine Check, an NMI, an assertion or a full heap.

The bundle is the one ``assemble.py`` lays out (esx-artifacts.md §3, §5); only its crash
files change: ``root/vmkernel-log.1`` (``vmkdump -l``'s extract: uptime-stamped lines, no
syslog header) and the transcribed ``psod.txt``. The answer key is what they settle, with
the build the bundle's version files always show and, as for every ESX 3.x/4.x crash that is
not a lost heartbeat, a cause other than memory.

Examples:
    >>> import random
    >>> w = classic_bundle_psod(random.Random(2))
    >>> w.files[0][0].endswith(".tgz"), w.expect.crash_type.value
    (True, 'vmkernel')
"""

from __future__ import annotations

import random
import re
from dataclasses import replace

from lostbeat.analyzer.result import CauseKind
from lostbeat.scenarios.assemble import assemble
from lostbeat.scenarios.bundle import tgz_bytes
from lostbeat.scenarios.esx.forms import settle
from lostbeat.scenarios.esx.panic import draw
from lostbeat.scenarios.esx.releases import RELEASES, Release
from lostbeat.scenarios.esx.render import screen, vmkernel_log
from lostbeat.scenarios.loose import Written
from lostbeat.scenarios.paste import decorate, text_of
from lostbeat.scenarios.scenarios import BUILDERS
from lostbeat.scenarios.simulate import simulate

__all__ = ["classic_bundle_psod"]

_SYSLOG = re.compile(r"^\w{3} +\d+ \d\d:\d\d:\d\d \S+ vmkernel: ")


def classic_bundle_psod(rng: random.Random) -> Written:
    spec = replace(BUILDERS["vmkernel-psod"](rng, 0), variant="pf_exception", boot_failure=False)
    timeline = simulate(spec, rng)
    case = assemble(spec, timeline, rng)
    build = spec.host.build
    release = RELEASES.get(build.number) or Release(
        build.number, None, build.version, build.family, build.released, esxi=False
    )
    assert timeline.crash_at is not None
    kind = rng.choice(("exception", "exception", "lockup", "mce", "nmi", "assert", "heap"))
    p = draw(rng, kind, release)
    p = replace(p, uptime_s=timeline.crash_at - timeline.crash_vmk_load + rng.uniform(0, 0.9))
    files = dict(case.files)
    extras = dict(case.extras)
    if "root/vmkernel-log.1" in files:
        log = vmkernel_log(p, rng, end=timeline.crash_at, host=spec.host.name, noise=[])
        files["root/vmkernel-log.1"] = text_of(
            [_SYSLOG.sub("", ln.text) for ln in log], rng, crlf=0
        ).encode()
    if "psod.txt" in extras:
        extras["psod.txt"] = text_of(
            decorate([ln.text for ln in screen(p, rng)], rng, allow="i"), rng
        ).encode()
    shown = "\n".join(data.decode(errors="replace") for data in (*files.values(), *extras.values()))
    expect = replace(settle(p, shown), root_cause_kind=CauseKind.NOT_MEMORY)
    forms = ["vmkernel_log_crash", "zdump_log"] if "root/vmkernel-log.1" in files else []
    forms += ["full_screen"] if "psod.txt" in extras else []
    forms += {"mce": ["mce"], "nmi": ["nmi_management_controller"]}.get(kind, [])
    written = [(case.archive_name, tgz_bytes(replace(case, files=files))),
               *sorted(extras.items())]  # fmt: skip
    return Written("esx_classic", tuple(written), ("vm_support_bundle", *forms), expect,
                   (("kind", kind), ("build", str(build.number))))  # fmt: skip
