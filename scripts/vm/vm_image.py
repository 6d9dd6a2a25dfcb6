"""The VM image: Debian 12 with systemd, and the checkout installed in a virtual environment.

Built in two layers under the cache folder (``~/.cache/lostbeat/vm``, or
``$LOSTBEAT_VM_CACHE``), each kept under the hash of what it is made from, so a layer is
rebuilt only when its recipe changes:

======================  ==========================================  ==========================
layer                   made from                                   how
======================  ==========================================  ==========================
``root-<hash>/``        ``recipe/packages``, ``configure-base``,    debootstrap (minbase), then
                        the project's dependencies (pyproject.toml) ``pip download`` of cp311
                        and the suite's (``guest-requirements.txt``) wheels on the host and
                                                                    ``pip install --no-index``
                                                                    in a chroot
``image-<hash>.raw``    the root, the project's wheel inputs        the checkout's wheel
                        (``lostbeat/``, ``contrib/systemd/``,       installed in a chroot, the
                        ``docs/agent.md``, pyproject, README),      suite and its unit added;
                        ``scripts/vm/guest/``, ``tests/vm/guest/``  ``mkfs.ext4 -d``
======================  ==========================================  ==========================

The image is made from a hard-linked copy of the root (``cp -al``: no data copied) to which
only new files are added, so the root stays as it was. The guest needs no network: every
wheel is fetched on the host (and qemu gives it no network device). The image is never
written to when it boots (qemu's ``snapshot=on``), so every run starts from the same disk.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHECKOUT = HERE.parents[1]
RECIPE = HERE / "recipe"
SUITE = "bookworm"
GUEST_PYTHON = "3.11"  # Debian 12's python3
VENV = "/opt/lostbeat"
SUITE_DIR = "/opt/lostbeat-vm"
IMAGE_BYTES = 3 << 30  # sparse: the file holds only what is written
KEEP = 2  # layers of each kind kept (two checkouts taking turns do not rebuild each time)
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")

Say = Callable[[str], None]


class BuildError(Exception):
    """A step of the build failed; the message says which and why."""


def cache_root() -> Path:
    return Path(os.environ.get("LOSTBEAT_VM_CACHE", Path.home() / ".cache" / "lostbeat" / "vm"))


def _files(root: Path, *names: str) -> list[Path]:
    """Every file under ``names`` (files or folders) of ``root``, without bytecode."""
    out: list[Path] = []
    for name in names:
        path = root / name
        if path.is_file():
            out.append(path)
        elif path.is_dir():
            out.extend(
                p
                for p in path.rglob("*")
                if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
            )
    return sorted(out)


def digest(paths: Iterable[Path], root: Path, *extra: str) -> str:
    """A hash of the files' paths (relative to ``root``), modes and contents, and ``extra``."""
    h = hashlib.sha256()
    for text in extra:
        h.update(b"x\0" + text.encode() + b"\0")
    for path in paths:
        h.update(b"f\0" + str(path.relative_to(root)).encode() + b"\0")
        h.update(b"%o\0" % (path.stat().st_mode & 0o111))
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def packages() -> list[str]:
    lines = (RECIPE / "packages").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def requirements(checkout: Path) -> list[str]:
    """The project's own dependencies, and the suite's."""
    project = tomllib.loads((checkout / "pyproject.toml").read_text())["project"]
    suite = (RECIPE / "guest-requirements.txt").read_text().splitlines()
    return list(project["dependencies"]) + [r for r in suite if r and not r.startswith("#")]


@dataclass(frozen=True, slots=True)
class Recipe:
    """The hash of each layer, from what it is made of."""

    root: str
    image: str

    @classmethod
    def of(cls, checkout: Path = CHECKOUT) -> Recipe:
        recipe = _files(RECIPE, "packages", "configure-base")
        root = digest(recipe, RECIPE, SUITE, GUEST_PYTHON, *requirements(checkout))
        inputs = _files(
            checkout,
            "pyproject.toml",
            "README.md",
            "lostbeat",
            "contrib/systemd",
            "docs/agent.md",
            "scripts/vm/guest",
            "tests/vm/guest",
        )
        return cls(root, digest(inputs, checkout, root))


@dataclass(slots=True)
class Built:
    """The image, and how long each layer took (absent: it was in the cache)."""

    image: Path
    seconds: dict[str, float] = field(default_factory=dict)


