"""The live agent (Linux, standard library only): ``lostbeat hbd`` beats only while it can
get a page of memory; ``lostbeat monitor``, protected from the memory exhaustion it watches
for, declares a lost heartbeat and captures the evidence. See docs/agent.md.
"""

from __future__ import annotations
