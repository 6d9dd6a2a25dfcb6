"""The one mountinfo parser, and cgroup v1/v2 detection by the agent and by ``simulate`` alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from lostbeat.agent import cgroup as cg
from lostbeat.agent.mountinfo import parse_mountinfo, unescape
from lostbeat.procfs import Procfs
from lostbeat.simulate import cgroups


@pytest.mark.parametrize(
    ("field", "text"),
    [
        (r"/mnt/a\040b", "/mnt/a b"),  # space
        (r"/mnt/tab\011x", "/mnt/tab\tx"),  # tab
        (r"/mnt/nl\012x", "/mnt/nl\nx"),  # newline
        (r"/mnt/back\134slash", "/mnt/back\\slash"),  # backslash
        (r"/mnt/two\040\040spaces", "/mnt/two  spaces"),
        (r"/mnt/\134040", "/mnt/\\040"),  # an escaped backslash followed by digits
        (r"/mnt/not\8escape\40", r"/mnt/not\8escape\40"),  # not three octal digits
        ("/mnt/caf\u00e9", "/mnt/caf\u00e9"),  # other bytes are written as they are
    ],
)
def test_octal_escapes(field: str, text: str) -> None:
    assert unescape(field) == text


def test_every_field_and_optional_fields() -> None:
    line = (
        "61 29 0:26 /a\\040b /sys/fs/my\\040cg rw,relatime shared:4 master:1 "
        "- cgroup2 my\\040src rw,nsdelegate"
    )
    (mount,) = parse_mountinfo(line + "\n")
    assert (mount.mount_id, mount.parent_id, mount.root) == (61, 29, "/a b")
    assert mount.mount_point == Path("/sys/fs/my cg")
    assert (mount.fs_type, mount.source) == ("cgroup2", "my src")
    assert mount.super_options == frozenset({"rw", "nsdelegate"})


def test_malformed_lines_are_left_out() -> None:
    text = "garbage\nx y 0:1 / /m rw - tmpfs t rw\n1 2 0:1 / /m rw tmpfs t rw\n3 1 0:2 / /ok rw - t s\n"
    assert [str(m.mount_point) for m in parse_mountinfo(text)] == ["/ok"]


# a systemd host in the hybrid layout (v1 controllers, cgroup2 without memory), a pure v2
# host, and a container that sees only its own subtree of a v2 hierarchy
HYBRID = """\
30 24 0:27 / /sys/fs/cgroup rw - tmpfs tmpfs ro,mode=755
31 30 0:28 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate
32 30 0:29 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd
35 30 0:32 / /sys/fs/cgroup/memory\\040v1 rw - cgroup cgroup rw,memory
36 30 0:33 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
"""


def _v2(tmp_path: Path, *, root: str = "/", name: str = "cg 2") -> tuple[str, Path]:
    mount = tmp_path / name
    mount.mkdir()
    (mount / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    escaped = str(mount).replace(" ", "\\040")
    return f"29 23 0:26 {root} {escaped} rw - cgroup2 cgroup2 rw,nsdelegate\n", mount


def _both(text: str, tmp_path: Path) -> tuple[cg.Hierarchy | None, cgroups.Controllers]:
    """Detection by the agent (through a /proc) and by simulate (from the text)."""
    (tmp_path / "proc" / "self").mkdir(parents=True, exist_ok=True)
    (tmp_path / "proc" / "self" / "mountinfo").write_text(text)
    return cg.memory_hierarchy(Procfs(tmp_path / "proc")), cgroups.detect(text)


def test_hybrid_host_is_v1_for_both(tmp_path: Path) -> None:
    agent, simulate = _both(HYBRID, tmp_path)
    want = cg.Hierarchy(cg.CgroupVersion.V1, Path("/sys/fs/cgroup/memory v1"))
    assert agent == simulate.memory == want
    assert simulate.cpu == Path("/sys/fs/cgroup/cpu,cpuacct")


def test_pure_v2_host_with_a_space_in_the_mount_is_v2_for_both(tmp_path: Path) -> None:
    line, mount = _v2(tmp_path)
    agent, simulate = _both(line, tmp_path)
    assert agent == simulate.memory == cg.Hierarchy(cg.CgroupVersion.V2, mount)
    assert simulate.cpu == mount
    (mount / "a").mkdir()
    (mount / "a" / "cgroup.procs").write_text("")
    assert agent is not None and cg.resolve(str(mount / "a"), agent).path == "/a"


def test_a_container_sees_its_subtree_at_the_mount(tmp_path: Path) -> None:
    line, mount = _v2(tmp_path, root="/lostbeat.slice", name="cg")
    agent, _ = _both(line, tmp_path)
    assert agent is not None and agent.root == "/lostbeat.slice"
    (mount / "w").mkdir()
    (mount / "w" / "cgroup.procs").write_text("")
    # a hierarchy path (as /proc/PID/cgroup names it) and a folder name the same group
    by_path = cg.resolve("/lostbeat.slice/w", agent)
    assert by_path == cg.resolve(str(mount / "w"), agent)
    assert by_path.path == "/lostbeat.slice/w" and by_path.fs_path == mount / "w"


def test_v2_mount_without_memory_is_no_controller_for_both(tmp_path: Path) -> None:
    line, mount = _v2(tmp_path)
    (mount / "cgroup.controllers").write_text("cpu io pids\n")
    agent, simulate = _both(line, tmp_path)
    assert agent is None and simulate == cgroups.Controllers(None, None)
