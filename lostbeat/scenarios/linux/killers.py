"""What userspace killers and Kubernetes print (docs/reference/linux-logs.md §6): earlyoom of
four eras (its own output or the journal), systemd-oomd (pressure and swap kills, v255's
candidate list), nohang (output, log file, journal), and ``kubectl`` (``describe pod``,
``get pods``, ``-o yaml``, ``describe node``).

Each returns its lines and the answer key: ``crash.killer`` the tool (``kubelet`` where only
Kubernetes reports the kill), ``crash.victim`` as the tool names it (a process, a unit or
scope for systemd-oomd, a pod for Kubernetes), ``crash.class`` memory exhaustion.

Examples:
    >>> import random
    >>> lines, e = earlyoom(random.Random(1), "java", 4242, journal=False, start=0)
    >>> e.killer, e.victim, any('"java"' in ln for ln in lines)
    ('earlyoom', 'java', True)
"""

from __future__ import annotations

import datetime as dt
import random

from lostbeat.analyzer.result import CrashClass, CrashType
from lostbeat.scenarios.expect import Expect

__all__ = ["earlyoom", "kubectl", "nohang", "oomd"]

_MEMORY = CrashClass.MEMORY_EXHAUSTION


def _mib(rng: random.Random) -> tuple[int, int]:
    total = rng.choice((1950, 3900, 7821, 15885, 31880, 64203))
    return total, total


