"""The fault tests drive the real agent with the helpers of tests/agent: the ``agent``
fixture (monitors, daemons and other processes, all stopped at the end) and the
``memory_cgroup`` fixture (a new memory cgroup, always removed), reused as they are."""

from __future__ import annotations

from tests.agent.conftest import agent as agent
from tests.agent.conftest import memory_cgroup as memory_cgroup