def _run(argv: list[str], *, what: str, timeout: float, say: Say, **kw: object) -> None:
    started = time.monotonic()
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, check=False, **kw
        )  # type: ignore[call-overload]
    except subprocess.TimeoutExpired:
        raise BuildError(f"{what}: not done after {timeout:g} s ({argv[0]})") from None
    except OSError as err:
        raise BuildError(f"{what}: cannot run {argv[0]}: {err.strerror}") from err
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise BuildError(f"{what}: {argv[0]} exited with status {done.returncode}:\n{tail}")
    say(f"{what}: {time.monotonic() - started:.1f} s")


def _mirror() -> str:
    """The Debian mirror apt uses on this host ($LOSTBEAT_VM_MIRROR first)."""
    if "LOSTBEAT_VM_MIRROR" in os.environ:
        return os.environ["LOSTBEAT_VM_MIRROR"]
    for path in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]:
        with contextlib.suppress(OSError):
            for line in path.read_text().splitlines():
                words = line.split()
                if words[:1] == ["URIs:"] or words[:1] == ["deb"]:
                    uri = next((w for w in words[1:] if "://" in w), None)
                    if uri and "security" not in uri:
                        return uri
    return "http://deb.debian.org/debian"


@contextlib.contextmanager
def _chroot_mounts(root: Path) -> Iterator[None]:
    """/proc, /dev and /sys of the host in ``root`` while pip runs there."""
    mounted: list[Path] = []
    try:
        for name in ("proc", "dev", "sys"):
            target = root / name
            subprocess.run(["mount", "--bind", f"/{name}", str(target)], check=True,
                           capture_output=True, timeout=30)  # fmt: skip
            mounted.append(target)
        yield
    except subprocess.CalledProcessError as err:
        raise BuildError(f"cannot bind-mount /proc, /dev, /sys in {root}: {err.stderr}") from err
    finally:
        for target in reversed(mounted):
            subprocess.run(["umount", "-l", str(target)], check=False, capture_output=True)


def _chroot(root: Path, script: str, *, what: str, say: Say, timeout: float = 600) -> None:
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "LC_ALL": "C.UTF-8"}
    with _chroot_mounts(root):
        _run(["chroot", str(root), "/bin/sh", "-ec", script], what=what, timeout=timeout,
             say=say, env=env)  # fmt: skip


def _link_copy(source: Path, target: Path) -> None:
    """A copy of ``source`` sharing every file (hard links): only new files may be added."""
    _run(["cp", "-al", str(source), str(target)], what=f"link {target.name}", timeout=300,
         say=lambda _: None)  # fmt: skip


