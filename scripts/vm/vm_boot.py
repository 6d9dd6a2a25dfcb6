"""Booting the VM image under qemu, bounded by a wall clock, and reading what it left.

The kernel and initrd are the host's Debian ``linux-image-amd64`` (``/boot``): the image
holds no kernel. The guest gets the image (never written to: ``snapshot=on``), a results
disk the suite writes a tar file onto, and for ``--script`` a third disk with the script.
Its serial console is qemu's standard output, read line by line as it comes.

KVM is used only when a probe shows it working: on the machines this was written on
``/dev/kvm`` answers but a KVM guest hangs before the kernel prints anything
(linux-mechanisms.md, VERIFIED), so the probe boots the kernel alone for a few seconds and
looks for its first line. The answer is kept per host kernel, qemu and guest kernel.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

RESULTS_BYTES = 256 << 20
MEMORY_MB = 1536
CPUS = 2
PROBE_SECONDS = 8.0
CMDLINE = "root=/dev/vda rw console=ttyS0 quiet loglevel=2 panic=1 log_buf_len=8M"
"""``loglevel=2``: only the kernel's critical lines on the serial console, not its OOM reports
between the suite's lines; ``log_buf_len``: room for those reports in its buffer, which the
guest's journald leaves alone (scripts/vm/recipe/configure-base)."""
TCG_CPU = "max,avx=off,avx2=off,fma=off,f16c=off"
"""qemu 7.2's TCG emulates AVX2 (new in that release), and numpy's argsort segfaulted under it
in the guest (x86-simd-sort's AVX2 path, from scipy.stats.kendalltau); without the AVX family
numpy takes its SSE4 paths. $LOSTBEAT_VM_CPU overrides it."""
_ANSI = re.compile(r"\x1b(\[[0-9;?]*[A-Za-z]|[@-Z\\-_])")


class BootError(Exception):
    """qemu could not run, or the guest gave no results; the message says why."""


@dataclass(frozen=True, slots=True)
class Kernel:
    vmlinuz: Path
    initrd: Path

    @property
    def release(self) -> str:
        return self.vmlinuz.name.removeprefix("vmlinuz-")


def _version_key(release: str) -> list[tuple[int, str]]:
    return [(int(p), "") if p.isdigit() else (-1, p) for p in re.split(r"[.-]", release)]


def find_kernel(boot: Path = Path("/boot")) -> Kernel:
    """The newest kernel of ``boot`` that has an initrd."""
    found = [
        Kernel(k, boot / f"initrd.img-{k.name.removeprefix('vmlinuz-')}")
        for k in boot.glob("vmlinuz-*")
    ]
    found = [k for k in found if k.initrd.is_file()]
    if not found:
        raise BootError(
            f"{boot}: no vmlinuz-* with its initrd.img-*: run scripts/setup-system --vm "
            "(Debian package linux-image-amd64)"
        )
    return max(found, key=lambda k: _version_key(k.release))


_INITRAMFS_CONF = """\
MODULES=list
BUSYBOX=auto
COMPRESS=lz4
FSTYPE=ext4
"""
_INITRAMFS_MODULES = "virtio_pci\nvirtio_blk\next4\n"


