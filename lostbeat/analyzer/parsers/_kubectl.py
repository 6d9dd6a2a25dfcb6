"""What Kubernetes says of an OOM kill: ``kubectl get pods``, ``describe pod|node``, events, YAML.

Forms from docs/reference/linux-logs.md §6: a container killed at its own memory limit shows
``OOMKilled`` (the STATUS column of ``get pods``, ``Reason: OOMKilled`` in ``describe pod``,
``reason: OOMKilled`` in ``-o yaml``, ``"reason": "OOMKilled"`` in ``-o json``; Kubernetes'
``pkg/kubelet`` sets the reason from the runtime's ``OOMKilled`` flag), a memory cgroup OOM;
a node-wide one is the kubelet's ``SystemOOM`` event (``pkg/kubelet/oom/oom_watcher_linux.go``:
``System OOM encountered``, later with ``, victim process: NAME, pid: N``). The kernel did the
kill either way; the killer is ``kubelet`` because only Kubernetes' report shows it.

Examples:
    >>> from lostbeat.analyzer.parsers._frames import frame
    >>> k = Kube()
    >>> k.feed(frame("NAME          READY   STATUS      RESTARTS   AGE", 1))
    >>> k.feed(frame("web-7f9c-x2   0/1     OOMKilled   1 (96s ago)   4m", 2))
    >>> [(i.type.value, i.victim) for i in k.finish()]
    [('oom_kill', 'web-7f9c-x2')]
"""

from __future__ import annotations

import re

from lostbeat.analyzer.parsers._frames import Frame
from lostbeat.analyzer.parsers._kernel_report import Incident
from lostbeat.analyzer.result import CrashType

__all__ = ["Kube"]

_GET_HEADER = re.compile(r"^(?:NAMESPACE\s+)?NAME\s+READY\s+STATUS\s+RESTARTS\b")
# describe's and YAML's, and JSON's ("name": "web-1",) of ``kubectl get pod -o json``
_NAME = re.compile(r'^(?:Name|name|- name|"name"):\s+"?([^\s"]+)"?,?\s*$')
_REASON = re.compile(r'^\s*"?[Rr]eason"?:\s+"?OOMKilled"?,?\s*$')
# node-problem-detector's kernel monitor quotes the kernel's kill line in an OOMKilling event
# (its reason as configured: "OOMKilling", "PodOOMKilling"), one line of describe's Events;
# in an event's JSON or YAML the kill line is the message field's, the reason on another line
_OOM_KILLING = re.compile(
    r"OOMKilling\b[^(]*?Kill(?:ed)? process "
    r"(?P<pid>\d+) \((?P<name>[^)]*)\)"
)
_MESSAGE_KILL = re.compile(
    r"^(?:- )?\"?message\"?: +[\"']?(?:Memory cgroup out of memory|Out of memory): Kill(?:ed)? "
    r"process (?P<pid>\d+) \((?P<name>[^)]*)\)"
)
# docker inspect: the container's State.OOMKilled, and its Name ("/web") before it
_DOCKER_NAME = re.compile(r'^\s*"Name": "/?(?P<name>[^"]+)",?$')
_DOCKER_OOM = re.compile(r'^\s*"OOMKilled": true,?$')
_SYSTEM_OOM = re.compile(
    r"\bSystemOOM\b.*System OOM encountered(?:, victim process: (?P<name>.+?), pid: (?P<pid>\d+))?"
)


class Kube:
    """Reads frames of kubectl output; :meth:`finish` gives Kubernetes' OOM incidents."""

    def __init__(self) -> None:
        self.incidents: list[Incident] = []
        self.status_col: int | None = None
        self.name: str | None = None  # the object described, or the last name in YAML

    def _add(
        self,
        f: Frame,
        kind: CrashType,
        victim: str | None,
        pid: int | None,
        *,
        in_cgroup: bool = True,
    ) -> None:
        self.incidents.append(
            Incident(
                kind,
                f.line_no,
                f.text,
                "kubelet",
                victim,
                pid,
                at=f.at,
                clock=f.clock,
                memory=True,
                in_cgroup=in_cgroup,
                lines=((f.line_no, f.text),),
            )  # fmt: skip
        )

    def feed(self, f: Frame) -> None:
        text = f.text
        if _GET_HEADER.match(text):
            self.status_col = text.split().index("STATUS")
            return
        if self.status_col is not None:
            words = text.split()
            if len(words) > self.status_col and words[self.status_col] == "OOMKilled":
                name = words[1] if text.startswith(("NAMESPACE",)) else words[0]
                self._add(f, CrashType.OOM_KILL, name, None)
                return
        if text.startswith(("apiVersion:", "---", '"apiVersion":')):
            self.name = None  # the next object (a YAML list or stream)
            return
        if (m := _NAME.match(text)) is not None:
            # the object's own name comes first (describe's Name:, YAML's metadata.name);
            # a container's "- name:" after it is not the pod's
            if self.name is None or text.startswith("Name:"):
                self.name = m[1]
            return
        if _REASON.match(text):
            self._add(f, CrashType.OOM_KILL, self.name, None)
            return
        if (m := _DOCKER_NAME.match(text)) is not None:
            self.name = m["name"]
            return
        if _DOCKER_OOM.match(text):
            self._add(f, CrashType.OOM_KILL, self.name, None)
            return
        if (m := _OOM_KILLING.search(text) or _MESSAGE_KILL.match(text.lstrip())) is not None:
            cgroup = "Memory cgroup" in text
            self._add(f, CrashType.OOM_KILL, m["name"], int(m["pid"]), in_cgroup=cgroup)
            return
        if (m := _SYSTEM_OOM.search(text)) is not None:
            pid = m["pid"]
            victim_pid = int(pid) if pid else None
            self._add(f, CrashType.OOM_KILL, m["name"], victim_pid, in_cgroup=False)

    def finish(self) -> list[Incident]:
        return self.incidents