def _prune(cache: Path, prefix: str, keep: Path) -> None:
    """Keep the newest :data:`KEEP` layers of a kind (``keep`` among them)."""
    layers = sorted(cache.glob(prefix + "*"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in [p for p in layers if p != keep and not p.name.endswith(".tmp")][KEEP - 1 :]:
        if old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink(missing_ok=True)


def _wheels(into: Path, reqs: list[str], say: Say) -> None:
    """cp311 manylinux wheels of ``reqs`` for the guest, whatever the host's Python."""
    platforms = [arg for p in PLATFORMS for arg in ("--platform", p)]
    _run([sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check",
          "--only-binary=:all:", "--python-version", GUEST_PYTHON, "--implementation", "cp",
          *platforms, "-d", str(into), *reqs], what="pip download (wheels for the guest)",
         timeout=900, say=say)  # fmt: skip


def _root(cache: Path, recipe: Recipe, checkout: Path, say: Say) -> Path:
    done = cache / f"root-{recipe.root}"
    if done.is_dir():
        return done
    tmp = cache / f"root-{recipe.root}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    mirror = _mirror()
    say(f"debootstrap {SUITE} from {mirror} (a minute or two)")
    _run(["debootstrap", "--foreign", "--variant=minbase", f"--include={','.join(packages())}",
          SUITE, str(tmp), mirror], what="debootstrap (download, unpack)", timeout=1200,
         say=say)  # fmt: skip
    # dpkg without an fsync per file for the second stage: a half-built layer is thrown
    # away anyway (it is renamed into place only once done)
    unsafe = tmp / "etc" / "dpkg" / "dpkg.cfg.d" / "lostbeat-unsafe-io"
    unsafe.parent.mkdir(parents=True, exist_ok=True)
    unsafe.write_text("force-unsafe-io\n")
    _run(["chroot", str(tmp), "/debootstrap/debootstrap", "--second-stage"],
         what="debootstrap (install, configure)", timeout=1200, say=say)  # fmt: skip
    unsafe.unlink()
    _run([str(RECIPE / "configure-base"), str(tmp)], what="configure-base", timeout=60, say=say)
    wheels = tmp / "wheels"
    wheels.mkdir()
    reqs = requirements(checkout)
    _wheels(wheels, reqs, say)
    quoted = " ".join(f"'{r}'" for r in reqs)
    _chroot(tmp, f"python3 -m venv {VENV}; {VENV}/bin/pip install -q --no-cache-dir "
            f"--disable-pip-version-check --no-index --find-links /wheels {quoted}",
            what="venv and dependencies (chroot)", say=say)  # fmt: skip
    shutil.rmtree(wheels)
    tmp.rename(done)
    _prune(cache, "root-", done)
    return done


def _image(cache: Path, root: Path, recipe: Recipe, checkout: Path, say: Say) -> Path:
    done = cache / f"image-{recipe.image}.raw"
    stage = cache / f"stage-{recipe.image}.tmp"
    shutil.rmtree(stage, ignore_errors=True)
    _link_copy(root, stage)
    try:
        with tempfile.TemporaryDirectory(dir=cache) as tmp:
            _run([sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check",
                  "--no-deps", "-w", tmp, str(checkout)], what="pip wheel (the checkout)",
                 timeout=600, say=say)  # fmt: skip
            (wheel,) = Path(tmp).glob("lostbeat-*.whl")
            shutil.copy(wheel, stage / "tmp" / wheel.name)
        _chroot(stage, f"{VENV}/bin/pip install -q --no-cache-dir --disable-pip-version-check "
                f"--no-index --no-deps /tmp/{wheel.name}; rm /tmp/{wheel.name}",
                what="the project into the venv (chroot)", say=say)  # fmt: skip
        _add_suite(stage, checkout)
        raw = cache / f"image-{recipe.image}.raw.tmp"
        with open(raw, "wb") as f:
            f.truncate(IMAGE_BYTES)
        _run(["mkfs.ext4", "-q", "-F", "-L", "lostbeat-vm", "-d", str(stage), str(raw)],
             what="mkfs.ext4 -d", timeout=600, say=say)  # fmt: skip
        raw.rename(done)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    _prune(cache, "image-", done)
    return done


def _add_suite(stage: Path, checkout: Path) -> None:
    """The suite, its runner and its unit (new files only: the layers below are linked)."""
    guest = HERE / "guest"
    suite = stage / SUITE_DIR.lstrip("/")
    suite.mkdir(parents=True)
    shutil.copy(guest / "pytest.ini", suite / "pytest.ini")
    shutil.copytree(checkout / "tests" / "vm" / "guest", suite / "tests",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    runner = stage / "usr" / "local" / "sbin" / "lostbeat-vm-suite"
    shutil.copy(guest / "lostbeat-vm-suite", runner)
    runner.chmod(0o755)
    units = stage / "etc" / "systemd" / "system"
    shutil.copy(guest / "lostbeat-vm-suite.service", units / "lostbeat-vm-suite.service")
    wants = units / "multi-user.target.wants"
    wants.mkdir(exist_ok=True)
    (wants / "lostbeat-vm-suite.service").symlink_to("../lostbeat-vm-suite.service")


@contextlib.contextmanager
def _locked(cache: Path) -> Iterator[None]:
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def build(*, checkout: Path = CHECKOUT, cache: Path | None = None, say: Say = print) -> Built:
    """The image for this checkout, built if the cache does not have it.

    Raises:
        BuildError: not root, a tool missing, or a step failed.
    """
    if os.geteuid() != 0:
        raise BuildError("building the VM image needs root (debootstrap, chroot, mount)")
    for tool in ("debootstrap", "mkfs.ext4", "chroot"):
        if shutil.which(tool) is None:
            raise BuildError(f"{tool} is not installed: run scripts/setup-system --vm")
    cache = cache or cache_root()
    cache.mkdir(parents=True, exist_ok=True)
    recipe = Recipe.of(checkout)
    built = Built(cache / f"image-{recipe.image}.raw")
    root = cache / f"root-{recipe.root}"
    steps: list[tuple[str, Path, Callable[[], Path]]] = [
        ("root", root, lambda: _root(cache, recipe, checkout, say)),
        ("image", built.image, lambda: _image(cache, root, recipe, checkout, say)),
    ]
    with _locked(cache):
        if built.image.is_file():
            built.image.touch()  # the most recently used: kept by _prune
            return built
        for name, path, step in steps:
            fresh, started = not path.exists(), time.monotonic()
            step()
            if fresh:
                built.seconds[name] = round(time.monotonic() - started, 1)
    return built