def small_initrd(kernel: Kernel, cache: Path) -> Kernel:
    """The kernel with an initrd of only what mounts the image (virtio, ext4), lz4: 8 MB
    instead of Debian's 30 MB of most modules, which TCG takes seconds to load and unpack.
    Kept in ``cache``; Debian's own when mkinitramfs is missing."""
    key = hashlib.sha256((_INITRAMFS_CONF + _INITRAMFS_MODULES).encode()).hexdigest()[:12]
    small = cache / f"initrd-{kernel.release}-{key}.img"
    if small.is_file():
        return Kernel(kernel.vmlinuz, small)
    if shutil.which("mkinitramfs") is None or shutil.which("lz4") is None:
        return kernel
    with tempfile.TemporaryDirectory(dir=cache) as conf:
        Path(conf, "initramfs.conf").write_text(_INITRAMFS_CONF)
        Path(conf, "modules").write_text(_INITRAMFS_MODULES)
        for sub in ("scripts", "conf.d", "hooks"):
            Path(conf, sub).mkdir()
        tmp = small.with_suffix(".tmp")
        done = subprocess.run(["mkinitramfs", "-d", conf, "-o", str(tmp), kernel.release],
                              capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
        if done.returncode != 0:
            tmp.unlink(missing_ok=True)
            return kernel
        tmp.rename(small)
    return Kernel(kernel.vmlinuz, small)


def _qemu() -> str:
    qemu = shutil.which("qemu-system-x86_64")
    if qemu is None:
        raise BootError("qemu-system-x86_64 is not installed: run scripts/setup-system --vm")
    return qemu


def kvm_works(kernel: Kernel, cache: Path) -> bool:
    """Whether a KVM guest gets as far as the kernel's first line (answer kept in ``cache``)."""
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False
    qemu = _qemu()
    said = subprocess.run([qemu, "--version"], capture_output=True, text=True, check=False)
    version = (said.stdout.split() + ["", "", "", "unknown"])[3]
    key = re.sub(r"[^A-Za-z0-9.]+", "_", f"{os.uname().release}-qemu{version}")
    answer = cache / f"kvm-probe-{key}-{kernel.release}"
    if answer.is_file():
        return answer.read_text().strip() == "works"
    argv = [qemu, "-accel", "kvm", "-cpu", "host", "-m", "256", "-display", "none",
            "-monitor", "none", "-serial", "stdio", "-no-reboot", "-kernel", str(kernel.vmlinuz),
            "-append", "console=ttyS0 panic=-1"]  # fmt: skip
    try:
        done = subprocess.run(argv, capture_output=True, timeout=PROBE_SECONDS, check=False)
        works = b"Linux version" in done.stdout
    except subprocess.TimeoutExpired as err:
        works = b"Linux version" in (err.stdout or b"")
    answer.write_text("works\n" if works else "hangs or fails\n")
    return works


def accelerator(kernel: Kernel, cache: Path) -> str:
    """``$LOSTBEAT_VM_ACCEL`` (``tcg`` or ``kvm``), else KVM when it is seen to work, else TCG."""
    forced = os.environ.get("LOSTBEAT_VM_ACCEL", "auto")
    if forced in ("tcg", "kvm"):
        return forced
    return "kvm" if kvm_works(kernel, cache) else "tcg"


@dataclass(slots=True)
class Boot:
    """One boot: what the guest said, what it left, and how long each part took."""

    accel: str
    serial: list[tuple[float, str]] = field(default_factory=list)
    """(seconds since qemu started, line) of the serial console."""
    results: Path | None = None
    """The folder the guest's tar file was unpacked into; None if it wrote none."""
    seconds: float = 0.0
    timed_out: bool = False
    exit_status: int | None = None

    def said(self, text: str) -> float | None:
        """When the guest first wrote a line holding ``text``."""
        return next((t for t, line in self.serial if text in line), None)

    def tail(self, lines: int = 40) -> str:
        return "\n".join(line for _, line in self.serial[-lines:])


def boot(
    image: Path,
    *,
    kernel: Kernel,
    accel: str,
    timeout: float,
    results: Path,
    script: Path | None = None,
    on_line: Callable[[float, str], None] = lambda t, line: None,
) -> Boot:
    """Boot ``image`` until the guest powers off or ``timeout`` seconds pass (then qemu is
    killed); unpack the guest's results into ``results``."""
    run = Boot(accel)
    with tempfile.TemporaryDirectory(prefix="lostbeat-vm-") as tmp:
        disk = Path(tmp) / "results.raw"
        with open(disk, "wb") as f:
            f.truncate(RESULTS_BYTES)
        # the image's writes go to a throw-away overlay: no flush of it need reach the disk
        drives = [f"file={image},format=raw,if=virtio,snapshot=on,cache=unsafe",
                  f"file={disk},format=raw,if=virtio"]  # fmt: skip
        if script is not None:
            drives.append(
                f"file={_script_disk(script, Path(tmp))},format=raw,if=virtio,readonly=on"
            )
        tcg = os.environ.get("LOSTBEAT_VM_CPU", TCG_CPU)
        cpu = ["-accel", "kvm", "-cpu", "host"] if accel == "kvm" else \
            ["-accel", "tcg,thread=multi", "-cpu", tcg]  # fmt: skip
        qboot = Path("/usr/share/qemu/qboot.rom")  # a BIOS that only boots a kernel: faster
        bios = ["-bios", str(qboot)] if qboot.is_file() else []
        argv = [_qemu(), *cpu, *bios, "-m", str(MEMORY_MB), "-smp", str(CPUS), "-display", "none",
                "-monitor", "none", "-serial", "stdio", "-no-reboot", "-nodefaults",
                "-kernel", str(kernel.vmlinuz), "-initrd", str(kernel.initrd),
                "-append", CMDLINE]  # fmt: skip
        for drive in drives:
            argv += ["-drive", drive]
        started = time.monotonic()
        env = {**os.environ, "TMPDIR": tmp}  # the snapshot's overlay goes there
        with subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, env=env) as qemu:  # fmt: skip
            reader = threading.Thread(target=_read, args=(qemu, run, started, on_line))
            reader.start()
            try:
                run.exit_status = qemu.wait(timeout)
            except subprocess.TimeoutExpired:
                run.timed_out = True
                qemu.kill()
                qemu.wait()
            reader.join()
        run.seconds = round(time.monotonic() - started, 1)
        run.results = _unpack(disk, results)
    return run


def _read(qemu: subprocess.Popen[bytes], run: Boot, started: float,
          on_line: Callable[[float, str], None]) -> None:  # fmt: skip
    assert qemu.stdout is not None
    for raw in qemu.stdout:
        line = _ANSI.sub("", raw.decode("utf-8", "replace")).replace("\r", "").rstrip("\n")
        if line.strip():
            at = round(time.monotonic() - started, 1)
            run.serial.append((at, line))
            on_line(at, line)


def _script_disk(script: Path, tmp: Path) -> Path:
    disk = tmp / "script.tar"

    def executable(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.mode = 0o755
        return info

    with tarfile.open(disk, "w") as tar:
        tar.add(script, arcname="run.sh", filter=executable)
    return disk


def _unpack(disk: Path, into: Path) -> Path | None:
    """The guest's tar file, unpacked; None when the disk holds none."""
    with open(disk, "rb") as f:
        if not f.read(512).strip(b"\0"):
            return None
    into.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(disk, "r:") as tar:
            tar.extractall(into, filter="data")
    except tarfile.TarError as err:
        raise BootError(f"{disk}: the guest's results are not a readable tar file: {err}") from err
    return into
