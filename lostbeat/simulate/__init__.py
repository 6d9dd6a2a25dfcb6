"""``lostbeat simulate``: a real lost heartbeat on this machine, end to end.

A memory cgroup plays the Service Console: the heartbeat daemon, a few steady programs and
a scenario's workload run inside it, the monitor and the recorder outside. When the group
runs out of memory the heartbeat stops, the monitor captures, and the analyzer reads the
recording plus the capture and names the cause.

Modules: :mod:`~lostbeat.simulate.config` (what a run is asked, and the checks before it
starts), :mod:`~lostbeat.simulate.cgroups` (which cgroup version the host has, and the
group), :mod:`~lostbeat.simulate.removal` (removing it, whatever is left in it),
:mod:`~lostbeat.simulate.workloads` (the programs run inside it),
:mod:`~lostbeat.simulate.plans` (which programs each scenario runs, and the verdict it
expects), :mod:`~lostbeat.simulate.children` (starting and stopping them),
:mod:`~lostbeat.simulate.watch` (waiting for the loss and its capture) and
:mod:`~lostbeat.simulate.run` (the whole run, cleaned up whatever happens).

The package imports nothing heavy here: the workloads are started as
``python -m lostbeat.simulate.workloads`` and must stay small.
"""

from __future__ import annotations