def earlyoom(
    rng: random.Random, victim: str, pid: int, *, journal: bool, start: int
) -> tuple[list[str], Expect]:
    """earlyoom's status lines, then its kill of ``victim`` (one era's wording, drawn)."""
    era = rng.choice(("2018", "1.2", "1.6", "1.8"))
    total, _ = _mib(rng)
    swap = rng.choice((0, 1023, 2047, 8191))
    rss = rng.randint(total // 4, total * 9 // 10)
    lines = []
    # the status lines earlyoom prints as memory goes, falling towards the kill
    falling = sorted((rng.randint(total // 4, total - 100) for _ in range(rng.randint(1, 5))),
                     reverse=True)  # fmt: skip
    for avail in falling:
        free = rng.randint(swap // 3, swap) if swap else 0
        lines.append(f"mem avail: {avail:>5} of {total:>5} MiB ({100 * avail / total:5.2f}%), "
                     f"swap free: {free:>4} of {swap:>4} MiB ({100 * free / max(swap, 1):5.2f}%)")  # fmt: skip # noqa: E501
    low = rng.randint(5, total // 12)
    if era == "2018" and rng.random() < 0.5:
        lines += [f"Out of memory! avail: {low} MiB < min: {total // 10} MiB",
                  f"Killing process {pid} {victim}"]  # fmt: skip
    elif era == "2018":
        lines += ["Low Memory! At or below sigterm limits (mem: 10 %, swap: 10 %)",
                  f"Killing process '{victim}' with signal 15, pid: {pid}, badness: "
                  f"{rng.randint(300, 999)}, VmRSS: {rss} MiB"]  # fmt: skip
    else:
        pct = "10 %, swap 10 %" if era == "1.2" else "10.00%, swap 10.00%"
        lines.append(f"mem avail: {low:>5} of {total:>5} MiB ({100 * low / total:5.2f}%), "
                     f"swap free: {0:>4} of {swap:>4} MiB ({0:5.2f}%)")  # fmt: skip
        lines.append(f"low memory! at or below SIGTERM limits: mem {pct}")
        uid = f" uid {rng.choice((0, 1000, 1001))}" if era != "1.2" else ""
        if era == "1.8":
            lines.append(f'sending SIGTERM to process {pid}{uid} "{victim}": oom_score '
                         f'{rng.randint(600, 1300)}, VmRSS {rss} MiB, cmdline "/usr/bin/{victim}"')  # fmt: skip # noqa: E501
        else:
            lines.append(f'sending SIGTERM to process {pid}{uid} "{victim}": badness '
                         f"{rng.randint(300, 999)}, VmRSS {rss} MiB")  # fmt: skip
        if rng.random() < 0.3:
            lines.append(f"escalating to SIGKILL after {rng.uniform(0.5, 9.9):.1f} seconds")
        lines.append(f"process exited after {rng.uniform(0.1, 10):.1f} seconds")
    if journal:
        me = rng.randint(500, 3000)
        host = rng.choice(("desktop", "build01", "fedora", "ws-ana"))
        at = start
        out = []
        for ln in lines:
            at += rng.randint(0, 3600) if ln.startswith("mem avail") else 0
            w = dt.datetime.fromtimestamp(at, dt.UTC)
            out.append(f"{w:%b %d %H:%M:%S} {host} earlyoom[{me}]: {ln}")
        lines = out
    elif rng.random() < 0.3:
        w = dt.datetime.fromtimestamp(start, dt.UTC)
        lines = [f"{w:%b %d %H:%M:%S}: {ln}" for ln in lines]
    return lines, Expect(CrashType.OOM_KILL, _MEMORY, killer="earlyoom", victim=victim)


def oomd(rng: random.Random, *, host: str, start: int) -> tuple[list[str], Expect]:
    """systemd-oomd's kill of a unit or scope, and what the service manager says after."""
    user = rng.choice((1000, 1001))
    if rng.random() < 0.5:
        unit = rng.choice((f"vte-spawn-{rng.getrandbits(128):032x}.scope",
                           f"app-gnome-firefox-{rng.randint(2000, 90000)}.scope",
                           f"run-u{rng.randint(10, 900)}.service"))  # fmt: skip
        slice_ = f"/user.slice/user-{user}.slice/user@{user}.service"
        path = f"{slice_}/app.slice/{unit}"
        manager = f"systemd[{rng.randint(900, 3000)}]"
    else:
        unit = rng.choice(
            ("httpd.service", "backup.service", "ci-runner.service", "jupyter.service")
        )
        slice_ = "/system.slice"
        path = f"{slice_}/{unit}"
        manager = "systemd[1]"
    limit = rng.choice((50, 60, 80))
    pressure = rng.uniform(limit + 1, 99)
    me = rng.randint(500, 1500)
    lines = []
    if rng.random() < 0.4:
        lines.append(f"Considered {rng.randint(20, 140)} cgroups for killing, top candidates were:")
        for cand in (path, f"{slice_}/other-{rng.randint(1, 99)}.scope"):
            lines += [f"\tPath: {cand}", f"\t\tMemory Pressure Limit: {limit}.00%",
                      f"\t\tPressure: Avg10: {pressure:.2f} Avg60: {pressure - 5:.2f} Avg300: "
                      f"{pressure - 20:.2f} Total: {rng.randint(10, 300)}s",
                      f"\t\tCurrent Memory Usage: {rng.uniform(1, 30):.1f}G",
                      "\t\tMemory Min: 0B", "\t\tMemory Low: 0B",
                      f"\t\tPgscan: {rng.randint(10**5, 10**8)}", f"\t\tLast Pgscan: {rng.randint(10**5, 10**8)}"]  # fmt: skip # noqa: E501
    if slice_ == "/system.slice" and rng.random() < 0.5:
        total = rng.choice((16, 32, 64)) * 1024**3
        lines.append(f"Killed {path} due to memory used ({int(total * 0.97)}) / total ({total}) "
                     f"and swap used ({int(total * 0.12)}) / total ({total // 8}) being more than 90.00%")  # fmt: skip # noqa: E501
    else:
        lines.append(f"Killed {path} due to memory pressure for {slice_} being {pressure:.2f}% > "
                     f"{limit}.00% for > 20s with reclaim activity")  # fmt: skip
    out = []
    at = start
    for ln in lines:
        w = dt.datetime.fromtimestamp(at, dt.UTC)
        out.append(f"{w:%b %d %H:%M:%S} {host} systemd-oomd[{me}]: {ln}")
    at += 1
    w = dt.datetime.fromtimestamp(at, dt.UTC)
    out.append(f"{w:%b %d %H:%M:%S} {host} {manager}: {unit}: systemd-oomd killed "
               f"{rng.randint(1, 40)} process(es) in this unit.")  # fmt: skip
    if unit.endswith(".service"):
        out.append(f"{w:%b %d %H:%M:%S} {host} {manager}: {unit}: Failed with result 'oom-kill'.")
    out.append(f"{w:%b %d %H:%M:%S} {host} {manager}: {unit}: Consumed {rng.randint(1, 59)}min "
               f"{rng.uniform(0, 59):.3f}s CPU time.")  # fmt: skip
    return out, Expect(CrashType.OOM_KILL, _MEMORY, killer="systemd-oomd", victim=unit)


def nohang(rng: random.Random, victim: str, pid: int, *, start: int) -> tuple[list[str], Expect]:
    """nohang's corrective action on ``victim``: its output, or its log file's form."""
    total = rng.choice((3900, 7821, 15885))
    avail = rng.randint(0, total // 20)
    status = ["Memory status that requires corrective actions:",
              f"  MemAvailable [{avail} MiB, {100 * avail / total:.1f} %] <= soft_threshold_min_mem "  # noqa: E501
              f"[{total // 10} MiB, 10.0 %]",
              f"  SwapFree [{rng.randint(0, 200)} MiB, {rng.uniform(0, 9):.1f} %] <= "
              f"soft_threshold_min_swap [{rng.randint(200, 900)} MiB, 10.0 %]"]  # fmt: skip
    badness = rng.randint(400, 999)
    lines = [*status, f"Found {rng.randint(40, 400)} processes with existing /proc/[pid]/exe realpath",  # noqa: E501
             f"Process with highest badness (found in {rng.randint(2, 40)} ms):",
             f"  PID: {pid}, Name: {victim}, badness: {badness}",
             "Implement a corrective action:",
             f"  Send SIGTERM to the victim; total response time: {rng.randint(5, 900)} ms",
             f"Victim VmRSS: {rng.randint(100, total) * 1024} KiB",
             f"The victim doesn't respond on corrective action in {rng.uniform(0.01, 2):.3f} sec"]  # fmt: skip # noqa: E501
    if rng.random() < 0.5:
        w = dt.datetime.fromtimestamp(start, dt.UTC)
        stamp = f"{w:%Y-%m-%d %H:%M:%S},{rng.randint(0, 999):03}: "
        lines = [(stamp if not ln.startswith("  ") else "") + ln for ln in lines]
    return lines, Expect(CrashType.OOM_KILL, _MEMORY, killer="nohang", victim=victim)


def kubectl(rng: random.Random, *, start: int) -> tuple[str, list[str], Expect]:
    """A container OOM-killed under its limit, as ``kubectl`` shows it; or a node's system
    OOMs. Returns (file name, lines, answer)."""
    app = rng.choice(("api", "worker", "checkout", "search-indexer", "report-gen", "ingest"))
    rs = f"{rng.getrandbits(40):010x}"[:10]
    pod = f"{app}-{rs}-{''.join(rng.choice('bcdfghjklmnpqrstvwxz2456789') for _ in range(5))}"
    ns = rng.choice(("default", "prod", "payments", "data"))
    w = dt.datetime.fromtimestamp(start, dt.UTC)
    limit = rng.choice(("256Mi", "512Mi", "1Gi", "2Gi", "4Gi"))
    killed = Expect(CrashType.OOM_KILL, _MEMORY, killer="kubelet", victim=pod)
    roll = rng.random()
    if roll < 0.45:
        restarts = rng.randint(1, 40)
        lines = [f"Name:             {pod}", f"Namespace:        {ns}", "Priority:         0",
                 f"Node:             k8s-worker-{rng.randint(1, 9)}/10.0.{rng.randint(0, 9)}.{rng.randint(2, 250)}",  # noqa: E501
                 f"Start Time:       {w:%a, %d %b %Y %H:%M:%S} +0000", f"Labels:           app={app}",  # noqa: E501
                 f"                  pod-template-hash={rs}", "Status:           Running",
                 f"Controlled By:  ReplicaSet/{app}-{rs}", "Containers:", f"  {app}:",
                 f"    Container ID:   containerd://{rng.getrandbits(256):064x}",
                 f"    Image:          registry.example.com/{app}:{rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}",  # noqa: E501
                 "    State:          Running",
                 f"      Started:      {w:%a, %d %b %Y %H:%M:%S} +0000",
                 "    Last State:     Terminated",
                 "      Reason:       OOMKilled",
                 f"      Exit Code:    {rng.choice((137, 137, 137, 0, 1))}",
                 "    Ready:          True", f"    Restart Count:  {restarts}",
                 "    Limits:", f"      memory:  {limit}", "    Requests:", "      cpu:        250m",  # noqa: E501
                 f"      memory:     {limit}", "Events:",
                 "  Type     Reason   Age                  From     Message",
                 "  ----     ------   ----                 ----     -------",
                 f"  Warning  BackOff  {rng.randint(1, 59)}m (x{restarts} over {rng.randint(1, 12)}h)  kubelet  Back-off restarting failed container {app} in pod {pod}_{ns}({rng.getrandbits(128):032x})"]  # fmt: skip # noqa: E501
        return "describe-pod.txt", lines, killed
    if roll < 0.7:
        others = [
            f"{o}-{rng.getrandbits(40):010x}-{rng.getrandbits(20):05x}"
            for o in ("web", "cron", "db-proxy")
        ]
        rows = [(pod, "0/1", "OOMKilled", f"{rng.randint(1, 9)} ({rng.randint(10, 99)}s ago)")]
        rows += [(o, "1/1", "Running", "0") for o in others]
        rng.shuffle(rows)
        lines = [
            f"$ kubectl get pods -n {ns}",
            f"{'NAME':<34}READY   STATUS      RESTARTS       AGE",
        ]
        lines += [f"{n:<34}{r:<8}{s:<12}{c:<15}{rng.randint(2, 59)}m" for n, r, s, c in rows]
        return "get-pods.txt", lines, killed
    if roll < 0.85:
        lines = ["apiVersion: v1", "kind: Pod", "metadata:", f"  name: {pod}", f"  namespace: {ns}",
                 "status:", "  containerStatuses:", f"  - name: {app}", "    lastState:",
                 "      terminated:", f"        containerID: containerd://{rng.getrandbits(256):064x}",
                 "        exitCode: 137", f"        finishedAt: \"{w:%Y-%m-%dT%H:%M:%S}Z\"",
                 "        reason: OOMKilled", f"    restartCount: {rng.randint(1, 30)}"]  # fmt: skip # noqa: E501
        return "pod.yaml", lines, killed
    node = f"node{rng.randint(1, 9)}"
    count = rng.randint(2, 5)
    victim = rng.choice(("java", "python3", "node", "postgres"))
    lines = [f"Name:               {node}", "Roles:              <none>", "Events:",
             "  Type     Reason                   Age   From             Message",
             "  ----     ------                   ----  ----             -------"]  # fmt: skip
    for i in range(count):
        lines.append(f"  Warning  SystemOOM                {count * 3 - i * 3}m    kubelet, {node}  "  # noqa: E501
                     f"System OOM encountered, victim process: {victim}, pid: {rng.randint(1000, 90000)}")  # fmt: skip # noqa: E501
    lines.append(f"  Normal   NodeHasSufficientMemory  {rng.randint(1, 3)}m    kubelet, {node}  "
                 f"Node {node} status is now: NodeHasSufficientMemory")  # fmt: skip
    return "describe-node.txt", lines, Expect(CrashType.OOM_KILL, _MEMORY, killer="kubelet",
                                              victim=victim, incidents=count)  # fmt: skip
